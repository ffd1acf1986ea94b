// The rule of docs/on-disk-states.md as a property: a run that does not
// commit leaves the machine exactly as it found it, rollback point
// included. The transaction runs against the real binary strategy on a
// temporary directory and fakes for everything else; every call into an
// effect (units, strategy, health, hooks, state saves) may fail, and at a
// random call the process "dies" (before or after the call takes effect:
// nothing it does afterwards reaches anything). Later runs recover, with
// failures of their own, and a last clean run finishes. Then the
// machine is either exactly as before or exactly upgraded, never anything
// in between.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/filesystem.hpp>
#include <fstream>
#include <random>

#include "common/file_util.hpp"
#include "fetch/sha256.hpp"
#include "support/fake_service_manager.hpp"
#include "support/manual_clock.hpp"
#include "support/temp_dir.hpp"
#include "support/transaction_fakes.hpp"
#include "upgrade/transaction.hpp"

namespace upgrader {
namespace {

using namespace upgrader::testing;
namespace fs = boost::filesystem;

// Decides the fate of every effect call of one run.
class Faults {
 public:
  enum class Fate { kRun, kFail, kDead, kRunThenDie };

  Faults(std::uint32_t seed, double failRate, int dieAt, bool dieAfter)
      : rng_(seed), failRate_(failRate), dieAt_(dieAt), dieAfter_(dieAfter) {}

  Fate next(const std::string& what) {
    ++calls_;
    trace += what + " ";
    if (dead_) return Fate::kDead;
    if (calls_ == dieAt_) {
      dead_ = true;
      trace += dieAfter_ ? "(done, then died) " : "(died) ";
      return dieAfter_ ? Fate::kRunThenDie : Fate::kDead;
    }
    if (std::uniform_real_distribution<>(0, 1)(rng_) < failRate_) {
      trace += "(failed) ";
      return Fate::kFail;
    }
    return Fate::kRun;
  }

  // Runs `call` as its fate says; a failure is an Error of its type.
  template <class Call>
  auto guard(const std::string& what, Call&& call) -> decltype(call()) {
    switch (next(what)) {
      case Fate::kRun:
        return call();
      case Fate::kRunThenDie:
        (void)call();
        return Error(what + ": the process died");
      case Fate::kFail:
        return Error(what + " failed (injected)");
      case Fate::kDead:
        break;
    }
    return Error(what + ": the process is dead");
  }

  std::string trace;

 private:
  std::mt19937 rng_;
  double failRate_;
  int calls_ = 0;
  int dieAt_;
  bool dieAfter_;
  bool dead_ = false;
};

class FaultyStrategy : public Strategy {
 public:
  FaultyStrategy(Strategy& s, Faults& f) : s_(s), f_(f) {}
  std::string place() const override { return s_.place(); }
  Result<std::string> currentId() const override {
    return f_.guard("currentId", [&] { return s_.currentId(); });
  }
  Result<Offer> resolve() override {
    return f_.guard("resolve", [&] { return s_.resolve(); });
  }
  std::string recognise(const std::string& id) const override { return s_.recognise(id); }
  Result<Staged> acquire(const ProgressFn& p) override {
    return f_.guard("acquire", [&] { return s_.acquire(p); });
  }
  Result<Staged> adopt(const ReleaseRef& r) override {
    return f_.guard("adopt", [&] { return s_.adopt(r); });
  }
  Result<ReleaseRef> stagePrevious(const ReleaseRef& r) override {
    return f_.guard("stagePrevious", [&] { return s_.stagePrevious(r); });
  }
  Status prepareSwap(const ReleaseRef& r) override {
    return f_.guard("prepareSwap", [&] { return s_.prepareSwap(r); });
  }
  Status swap(const ReleaseRef& a, const ReleaseRef& b) override {
    return f_.guard("swap", [&] { return s_.swap(a, b); });
  }
  Status canRevert(const ReleaseRef& r) const override {
    return f_.guard("canRevert", [&] { return s_.canRevert(r); });
  }
  Status revert(const ReleaseRef& r) override {
    return f_.guard("revert", [&] { return s_.revert(r); });
  }
  Status discard(const ReleaseRef& r, Discard what) override {
    return f_.guard("discard", [&] { return s_.discard(r, what); });
  }
  Status quiesce(const ReleaseRef& r) override {
    return f_.guard("quiesce", [&] { return s_.quiesce(r); });
  }
  Status prune(const ReleaseRef& a, const ReleaseRef& b) override {
    return f_.guard("prune", [&] { return s_.prune(a, b); });
  }
  Environment hookEnvironment(const ReleaseRef& a, const ReleaseRef& b) const override {
    return s_.hookEnvironment(a, b);
  }
  std::string preflightCommand(const std::string& c, const ReleaseRef& r) const override {
    return s_.preflightCommand(c, r);
  }

