#include "systemd/dbus_service_manager.hpp"

#include <poll.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <limits>
#include <vector>

#include "common/clock.hpp"
#include "systemd/sdbus_compat.hpp"

namespace upgrader {

namespace {

constexpr const char* kDestination = "org.freedesktop.systemd1";
constexpr const char* kManagerPath = "/org/freedesktop/systemd1";
constexpr const char* kManagerInterface = "org.freedesktop.systemd1.Manager";
constexpr const char* kUnitInterface = "org.freedesktop.systemd1.Unit";
constexpr const char* kServiceInterface = "org.freedesktop.systemd1.Service";
constexpr const char* kJobInterface = "org.freedesktop.systemd1.Job";
constexpr const char* kPropertiesInterface = "org.freedesktop.DBus.Properties";

// Turns a D-Bus error into a message that names the unit, with the one
// error operators meet most often spelled plainly.
Error describe(const sdbus::Error& e, const UnitName& unit) {
  const std::string& name = e.getName();
  if (name == "org.freedesktop.systemd1.NoSuchUnit" ||
      name == "org.freedesktop.systemd1.LoadFailed") {
    return Error("unit '" + unit.str() + "' not found");
  }
  return Error("systemd refused the request for unit '" + unit.str() +
               "': " + e.getMessage() + " (" + name + ")");
}

template <typename T>
T variantOr(const std::map<std::string, sdbus::Variant>& props,
            const char* key, T fallback) {
  auto it = props.find(key);
  if (it == props.end()) return fallback;
  try {
    return it->second.get<T>();
  } catch (const sdbus::Error&) {
    return fallback;
  }
}

std::string jobFailureDetails(const UnitStatus& s) {
  std::string out = "unit is " + s.activeState + "/" + s.subState;
  if (!s.result.empty() && s.result != "success") {
    out += ", unit result '" + s.result + "'";
  }
  if (s.execMainStatus != 0) {
    out += ", main process exited with status " +
           std::to_string(s.execMainStatus);
  }
  return out;
}

}  // namespace

DbusServiceManager::DbusServiceManager(
    std::unique_ptr<sdbus::IConnection> connection)
    : connection_(std::move(connection)) {}

DbusServiceManager::~DbusServiceManager() {
  // Proxies must go before the connection they use.
  units_.clear();
  manager_.reset();
}

Status DbusServiceManager::init() {
  try {
    manager_ = sdbus_compat::createProxy(*connection_, kDestination, kManagerPath);
    // The JobRemoved match is in place before any job is queued: a job that
    // finishes quickly cannot slip past us (the race systemctl also avoids).
    manager_->uponSignal("JobRemoved")
        .onInterface(kManagerInterface)
        .call([this](std::uint32_t, const sdbus::ObjectPath& job,
                     const std::string&, const std::string& result) {
          removedJobs_[job] = result;
        });
    sdbus_compat::finishRegistration(*manager_);
    // Without a subscriber systemd sends no unit PropertiesChanged signals.
    manager_->callMethod("Subscribe").onInterface(kManagerInterface);
  } catch (const sdbus::Error& e) {
    return Error("cannot talk to systemd on the system bus: " +
                 e.getMessage() + " (" + e.getName() + ")");
  }
  return okStatus();
}

bool DbusServiceManager::pumpUntil(const std::function<bool()>& done,
                                   SteadyClock::time_point deadline) {
  for (;;) {
    while (sdbus_compat::processPending(*connection_)) {
    }
    if (done()) return true;
    auto now = SteadyClock::now();
    if (now >= deadline) return false;
    auto data = connection_->getEventLoopPollData();
    auto wait = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
    if (auto busAt = sdbus_compat::absoluteTimeout(data)) {
      // sd-bus wants to be called again at this CLOCK_MONOTONIC instant
      // (steady_clock is CLOCK_MONOTONIC on Linux).
      auto busWait = std::chrono::ceil<std::chrono::milliseconds>(
          *busAt - now.time_since_epoch());
      wait = std::max(std::chrono::milliseconds(0), std::min(wait, busWait));
    }
    // poll() takes int milliseconds: a long wait is done in parts.
    wait = std::min<std::chrono::milliseconds>(wait, std::chrono::hours(1));
    pollfd pfds[2] = {{data.fd, data.events, 0},
                      {sdbus_compat::eventFd(data), POLLIN, 0}};
    int rc = ::poll(pfds, pfds[1].fd >= 0 ? 2 : 1, static_cast<int>(wait.count()));
    if (rc < 0 && errno != EINTR) return done();
  }
}

Status DbusServiceManager::runJob(const char* method, const char* verb,
                                  const UnitName& unit, Duration timeout) {
  sdbus::ObjectPath job;
  try {
    manager_->callMethod(method)
        .onInterface(kManagerInterface)
        .withArguments(unit.str(), std::string("replace"))
        .storeResultsTo(job);
  } catch (const sdbus::Error& e) {
    return describe(e, unit);
  }

  auto deadline = saturatingAdd(SteadyClock::now(), timeout);
  bool finished = false;
  try {
    finished = pumpUntil([&] { return removedJobs_.count(job) > 0; }, deadline);
  } catch (const sdbus::Error& e) {
    return describe(e, unit);
  }
  if (!finished) {
    // Leave no job queued behind us: the caller decides what happens next.
    try {
      auto jobProxy = sdbus_compat::createProxy(*connection_, kDestination, job);
      jobProxy->callMethod("Cancel").onInterface(kJobInterface);
    } catch (const sdbus::Error&) {
      // The job may have finished in the meantime; nothing to cancel.
    }
    return Error(std::string(verb) + " job for unit '" + unit.str() +
                 "' did not finish within " +
                 std::to_string(timeout.count() / 1000) + " ms; cancelled");
  }
  std::string result = removedJobs_[job];
  removedJobs_.erase(job);
  if (result == "done") return okStatus();

  std::string details;
  if (auto status = unitStatus(unit)) details = " (" + jobFailureDetails(*status) + ")";
  return Error(std::string(verb) + " job for unit '" + unit.str() +
               "' finished with result '" + result + "'" + details);
}

Status DbusServiceManager::startUnit(const UnitName& unit, Duration timeout) {
  return runJob("StartUnit", "start", unit, timeout);
}

Status DbusServiceManager::stopUnit(const UnitName& unit, Duration timeout) {
  return runJob("StopUnit", "stop", unit, timeout);
}

Status DbusServiceManager::restartUnit(const UnitName& unit,
                                       Duration timeout) {
  return runJob("RestartUnit", "restart", unit, timeout);
}

Result<sdbus::IProxy*> DbusServiceManager::unitProxy(const UnitName& unit) {
  auto it = units_.find(unit.str());
  if (it != units_.end()) return it->second.proxy.get();
  try {
    sdbus::ObjectPath path;
    // LoadUnit, unlike GetUnit, also answers for units that are inactive and
    // so not loaded at the moment.
    manager_->callMethod("LoadUnit")
        .onInterface(kManagerInterface)
        .withArguments(unit.str())
        .storeResultsTo(path);
    WatchedUnit watched;
    watched.proxy = sdbus_compat::createProxy(*connection_, kDestination, path);
    auto& slot = units_[unit.str()];
    slot = std::move(watched);
    slot.proxy->uponSignal("PropertiesChanged")
        .onInterface(kPropertiesInterface)
        .call([&slot](const std::string&,
                      const std::map<std::string, sdbus::Variant>&,
                      const std::vector<std::string>&) { ++slot.changes; });
    sdbus_compat::finishRegistration(*slot.proxy);
    return slot.proxy.get();
  } catch (const sdbus::Error& e) {
    units_.erase(unit.str());
    return describe(e, unit);
  }
}

Result<UnitStatus> DbusServiceManager::unitStatus(const UnitName& unit) {
  auto proxy = unitProxy(unit);
  if (!proxy) return proxy.error();
  UnitStatus s;
  try {
    std::map<std::string, sdbus::Variant> props;
    (*proxy)->callMethod("GetAll")
        .onInterface(kPropertiesInterface)
        .withArguments(std::string(kUnitInterface))
        .storeResultsTo(props);
    s.loadState = variantOr<std::string>(props, "LoadState", "");
    s.activeState = variantOr<std::string>(props, "ActiveState", "");
    s.subState = variantOr<std::string>(props, "SubState", "");
    s.activeEnterTimestampUs =
        variantOr<std::uint64_t>(props, "ActiveEnterTimestamp", 0);
  } catch (const sdbus::Error& e) {
    return describe(e, unit);
  }
  if (s.loadState == "not-found") {
    return Error("unit '" + unit.str() + "' not found");
  }
  try {
    std::map<std::string, sdbus::Variant> props;
    (*proxy)->callMethod("GetAll")
        .onInterface(kPropertiesInterface)
        .withArguments(std::string(kServiceInterface))
        .storeResultsTo(props);
    s.result = variantOr<std::string>(props, "Result", "");
    s.nRestarts = variantOr<std::uint32_t>(props, "NRestarts", 0);
    s.mainPid = variantOr<std::uint32_t>(props, "MainPID", 0);
    s.execMainStatus = variantOr<std::int32_t>(props, "ExecMainStatus", 0);
  } catch (const sdbus::Error&) {
    // Not a service (a socket or target): it has no service properties.
  }
  return s;
}

Result<UnitStatus> DbusServiceManager::waitForChange(const UnitName& unit,
                                                     Duration timeout) {
  auto proxy = unitProxy(unit);
  if (!proxy) return proxy.error();
  auto& watched = units_[unit.str()];
  std::uint64_t before = watched.changes;
  try {
    pumpUntil([&] { return watched.changes != before; },
              saturatingAdd(SteadyClock::now(), timeout));
  } catch (const sdbus::Error& e) {
    return describe(e, unit);
  }
  return unitStatus(unit);
}

namespace {

using Property = sdbus::Struct<std::string, sdbus::Variant>;

// systemd's "infinity" for a time span. A timeout of a century or more is
// one (and adding it to a clock would overflow).
constexpr std::uint64_t kUsecInfinity = std::numeric_limits<std::uint64_t>::max();

std::uint64_t usecOf(Duration d) {
  if (d.count() <= 0) return 0;
  if (d >= std::chrono::hours(24 * 365 * 100)) return kUsecInfinity;
  return static_cast<std::uint64_t>(d.count());
}

std::string hexOf(const std::vector<std::uint8_t>& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (std::uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0xf];
  }
  return out;
}

// The properties of a Type=oneshot transient service that runs `s`.
std::vector<Property> transientProperties(const TransientService& s) {
  std::vector<Property> props;
  props.emplace_back("Description", sdbus::Variant(s.description));
  // oneshot: the start job ends when the command does, with its result, and
  // TimeoutStartUSec= bounds it (RuntimeMaxUSec= does not apply to oneshot
  // services).
  props.emplace_back("Type", sdbus::Variant(std::string("oneshot")));
  // ExecStartEx with "no-env-expand" (the ':' prefix of unit files): the
  // plain ExecStart of a transient unit has systemd replace ${VAR} and $$
  // before the shell ever sees the script.
  using ExecEx = sdbus::Struct<std::string, std::vector<std::string>,
                               std::vector<std::string>>;
  std::vector<ExecEx> exec{ExecEx(s.argv.empty() ? std::string() : s.argv[0],
                                  s.argv,
                                  std::vector<std::string>{"no-env-expand"})};
  props.emplace_back("ExecStartEx", sdbus::Variant(exec));
  props.emplace_back("Environment", sdbus::Variant(s.environment));
  props.emplace_back("TimeoutStartUSec", sdbus::Variant(usecOf(s.timeout)));
  props.emplace_back("TimeoutStopUSec", sdbus::Variant(usecOf(s.stopGrace)));
  // Kept loaded (and its results readable) until we Unref() it, however
  // quickly it ends; then collected even if it failed, so that no failed
  // unit per hook piles up in `systemctl --failed`: the upgrader reports the
  // failure, and the output stays in the journal under the unit's name.
  props.emplace_back("AddRef", sdbus::Variant(true));
  props.emplace_back("CollectMode",
                     sdbus::Variant(std::string("inactive-or-failed")));
  if (s.bindsTo) {
    props.emplace_back("BindsTo",
                       sdbus::Variant(std::vector<std::string>{s.bindsTo->str()}));
  }
  return props;
}

}  // namespace

