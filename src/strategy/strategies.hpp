// The strategies behind makeStrategy(). Internal to src/strategy/.
#pragma once

#include <memory>

#include "strategy/strategy.hpp"

namespace upgrader {

std::unique_ptr<Strategy> makeBinaryStrategy(const Plan& plan,
                                             Fetcher& fetcher);
std::unique_ptr<Strategy> makeSymlinkStrategy(const Plan& plan,
                                              Fetcher& fetcher);
/// The image strategy on the engine's clients and files of `deps`
/// (deps.engine set).
std::unique_ptr<Strategy> makeContainerStrategy(const Plan& plan,
                                                const StrategyDeps& deps);
/// The compose strategy on the engine's clients (compose tool, registry,
/// engine) and files of `deps` (deps.engine set).
std::unique_ptr<Strategy> makeComposeStrategyOn(const Plan& plan,
                                                const StrategyDeps& deps);

}  // namespace upgrader