 private:
  Strategy& s_;
  Faults& f_;
};

class FaultyUnits : public ServiceManager {
 public:
  FaultyUnits(ServiceManager& u, Faults& f) : u_(u), f_(f) {}
  Status startUnit(const UnitName& n, Duration t) override {
    return f_.guard("start", [&] { return u_.startUnit(n, t); });
  }
  Status stopUnit(const UnitName& n, Duration t) override {
    return f_.guard("stop", [&] { return u_.stopUnit(n, t); });
  }
  Status restartUnit(const UnitName& n, Duration t) override {
    return f_.guard("restart", [&] { return u_.restartUnit(n, t); });
  }
  Result<UnitStatus> unitStatus(const UnitName& n) override {
    return f_.guard("unitStatus", [&] { return u_.unitStatus(n); });
  }
  Result<UnitStatus> waitForChange(const UnitName& n, Duration t) override {
    return f_.guard("waitForChange", [&] { return u_.waitForChange(n, t); });
  }
  Result<TransientOutcome> runTransientService(const TransientService& s) override {
    return f_.guard("transient", [&] { return u_.runTransientService(s); });
  }
  Result<std::vector<UnitName>> liveUnitsMatching(const std::string& p) override {
    return f_.guard("liveUnits", [&] { return u_.liveUnitsMatching(p); });
  }

 private:
  ServiceManager& u_;
  Faults& f_;
};

class FaultyHealth : public HealthChecker {
 public:
  FaultyHealth(HealthChecker& h, Faults& f) : h_(h), f_(f) {}
  Status waitHealthy(const HealthConfig& c, const std::vector<UnitName>& u) override {
    return f_.guard("health", [&] { return h_.waitHealthy(c, u); });
  }

 private:
  HealthChecker& h_;
  Faults& f_;
};

class FaultyHooks : public HookRunner {
 public:
  FaultyHooks(HookRunner& h, Faults& f) : h_(h), f_(f) {}
  Status run(const Hook& hook) override {
    return f_.guard("hook " + hook.kind, [&] { return h_.run(hook); });
  }
  Status stopLeftovers() override {
    return f_.guard("stopLeftovers", [&] { return h_.stopLeftovers(); });
  }

 private:
  HookRunner& h_;
  Faults& f_;
};

class FaultyStore : public StateStore {
 public:
  FaultyStore(StateStore& s, Faults& f) : s_(s), f_(f) {}
  Result<InstanceState> load() override {
    return f_.guard("load", [&] { return s_.load(); });
  }
  Status save(const InstanceState& state) override {
    return f_.guard("save", [&] { return s_.save(state); });
  }