Result<TransientOutcome> DbusServiceManager::runTransientService(
    const TransientService& service) {
  const UnitName& unit = service.name;
  using Aux = sdbus::Struct<std::string, std::vector<Property>>;
  // Before systemd is asked: no line of the unit can be older (see
  // TransientOutcome::linesSinceUsec).
  const auto asked = std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  sdbus::ObjectPath job;
  try {
    manager_->callMethod("StartTransientUnit")
        .onInterface(kManagerInterface)
        .withArguments(unit.str(), std::string("fail"),
                       transientProperties(service), std::vector<Aux>{})
        .storeResultsTo(job);
  } catch (const sdbus::Error& e) {
    return describe(e, unit);
  }

  // systemd enforces the timeout itself; this deadline only covers a
  // systemd that does not (a unit stuck in its stop phase, say).
  constexpr auto kMargin = std::chrono::seconds(10);
  auto deadline = saturatingAdd(
      saturatingAdd(SteadyClock::now(), service.timeout), service.stopGrace + kMargin);
  TransientOutcome outcome;
  bool finished = false;
  try {
    finished = pumpUntil([&] { return removedJobs_.count(job) > 0; }, deadline);
  } catch (const sdbus::Error& e) {
    return describe(e, unit);
  }
  if (!finished) {
    outcome.stoppedByCaller = true;
    (void)runJob("StopUnit", "stop", unit, service.stopGrace + kMargin);
  }
  if (auto it = removedJobs_.find(job); it != removedJobs_.end()) {
    outcome.jobResult = it->second;
    removedJobs_.erase(it);
  }

  sdbus::ObjectPath path;
  try {
    manager_->callMethod("GetUnit")
        .onInterface(kManagerInterface)
        .withArguments(unit.str())
        .storeResultsTo(path);
  } catch (const sdbus::Error& e) {
    return describe(e, unit);
  }
  auto collected = collectTransient(unit, path);
  if (!collected) return collected.error();
  collected->jobResult = outcome.jobResult;
  collected->stoppedByCaller = outcome.stoppedByCaller;
  collected->linesSinceUsec = asked > 0 ? static_cast<std::uint64_t>(asked) : 0;
  return collected;
}

