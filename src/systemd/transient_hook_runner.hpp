// HookRunner over systemd: each hook runs as a transient service of its own
// (StartTransientUnit), outside the upgrader's sandbox, named so an operator
// sees what it is: upgrader-hook-INSTANCE-KIND-RUN-N.service. Its output goes
// to the journal under that name; a failed hook's error ends with its last
// lines, read back from the journal for that invocation.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/types.hpp"
#include "exec/hook_runner.hpp"
#include "systemd/journal_reader.hpp"
#include "systemd/service_manager.hpp"

namespace upgrader {

/// The unit of the `n`th hook of kind `kind` ("Migrate") in run `runId` of
/// `instance`: "upgrader-hook-demo-migrate-812-1.service". The run id (the
/// upgrader's pid) and the counter make it unique among loaded units.
UnitName hookUnitName(const InstanceName& instance, const std::string& kind,
                      long runId, int n);

/// Whether `unit` is the name of a hook unit of `instance` (and not of
/// another instance whose name starts the same: "demo" vs "demo-x").
bool isHookUnitOf(const InstanceName& instance, const std::string& unit);

/// The unit this process runs in (upgrade@NAME.service, or a login
/// session's scope when run by hand), if systemd tracks it.
std::optional<UnitName> ownUnit();

/// `units` and `journal` must outlive the runner. Hooks are bound to
/// `caller` (BindsTo=) if it is given and active or starting when the first
/// hook runs: stopping upgrade@NAME.service, or the end of the login
/// session of an upgrader run by hand, stops a hook that is still running.
std::unique_ptr<HookRunner> makeTransientHookRunner(
    ServiceManager& units, JournalReader& journal, InstanceName instance,
    long runId, std::optional<UnitName> caller);

}  // namespace upgrader
