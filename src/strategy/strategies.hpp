// The strategies behind makeStrategy(). Internal to src/strategy/.
#pragma once

#include <memory>

#include "strategy/strategy.hpp"

namespace upgrader {

std::unique_ptr<Strategy> makeBinaryStrategy(const Plan& plan,
                                             Fetcher& fetcher);
std::unique_ptr<Strategy> makeSymlinkStrategy(const Plan& plan,
                                              Fetcher& fetcher);

}  // namespace upgrader