Result<TransientOutcome> DbusServiceManager::collectTransient(
    const UnitName& unit, const sdbus::ObjectPath& path) {
  TransientOutcome out;
  try {
    auto proxy = sdbus_compat::createProxy(*connection_, kDestination, path);
    std::map<std::string, sdbus::Variant> props;
    proxy->callMethod("GetAll")
        .onInterface(kPropertiesInterface)
        .withArguments(std::string(kServiceInterface))
        .storeResultsTo(props);
    out.result = variantOr<std::string>(props, "Result", "");
    out.execMainCode = variantOr<std::int32_t>(props, "ExecMainCode", 0);
    out.execMainStatus = variantOr<std::int32_t>(props, "ExecMainStatus", 0);
    sdbus::Variant invocation;
    proxy->callMethod("Get")
        .onInterface(kPropertiesInterface)
        .withArguments(std::string(kUnitInterface), std::string("InvocationID"))
        .storeResultsTo(invocation);
    out.invocationId = hexOf(invocation.get<std::vector<std::uint8_t>>());
    // Our reference kept the unit loaded this far; without it systemd
    // collects the unit once it is inactive.
    try {
      proxy->callMethod("Unref").onInterface(kUnitInterface);
    } catch (const sdbus::Error&) {
      // Dropped with our connection anyway.
    }
  } catch (const sdbus::Error& e) {
    return describe(e, unit);
  }
  return out;
}