 private:
  StateStore& s_;
  Faults& f_;
};

std::string digestOf(const std::string& text) {
  Sha256 h;
  h.update(text.data(), text.size());
  return h.finish().hex();
}

std::string contentOf(const std::string& path) {
  auto text = readFile(path);
  return text ? *text : "<missing>";
}

ino_t inodeOf(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

const std::string kZero = "version zero", kOne = "version one", kTwo = "version two";

// One machine: the binary at install/app, released versions in src/.
class AMachine {
 public:
  explicit AMachine(bool hasRollbackPoint) {
    fs::create_directories(dir_ / "src");
    fs::create_directories(dir_ / "install");
    fs::create_directories(dir_ / "state");
    writeFile(dir_ / "install/app", kOne, 0755);
    if (hasRollbackPoint) writeFile(dir_ / "install/app.old", kZero, 0755);
    writeFile(dir_ / "src/app-1", kOne, 0644);
    writeFile(dir_ / "src/app-2", kTwo, 0644);
    plan_.instance = InstanceName("demo");
    plan_.target.units = {UnitName("front.service"), UnitName("db.service")};
    plan_.install.mode = InstallConfig::Mode::kBinary;
    plan_.install.path = dir_ / "install/app";
    plan_.source.url = "file://" + dir_ / "src/app-@v";
    plan_.source.allowedSchemes = {UrlScheme::kFile};
    plan_.source.pattern = "app-@v";
    plan_.hooks.preStop = {"backup"};
    plan_.hooks.migrate = {"upgradedb"};
    plan_.hooks.restore = {"restore-backup"};
    for (const auto& u : plan_.target.units) units_.setStatus(u, activeStatus());
    store_.state.installed = ReleaseRef{"1", digestOf(kOne)};
    if (hasRollbackPoint) store_.state.previous = ReleaseRef{"0", digestOf(kZero)};
  }

  // One run of `upgrader apply` aiming at `version`, with `faults`.
  Outcome apply(const std::string& version, Faults& faults) {
    pin(version);
    return run(faults, [](UpgradeTransaction& t) { return t.apply({}); });
  }
  // One run of `upgrader fetch` aiming at `version`, with `faults`.
  Outcome fetch(const std::string& version, Faults& faults) {
    pin(version);
    return run(faults, [](UpgradeTransaction& t) { return t.fetch(); });
  }
  Outcome rollback(Faults& faults) {
    pin("1");
    return run(faults, [](UpgradeTransaction& t) { return t.rollback(); });
  }

  std::string path(const std::string& name) { return dir_ / ("install/" + name); }
  MemoryStateStore& store() { return store_; }
  FakeHooks& hooks() { return hooks_; }
  // Whether a run took over a release fetched ahead.
  bool tookOverAFetch() const {
    return std::any_of(log_.lines.begin(), log_.lines.end(), [](const std::string& l) {
      return l.find("fetched ahead at") != std::string::npos;
    });
  }

 private:
  static void writeFile(const std::string& path, const std::string& text, mode_t mode) {
    std::ofstream(path, std::ios::binary) << text;
    ::chmod(path.c_str(), mode);
  }
  void pin(const std::string& version) {
    plan_.source.version = Version(version);
    Sha256 h;
    std::string text = version == "1" ? kOne : kTwo;
    h.update(text.data(), text.size());
    plan_.source.checksum = h.finish();
  }
  template <class Body>
  Outcome run(Faults& faults, Body body) {
    // Each run is a new process: a new strategy, nothing kept in memory.
    auto real = std::move(*makeStrategy(plan_, {*fetcher_, dir_ / "state"}));
    FaultyStrategy strategy(*real, faults);
    FaultyUnits units(units_, faults);
    FaultyHealth health(health_, faults);
    FaultyHooks hooks(hooks_, faults);
    FaultyStore store(store_, faults);
    UpgradeTransaction t(plan_, Effects{units, strategy, health, commands_, hooks,
                                        store, log_, clock_});
    return body(t);
  }

  TempDir dir_;
  Plan plan_;
  ManualClock clock_;
  FakeServiceManager units_{clock_};
  FakeHealth health_;
  FakeCommands commands_;
  FakeHooks hooks_;
  MemoryStateStore store_;
  RecordingEventLog log_;
  std::unique_ptr<Fetcher> fetcher_ = makeCurlFetcher();
};

// What the machine may be after the runs: before (as found) or after
// (committed), exactly, and nothing else beside it.
struct Expected {
  std::string app, old;  // content; "" = no such file
  std::optional<ReleaseRef> installed, previous;
};

::testing::AssertionResult isExactly(AMachine& m, const Expected& e) {
  auto fail = [](const std::string& why) { return ::testing::AssertionFailure() << why; };
  if (contentOf(m.path("app")) != e.app) return fail("app holds '" + contentOf(m.path("app")) + "'");
  if (e.old.empty() != !pathExists(m.path("app.old"))) {
    return fail("app.old " + std::string(e.old.empty() ? "exists" : "is missing"));
  }
  if (!e.old.empty()) {
    if (contentOf(m.path("app.old")) != e.old) {
      return fail("app.old holds '" + contentOf(m.path("app.old")) + "', not '" + e.old + "'");
    }
    if (inodeOf(m.path("app")) == inodeOf(m.path("app.old"))) {
      return fail("app and app.old are one file");
    }
  }
  std::vector<std::string> want = {"app"};
  if (!e.old.empty()) want.push_back("app.old");
  if (entries(fs::path(m.path("app")).parent_path().string()) != want) {
    std::string all;
    for (const auto& n : entries(fs::path(m.path("app")).parent_path().string())) all += n + " ";
    return fail("the directory holds " + all);
  }
  const InstanceState& s = m.store().state;
  if (s.transaction) return fail("a transaction is still recorded");
  if (s.installed != e.installed) return fail("state.installed is not as expected");
  if (s.previous != e.previous) return fail("state.previous is not as expected");
  return ::testing::AssertionSuccess();
}

constexpr int kTrials = 300;

// `first` runs once with faults; then up to three more runs with faults
// of their own (they recover, and may try again); then a clean run that
// only recovers (it aims at what is installed, so it never starts
// another attempt).
template <class First>
std::string runWithFaults(AMachine& m, std::uint32_t seed, First first) {
  std::mt19937 rng(seed);
  std::string trace;
  auto faultsFor = [&](int run) {
    int dieAt = std::uniform_int_distribution<>(1, 60)(rng);
    bool dies = std::uniform_int_distribution<>(0, 2)(rng) != 0;
    bool after = std::uniform_int_distribution<>(0, 1)(rng) != 0;
    return Faults(rng() + static_cast<std::uint32_t>(run), 0.08, dies ? dieAt : -1, after);
  };
  Faults f0 = faultsFor(0);
  Outcome out = first(f0);
  trace += "run 1: " + f0.trace + "-> " + out.message + "\n";
  for (int run = 1; run <= 3; ++run) {
    Faults f = faultsFor(run);
    Outcome again = m.apply(run % 2 ? "1" : "2", f);
    trace += "run " + std::to_string(run + 1) + ": " + f.trace + "-> " + again.message + "\n";
  }
  Faults none(0, 0, -1, false);
  Outcome last = m.apply(m.store().state.installed ? m.store().state.installed->version : "1",
                         none);
  trace += "last run: " + last.message + "\n";
  return trace;
}

TEST(TheTransactionUnderRandomFailures, LeavesTheMachineAsItFoundItOrUpgraded) {
  for (std::uint32_t seed = 1; seed <= kTrials; ++seed) {
    bool hadRollbackPoint = seed % 4 != 0;
    AMachine m(hadRollbackPoint);
    Expected before{kOne, hadRollbackPoint ? kZero : "", ReleaseRef{"1", digestOf(kOne)},
                    hadRollbackPoint ? std::optional<ReleaseRef>(ReleaseRef{"0", digestOf(kZero)})
                                     : std::nullopt};
    Expected upgraded{kTwo, kOne, ReleaseRef{"2", digestOf(kTwo)},
                      ReleaseRef{"1", digestOf(kOne)}};
    std::string trace = runWithFaults(m, seed, [&](Faults& f) { return m.apply("2", f); });
    auto asBefore = isExactly(m, before);
    auto asUpgraded = isExactly(m, upgraded);
    ASSERT_TRUE(asBefore || asUpgraded)
        << "seed " << seed << ": neither as before (" << asBefore.message()
        << ") nor upgraded (" << asUpgraded.message() << ")\n"
        << trace;
  }
}

TEST(TheTransactionUnderRandomFailures, LeavesTheMachineAsItFoundItOrUpgradedAfterAFetch) {
  int tookOver = 0;
  for (std::uint32_t seed = 1; seed <= kTrials; ++seed) {
    bool hadRollbackPoint = seed % 4 != 0;
    AMachine m(hadRollbackPoint);
    Expected before{kOne, hadRollbackPoint ? kZero : "", ReleaseRef{"1", digestOf(kOne)},
                    hadRollbackPoint ? std::optional<ReleaseRef>(ReleaseRef{"0", digestOf(kZero)})
                                     : std::nullopt};
    Expected upgraded{kTwo, kOne, ReleaseRef{"2", digestOf(kTwo)},
                      ReleaseRef{"1", digestOf(kOne)}};
    // A fetch with faults, then an apply that may take its release over,
    // with faults of its own; then the usual runs.
    std::string trace = runWithFaults(m, seed, [&](Faults& f) {
      Outcome fetched = m.fetch("2", f);
      Faults g(seed * 7919, 0.08, -1, false);
      Outcome applied = m.apply("2", g);
      applied.message = "fetch: " + f.trace + "-> " + fetched.message + "; apply: " + g.trace +
                        "-> " + applied.message;
      return applied;
    });
    auto asBefore = isExactly(m, before);
    auto asUpgraded = isExactly(m, upgraded);
    ASSERT_TRUE(asBefore || asUpgraded)
        << "seed " << seed << ": neither as before (" << asBefore.message()
        << ") nor upgraded (" << asUpgraded.message() << ")\n"
        << trace;
    ASSERT_FALSE(m.store().state.fetched.has_value()) << "seed " << seed << "\n" << trace;
    tookOver += m.tookOverAFetch() ? 1 : 0;
  }
  // Not vacuous: many of the trials installed the fetched release.
  EXPECT_GT(tookOver, kTrials / 4);
}

TEST(TheTransactionUnderRandomFailures, LeavesTheMachineAsItFoundItOrRolledBackOnRequest) {
  for (std::uint32_t seed = 1; seed <= kTrials; ++seed) {
    // Upgraded from 1 to 2 first, cleanly: 1 is the rollback point.
    AMachine m(false);
    Faults none(0, 0, -1, false);
    ASSERT_EQ(m.apply("2", none).code, OutcomeCode::kDone);
    InstanceState committed = m.store().state;
    Expected before{kTwo, kOne, committed.installed, committed.previous};
    Expected rolledBack{kOne, kTwo, committed.previous, committed.installed};
    std::string trace = runWithFaults(m, seed, [&](Faults& f) { return m.rollback(f); });
    auto asBefore = isExactly(m, before);
    auto asRolledBack = isExactly(m, rolledBack);
    ASSERT_TRUE(asBefore || asRolledBack)
        << "seed " << seed << ": neither as before (" << asBefore.message()
        << ") nor rolled back (" << asRolledBack.message() << ")\n"
        << trace;
  }
}

}  // namespace
}  // namespace upgrader
