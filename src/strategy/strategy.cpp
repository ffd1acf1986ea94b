#include "strategy/strategy.hpp"

#include "strategy/strategies.hpp"

namespace upgrader {

std::unique_ptr<Strategy> makeStrategy(const Plan& plan, StrategyDeps deps) {
  switch (plan.install.mode) {
    case InstallConfig::Mode::kSymlink:
      return makeSymlinkStrategy(plan, deps.fetcher);
    case InstallConfig::Mode::kContainer:
      return makeContainerStrategy(plan, std::move(deps));
    case InstallConfig::Mode::kCompose:
      return makeComposeStrategyOn(plan, std::move(deps));
    case InstallConfig::Mode::kBinary:
      break;
  }
  return makeBinaryStrategy(plan, deps.fetcher);
}

std::string replacePlaceholder(std::string command,
                               std::string_view placeholder,
                               const std::string& value) {
  for (std::size_t at = command.find(placeholder); at != std::string::npos;
       at = command.find(placeholder, at + value.size())) {
    command.replace(at, placeholder.size(), value);
  }
  return command;
}

}  // namespace upgrader