Result<std::vector<UnitName>> DbusServiceManager::liveUnitsMatching(
    const std::string& pattern) {
  using UnitInfo =
      sdbus::Struct<std::string, std::string, std::string, std::string,
                    std::string, std::string, sdbus::ObjectPath, std::uint32_t,
                    std::string, sdbus::ObjectPath>;
  std::vector<UnitInfo> units;
  try {
    manager_->callMethod("ListUnitsByPatterns")
        .onInterface(kManagerInterface)
        .withArguments(
            std::vector<std::string>{"active", "activating", "reloading",
                                     "deactivating"},
            std::vector<std::string>{pattern})
        .storeResultsTo(units);
  } catch (const sdbus::Error& e) {
    return Error("systemd refused to list the units matching '" + pattern +
                 "': " + e.getMessage() + " (" + e.getName() + ")");
  }
  std::vector<UnitName> names;
  for (const auto& u : units) names.emplace_back(u.get<0>());
  return names;
}

Result<std::unique_ptr<ServiceManager>> connectSystemd() {
  std::unique_ptr<sdbus::IConnection> connection;
  try {
    connection = sdbus::createSystemBusConnection();
  } catch (const sdbus::Error& e) {
    return Error("cannot connect to the system bus: " + e.getMessage());
  }
  auto manager = std::make_unique<DbusServiceManager>(std::move(connection));
  if (auto status = manager->init(); !status) return status.error();
  return std::unique_ptr<ServiceManager>(std::move(manager));
}

}  // namespace upgrader
