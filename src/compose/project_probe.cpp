#include "compose/project_probe.hpp"

#include <map>

#include "common/duration_text.hpp"


namespace upgrader {

namespace {

class ProjectProbe final : public Probe {
 public:
  ProjectProbe(ComposeTool& tool, ContainerEngine& engine,
               ComposeInvocation inPlace, Duration settle, Clock& clock)
      : tool_(tool),
        engine_(engine),
        inPlace_(std::move(inPlace)),
        settle_(settle),
        clock_(clock) {}

  std::string name() const override {
    return "project '" + inPlace_.project + "'";
  }

  Status check(Duration) override {
    // Rendered once per wait: the release in place does not change while
    // it is checked.
    if (!model_) {
      auto model = tool_.render(inPlace_);
      if (!model) return model.error().withContext(name());
      model_ = std::move(*model);
    }
    auto containers = engine_.projectContainers(inPlace_.project);
    if (!containers) return containers.error().withContext(name());
    const SteadyTime now = clock_.now();
    std::map<std::string, Watch> seen;
    Status result = okStatus();
    auto failWith = [&](const std::string& service, const std::string& why) {
      if (result) result = Error(name() + ": service '" + service + "': " + why);
    };
    for (const auto& service : model_->services) {
      bool any = false;
      for (const auto& c : *containers) {
        if (c.oneoff || c.service != service.name) continue;
        any = true;
        const std::string which = "container " + c.id.substr(0, 12);
        auto before = watched_.find(c.id);
        bool steady = before != watched_.end() && c.running &&
                      before->second.restarts == c.restartCount;
        Watch& watch = seen[c.id];
        watch.restarts = c.restartCount;
        watch.since = steady ? before->second.since : now;
        if (!c.running) {
          failWith(service.name, which + " is " + c.state);
        } else if (before == watched_.end()) {
          failWith(service.name, which + " is new; watching it for restarts");
        } else if (!steady) {
          failWith(service.name, which + " restarted (" +
                                     std::to_string(c.restartCount) +
                                     " restarts)");
        } else if (now - watch.since < settle_) {
          failWith(service.name,
                   which + " up without a restart for " +
                       durationText(std::chrono::duration_cast<
                                    std::chrono::microseconds>(now -
                                                               watch.since)) +
                       " of the " +
                       durationText(std::chrono::duration_cast<
                                    std::chrono::microseconds>(settle_)) +
                       " of SettleSec=");
        }
      }
      if (!any) failWith(service.name, "has no container");
    }
    watched_ = std::move(seen);
    return result;
  }

 private:
  struct Watch {
    unsigned restarts = 0;
    SteadyTime since{};  ///< running with this restart count since
  };

  ComposeTool& tool_;
  ContainerEngine& engine_;
  ComposeInvocation inPlace_;
  Duration settle_;
  Clock& clock_;
  std::optional<ComposeModel> model_;
  std::map<std::string, Watch> watched_;  // by container ID
};

}  // namespace

std::unique_ptr<Probe> makeProjectProbe(ComposeTool& tool,
                                        ContainerEngine& engine,
                                        ComposeInvocation inPlace,
                                        Duration settle, Clock& clock) {
  return std::make_unique<ProjectProbe>(tool, engine, std::move(inPlace),
                                        settle, clock);
}

std::vector<ExtraProbe> projectProbesFor(const Plan& plan, ComposeTool& tool,
                                         ContainerEngine& engine,
                                         Clock& clock) {
  if (plan.install.mode != InstallConfig::Mode::kCompose) return {};
  ComposeInvocation inPlace = composeInvocation(plan, plan.install.path);
  Duration settle = plan.health.settle;
  return {[&tool, &engine, inPlace, settle, &clock] {
    return makeProjectProbe(tool, engine, inPlace, settle, clock);
  }};
}

}  // namespace upgrader
