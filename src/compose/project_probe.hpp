// The health of a whole compose project: every service the configuration
// in place names has a container, each running and not restarting. A
// container that exits, or that an engine's restart policy keeps bringing
// back, fails the check; a unit cannot see either, as `docker-compose up`
// runs on. Read from the engine's API (labels, restart counts): a compose
// call per poll would cost half a second of CPU.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "common/clock.hpp"
#include "compose/compose_tool.hpp"
#include "config/plan.hpp"
#include "container/engine_client.hpp"
#include "health/health_checker.hpp"
#include "health/probe.hpp"

namespace upgrader {

/// The probe of the project `inPlace` renders, through `tool` and
/// `engine` (which must outlive it, as `clock`). It passes once every
/// container of every service has been seen running at least twice, with
/// its restart count unchanged for `settle` ([Health] SettleSec=): a
/// container that crashes and is restarted by its restart policy starts
/// that count again, so a crash loop never passes.
std::unique_ptr<Probe> makeProjectProbe(ComposeTool& tool,
                                        ContainerEngine& engine,
                                        ComposeInvocation inPlace,
                                        Duration settle, Clock& clock);

/// For Mode=compose, the factory (a fresh probe for each wait, whose
/// restart counts start anew) of the project's probe through `tool` and
/// `engine` (which must outlive it, as `clock`); none for other modes.
std::vector<ExtraProbe> projectProbesFor(const Plan& plan, ComposeTool& tool,
                                         ContainerEngine& engine,
                                         Clock& clock);

}  // namespace upgrader
