#include "compose/project_probe.hpp"

#include <map>

#include "fetch/http_client.hpp"

namespace upgrader {

namespace {

class ProjectProbe final : public Probe {
 public:
  ProjectProbe(ComposeTool& tool, ContainerEngine& engine,
               ComposeInvocation inPlace)
      : tool_(tool), engine_(engine), inPlace_(std::move(inPlace)) {}

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
    std::map<std::string, unsigned> seen;
    Status result = okStatus();
    for (const auto& service : model_->services) {
      bool any = false;
      for (const auto& c : *containers) {
        if (c.oneoff || c.service != service.name) continue;
        any = true;
        seen[c.id] = c.restartCount;
        std::string short_id = c.id.substr(0, 12);
        if (!result) continue;
        if (!c.running) {
          result = Error(name() + ": service '" + service.name +
                         "': container " + short_id + " is " + c.state);
          continue;
        }
        auto before = last_.find(c.id);
        if (before == last_.end()) {
          result = Error(name() + ": service '" + service.name +
                         "': container " + short_id +
                         " is new; watching it for restarts");
        } else if (before->second != c.restartCount) {
          result = Error(name() + ": service '" + service.name +
                         "': container " + short_id + " restarted (" +
                         std::to_string(c.restartCount) + " restarts)");
        }
      }
      if (!any && result) {
        result = Error(name() + ": service '" + service.name +
                       "' has no container");
      }
    }
    last_ = std::move(seen);
    return result;
  }

 private:
  ComposeTool& tool_;
  ContainerEngine& engine_;
  ComposeInvocation inPlace_;
  std::optional<ComposeModel> model_;
  std::map<std::string, unsigned> last_;  // container -> restart count
};

struct ProbeClients {
  std::unique_ptr<HttpClient> http;
  std::unique_ptr<ContainerEngine> engine;
  std::unique_ptr<ComposeTool> tool;
};

}  // namespace

std::unique_ptr<Probe> makeProjectProbe(ComposeTool& tool,
                                        ContainerEngine& engine,
                                        ComposeInvocation inPlace) {
  return std::make_unique<ProjectProbe>(tool, engine, std::move(inPlace));
}

std::vector<ExtraProbe> projectProbesFor(const Plan& plan,
                                           CommandRunner& runner,
                                           ServiceManager& units) {
  if (plan.install.mode != InstallConfig::Mode::kCompose) return {};
  auto clients = std::make_shared<ProbeClients>();
  clients->http = makeCurlHttpClient();
  EngineEndpoint endpoint = engineEndpointFor(plan.container);
  clients->engine = makeEngineClient(*clients->http, units, endpoint);
  clients->tool = makeComposeTool(runner, plan.compose.command,
                                  "unix://" + endpoint.socket);
  ComposeInvocation inPlace = composeInvocation(plan, plan.install.path);
  return {[clients, inPlace] {
    return makeProjectProbe(*clients->tool, *clients->engine, inPlace);
  }};
}

}  // namespace upgrader
