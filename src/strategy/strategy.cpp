#include "strategy/strategy.hpp"

#include "config/modes.hpp"
#include "strategy/strategies.hpp"

namespace upgrader {

Result<std::unique_ptr<Strategy>> makeStrategy(const Plan& plan,
                                               StrategyDeps deps) {
  switch (plan.install.mode) {
    case InstallConfig::Mode::kSymlink:
      return makeSymlinkStrategy(plan, deps.fetcher);
    case InstallConfig::Mode::kContainer:
    case InstallConfig::Mode::kCompose:
      if (deps.engine == nullptr) {
        return Error(plan.configFile + ": Mode=" +
                     std::string(modeInfo(plan.install.mode).name) +
                     " needs a container engine's clients, and none were "
                     "given");
      }
      if (plan.install.mode == InstallConfig::Mode::kContainer) {
        return makeContainerStrategy(plan, deps);
      }
      return makeComposeStrategyOn(plan, deps);
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
