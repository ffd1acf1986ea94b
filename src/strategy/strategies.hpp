// The strategies behind makeStrategy(). Internal to src/strategy/.
#pragma once

#include <memory>

#include "strategy/strategy.hpp"

namespace upgrader {

std::unique_ptr<Strategy> makeBinaryStrategy(const Plan& plan,
                                             Fetcher& fetcher);
std::unique_ptr<Strategy> makeSymlinkStrategy(const Plan& plan,
                                              Fetcher& fetcher);
/// The image strategy on the real registry, engine and files of `deps`.
std::unique_ptr<Strategy> makeContainerStrategy(const Plan& plan,
                                                StrategyDeps deps);
/// The compose strategy on the real tool, registry, engine and files.
std::unique_ptr<Strategy> makeComposeStrategyOn(const Plan& plan,
                                                StrategyDeps deps);

}  // namespace upgrader
