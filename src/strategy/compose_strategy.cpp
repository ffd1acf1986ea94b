#include "strategy/compose_strategy.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <set>

#include "common/file_util.hpp"
#include "common/image_reference.hpp"
#include "common/shown_text.hpp"
#include "container/credentials.hpp"
#include "fetch/version.hpp"
#include "strategy/file_slot.hpp"
#include "strategy/image_release.hpp"
#include "strategy/image_strategy.hpp"
#include "strategy/pull_record.hpp"
#include "strategy/strategies.hpp"

namespace upgrader {

namespace {

constexpr std::size_t kMaxEnvFile = 64 * 1024;
// How long a container left running outside the unit is given to stop
// once killed.
constexpr auto kKillTimeout = std::chrono::seconds(30);

std::string withoutDigest(const std::string& reference) {
  return reference.substr(0, reference.find('@'));
}

std::string digestIn(const std::string& reference) {
  auto at = reference.find('@');
  return at == std::string::npos ? "" : reference.substr(at + 1);
}

// The registry and repository of a reference, for its credentials.
Result<ImageName> nameOf(const std::string& reference) {
  std::string name = withoutDigest(reference);
  auto parsed = parseImageName(name);
  if (parsed) return parsed;
  return parseImageName(name + ":x");  // NAME@DIGEST has no tag
}

// The env file with the one line that sets `variable` set to `version`;
// every other line (passwords, ports) as it was.
Result<std::string> withVersion(const std::string& path,
                                const std::string& text,
                                const std::string& variable,
                                const std::string& version) {
  std::vector<unsigned> at;
  for (const auto& a : envAssignments(text)) {
    if (a.key == variable) at.push_back(a.line);
  }
  if (at.size() != 1) {
    return Error("'" + path + "' sets " + variable + "= " +
                 std::to_string(at.size()) +
                 " times; it must set it exactly once, to the version in "
                 "service");
  }
  std::string out;
  unsigned number = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    auto nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    out += ++number == at.front() ? variable + "=" + version : std::string(line);
    out += "\n";
  }
  return out;
}

// Mode=compose with Variable=: the env file at Path= is the release.
class EnvVersionStrategy final : public FileSlotStrategy {
 public:
  EnvVersionStrategy(const Plan& plan, Registry& registry, Fetcher& fetcher)
      : FileSlotStrategy(FileSlot(plan.install.path,
                                  [this](const std::string& path) {
                                    return readVersionVariable(path, variable_);
                                  })),
        config_(plan.container),
        trust_(plan.trust),
        variable_(plan.compose.variable),
        registry_(registry),
        fetcher_(fetcher) {
    auto image = parseImageName(config_.image);
    if (image) image_ = *image;
  }

  Result<Offer> resolve() override {
    if (image_.repository.empty()) {
      return Error("invalid image '" + config_.image + "'");
    }
    auto r = resolveImageRelease(config_, trust_, image_, registry_, fetcher_);
    if (!r) return r.error();
    resolved_ = *r;
    return Offer{r->version, true};
  }

  std::string recognise(const std::string& id) const override {
    return isValidVersion(id) ? id : "";
  }

  Result<Staged> acquire(const ProgressFn&) override {
    if (!resolved_) return Error("no release was resolved to acquire");
    const ImageRelease& r = *resolved_;
    // The unit and compose read what this file says: only root may be
    // able to change it, or the directory it is in.
    if (auto st = checkOnlyTrustedCanWrite(slot_.directory()); !st) {
      return st.error().withContext("Refusing to stage the env file in '" +
                                    slot_.directory() + "'");
    }
    auto text = readFile(slot_.path(), kMaxEnvFile);
    if (!text) return text.error();
    auto content = withVersion(slot_.path(), *text, variable_, r.version);
    if (!content) return content.error();
    // The file may hold the project's passwords: it keeps its mode.
    struct stat st {};
    if (::stat(slot_.path().c_str(), &st) != 0) {
      return systemError("stat", slot_.path(), errno);
    }
    if (auto written = writeFileAtomically(slot_.stagedPath(), *content,
                                           st.st_mode & 07777);
        !written) {
      return written.error();
    }
    return Staged{{r.version, r.version},
                  variable_ + "=" + r.version + " (" + image_.name() + ":" +
                      r.tag + ", digest " + r.digest + ", " +
                      (r.signedBy.empty() ? "unsigned (AllowUnsigned=yes)"
                                          : r.signedBy) +
                      "), staged in '" + slot_.stagedPath() + "'"};
  }

  // The env file is staged anew from the one in place (no network): only
  // the version must still be the one offered now.
  Result<Staged> adopt(const ReleaseRef& fetched) override {
    if (!resolved_) return Error("no release was resolved to adopt");
    if (fetched.version != resolved_->version) {
      return Error("the release fetched ahead (" + fetched.version +
                   ") is not the one offered now (" + resolved_->version + ")");
    }
    return acquire({});
  }

  Result<ReleaseRef> stagePrevious(const ReleaseRef& previous) override {
    if (auto st = slot_.stageOld(previous); !st) return st.error();
    return previous;
  }
  Status discard(const ReleaseRef& to, Discard what) override {
    return slot_.removeLeftovers(what == Discard::kLeftovers && !to.id.empty());
  }
  Status quiesce(const ReleaseRef&) override { return okStatus(); }
  Status prune(const ReleaseRef&, const ReleaseRef&) override {
    return slot_.removeLeftovers();
  }
  Environment hookEnvironment(const ReleaseRef&,
                              const ReleaseRef&) const override {
    return {{"UPGRADER_ENVIRONMENT_FILE", slot_.path()},
            {"UPGRADER_OLD_ENVIRONMENT_FILE", slot_.oldPath()}};
  }
  std::string preflightCommand(const std::string& configured,
                               const ReleaseRef&) const override {
    return replacePlaceholder(configured, "@path", slot_.stagedPath());
  }

  std::map<std::string, std::string> vouched() const {
    if (!resolved_) return {};
    return {{image_.name() + ":" + resolved_->tag, resolved_->digest}};
  }

 private:
  const ContainerConfig& config_;
  const TrustConfig& trust_;
  std::string variable_;
  Registry& registry_;
  Fetcher& fetcher_;
  ImageName image_;
  std::optional<ImageRelease> resolved_;
};

class ComposeStrategy final : public Strategy {
 public:
  ComposeStrategy(const Plan& plan, ComposeParts parts)
      : plan_(plan),
        files_(std::move(parts.files)),
        vouched_(std::move(parts.vouched)),
        tool_(parts.tool),
        engine_(parts.engine),
        pullRecord_(std::move(parts.pullRecord)),
        authFiles_(std::move(parts.authFiles)) {}

  std::string place() const override { return files_->place(); }
  Result<std::string> currentId() const override { return files_->currentId(); }
  Result<Offer> resolve() override {
    engine_.warmUp();
    return files_->resolve();
  }
  std::string recognise(const std::string& id) const override {
    return files_->recognise(id);
  }

  // The files first (downloaded and verified, or the env file written),
  // then what they render to, then every image that names: all before
  // anything stops. Anything refused takes back what this call acquired.
  Result<Staged> acquire(const ProgressFn& progress) override {
    auto staged = files_->acquire(progress);
    if (!staged) return staged.error();
    std::vector<std::string> claimedNow;
    auto images = acquireImages(stagedPlace(staged->release), claimedNow);
    if (!images) {
      for (const auto& reference : claimedNow) {
        (void)forgetPull(pullRecord_, engine_, reference);
      }
      (void)files_->discard(staged->release, Discard::kRelease);
      return images.error();
    }
    staged->evidence += "; images " + *images;
    return staged;
  }

  // The files as the strategy of the files adopts them, then every image
  // they name must still be held with the digest expected (a missing one
  // is pulled again).
  Result<Staged> adopt(const ReleaseRef& fetched) override {
    auto staged = files_->adopt(fetched);
    if (!staged) return staged.error();
    std::vector<std::string> claimedNow;
    auto images = acquireImages(stagedPlace(staged->release), claimedNow);
    if (!images) {
      for (const auto& reference : claimedNow) {
        (void)forgetPull(pullRecord_, engine_, reference);
      }
      return images.error();
    }
    staged->evidence += "; images " + *images;
    return staged;
  }

  Result<ReleaseRef> stagePrevious(const ReleaseRef& previous) override {
    return files_->stagePrevious(previous);
  }
  Status prepareSwap(const ReleaseRef& from) override {
    return files_->prepareSwap(from);
  }
  Status swap(const ReleaseRef& from, const ReleaseRef& to) override {
    return files_->swap(from, to);
  }
  Status canRevert(const ReleaseRef& from) const override {
    return files_->canRevert(from);
  }
  Status revert(const ReleaseRef& from) override {
    return files_->revert(from);
  }

  // The files as the strategy of the files says, then the images pulled
  // for a release that is not in service: never one the project in place
  // names, and never by force (an image a container uses stays).
  // kLeftovers with a release: one fetched ahead, whose images stay.
  Status discard(const ReleaseRef& to, Discard what) override {
    if (auto st = files_->discard(to, what); !st) return st;
    if (what == Discard::kKeepRelease) return okStatus();
    const bool fetched = what == Discard::kLeftovers && !to.id.empty();
    return settlePulls(/*commit=*/false, "", fetched ? stagedPlace(to) : "");
  }

  // Whatever of the project still runs once its units are stopped: a
  // container a hook started (compose run) or one an engine's restart
  // policy brought back (Podman can restart a container between compose's
  // stop and remove).
  Status quiesce(const ReleaseRef&) override {
    auto containers = engine_.projectContainers(plan_.compose.project);
    if (!containers) return containers.error();
    for (const auto& c : *containers) {
      if (!c.running) continue;
      if (auto st = engine_.killContainer(c.id, kKillTimeout); !st) return st;
    }
    return okStatus();
  }

  Status prune(const ReleaseRef& installed,
               const ReleaseRef& previous) override {
    Status files = files_->prune(installed, previous);
    Status images = settlePulls(/*commit=*/true, rollbackPlace(previous));
    return files ? images : files;
  }

  Environment hookEnvironment(const ReleaseRef& from,
                              const ReleaseRef& to) const override {
    Environment env = files_->hookEnvironment(from, to);
    ComposeInvocation in = composeInvocation(plan_, plan_.install.path);
    env["UPGRADER_COMPOSE_PROJECT"] = in.project;
    env["UPGRADER_COMPOSE_FILE"] = in.file;
    if (!in.envFile.empty()) env["UPGRADER_COMPOSE_ENV_FILE"] = in.envFile;
    return env;
  }

  std::string preflightCommand(const std::string& configured,
                               const ReleaseRef& staged) const override {
    return files_->preflightCommand(configured, staged);
  }

 private:
  // Where the files of the rollback point `previous` are once a commit
  // settled them: its directory, or PATH.old; "" if there is none.
  std::string rollbackPlace(const ReleaseRef& previous) const {
    if (previous.id.empty()) return "";
    if (plan_.compose.perDirectory()) return previous.id;
    return FileSlot(plan_.install.path, nullptr).oldPath();
  }

  // Where the files of a staged release are: its directory, or the staged
  // env file.
  std::string stagedPlace(const ReleaseRef& release) const {
    if (plan_.compose.perDirectory()) return release.id;
    FileSlot slot(plan_.install.path, nullptr);
    return slot.stagedPath();
  }

  // Renders the project at `place` and makes sure the engine holds every
  // image it names; "2 pulled, 1 held: a@sha256:..., ..." for the journal.
  Result<std::string> acquireImages(const std::string& place,
                                    std::vector<std::string>& claimedNow) {
    ComposeInvocation in = composeInvocation(plan_, place);
    // A release's env file must not steer compose itself.
    const std::string envFile = in.envFile.empty()
                                    ? parentDirectory(in.file) + "/.env"
                                    : in.envFile;
    if (auto st = checkComposeEnvFile(envFile, in.envFile.empty()); !st) {
      return st.error();
    }
    auto model = tool_.render(in);
    if (!model) return model.error();
    std::map<std::string, std::string> vouched;
    if (vouched_) vouched = vouched_();
    std::set<std::string> seen;
    std::string evidence;
    unsigned pulled = 0;
    for (const auto& service : model->services) {
      if (!seen.insert(service.image).second) continue;
      // The digest the image must have: the one the reference pins, or
      // the one the release's resolution vouched for.
      std::string expected = digestIn(service.image);
      if (expected.empty()) {
        auto it = vouched.find(imageTagKey(service.image));
        if (it != vouched.end()) expected = it->second;
      }
      if (expected.empty() && plan_.trust.hasKeys()) {
        return Error("service '" + service.name + "' of '" + in.file +
                     "' runs " + quoteValue(service.image) +
                     ", which nothing signed vouches for: with [Trust] "
                     "TrustedKey=, pin every other image by digest "
                     "(NAME:TAG@sha256:...) in the compose file");
      }
      auto held = ensureImage(service.image, expected, claimedNow);
      if (!held) {
        return held.error().withContext("service '" + service.name + "'");
      }
      pulled += *held ? 1 : 0;
      if (!evidence.empty()) evidence += ", ";
      evidence += service.image + (expected.empty() ? "" : " (" + expected + ")");
    }
    return std::to_string(pulled) + " pulled, " +
           std::to_string(seen.size() - pulled) + " already held: " + evidence;
  }

  // Makes the engine hold `reference` exactly as compose names it (so
  // that `up` pulls nothing), with `expected` among its digests if one is
  // given. True if it was pulled now. What it pulled or recorded as used
  // goes into `claimedNow`, for a refusal to take back.
  Result<bool> ensureImage(const std::string& reference,
                           const std::string& expected,
                           std::vector<std::string>& claimedNow) {
    auto fits = [&](const std::optional<LocalImage>& image) {
      return image && (expected.empty() ||
                       carriesDigest(image->repoDigests, expected));
    };
    auto before = engine_.inspect(reference);
    if (!before) return before.error();
    if (fits(*before)) {
      // Held already: recorded as used, so that no other instance
      // removes it under this one (taken back if the release is refused).
      auto added = recordUse(pullRecord_, reference);
      if (!added) return added.error();
      if (*added) claimedNow.push_back(reference);
      return false;
    }
    auto name = nameOf(reference);
    if (!name) return name.error();
    auto credentials =
        findCredentials(authFiles_, name->registry, name->repository);
    if (!credentials) return credentials.error();
    if (auto st = pullRecorded(pullRecord_, engine_, reference, *credentials,
                               name->registry, plan_.container.pullTimeout);
        !st) {
      return st.error();
    }
    claimedNow.push_back(reference);
    // Trust, then verify: what the engine holds now under the name.
    auto after = engine_.inspect(reference);
    if (!after) return after.error();
    if (!fits(*after)) {
      return Error(engine_.name() + " holds no image with digest " + expected +
                   " as '" + reference + "' after the pull");
    }
    return true;
  }

  // The record's "pulling" images: with `commit`, those the project in
  // place names become "pulled" (in service); every other is a leftover
  // of a failed or killed run and is removed if the engine lets it.
  // "using" claims (images the engine held already) are given up only by
  // a commit, and never for an image the project in place or the rollback
  // point at `rollback` names: a run that does not commit leaves every
  // claim as it was, and another instance never removes an image this one
  // could go back to. The images the project at `fetched` names (a release
  // fetched ahead) stay as they are.
  Status settlePulls(bool commit, const std::string& rollback = "",
                     const std::string& fetched = "") {
    auto record = loadPullRecord(pullRecord_);
    if (!record) return record.error();
    bool pending = false;
    for (const auto& e : record->entries) {
      pending |= e.state == "pulling" || (commit && e.state == "using");
    }
    if (!pending) return okStatus();
    std::set<std::string> inPlace;
    if (auto model = tool_.render(composeInvocation(plan_, plan_.install.path))) {
      for (const auto& s : model->services) inPlace.insert(s.image);
    } else if (!commit) {
      // Unknown what is in use: keep everything for the next run.
      return model.error().withContext("Keeping the images pulled for it");
    }
    if (!fetched.empty()) {
      auto model = tool_.render(composeInvocation(plan_, fetched));
      if (!model) {
        return model.error().withContext(
            "Keeping the images pulled for the release fetched ahead");
      }
      for (const auto& s : model->services) inPlace.insert(s.image);
    }
    // Unknown what the rollback point runs: no claim is given up.
    bool keepUses = !commit;
    std::set<std::string> rollbackImages;
    if (commit && !rollback.empty()) {
      if (auto model = tool_.render(composeInvocation(plan_, rollback))) {
        for (const auto& s : model->services) rollbackImages.insert(s.image);
      } else {
        keepUses = true;
      }
    }
    return settlePullRecord(
        pullRecord_, engine_, [&](const PullRecord::Entry& e) {
          if (e.state == "pulled") return PullFate::kKeep;
          if (e.state == "using" &&
              (keepUses || rollbackImages.count(e.reference) != 0)) {
            return PullFate::kKeep;
          }
          if (inPlace.count(e.reference) != 0) {
            return commit && e.state == "pulling" ? PullFate::kPromote
                                                  : PullFate::kKeep;
          }
          // Never one another instance records; one only used leaves the
          // engine alone (releasePull).
          return PullFate::kRelease;
        });
  }

  const Plan& plan_;
  std::unique_ptr<Strategy> files_;
  VouchedDigests vouched_;
  ComposeTool& tool_;
  ContainerEngine& engine_;
  std::string pullRecord_;
  std::vector<std::string> authFiles_;
};

}  // namespace

std::string imageTagKey(const std::string& reference) {
  auto name = parseImageName(withoutDigest(reference));
  if (!name) return "";
  return name->name() + ":" + name->tag;
}

Result<std::string> readVersionVariable(const std::string& path,
                                        const std::string& variable) {
  auto text = readFile(path, kMaxEnvFile);
  if (!text) return text.error();
  std::optional<std::string> value;
  for (const auto& a : envAssignments(*text)) {
    if (a.key != variable) continue;
    if (value) {
      return Error("'" + path + "' sets " + variable + "= more than once");
    }
    value = std::string(a.value);
  }
  if (!value) return Error("'" + path + "' does not set " + variable + "=");
  if (!isValidVersion(*value)) {
    return Error("'" + path + "': " + variable + "=" + quoteValue(*value) +
                 " is not a version");
  }
  return *value;
}

EnvVersionFiles makeEnvVersionStrategy(const Plan& plan, Registry& registry,
                                       Fetcher& fetcher) {
  auto strategy = std::make_unique<EnvVersionStrategy>(plan, registry, fetcher);
  EnvVersionStrategy* raw = strategy.get();
  return {std::move(strategy), [raw] { return raw->vouched(); }};
}

std::unique_ptr<Strategy> makeComposeStrategy(const Plan& plan,
                                              ComposeParts parts) {
  return std::make_unique<ComposeStrategy>(plan, std::move(parts));
}

}  // namespace upgrader

namespace upgrader {

std::unique_ptr<Strategy> makeComposeStrategyOn(const Plan& plan,
                                                const StrategyDeps& deps) {
  const EngineClients& clients = *deps.engine;
  ComposeParts parts{nullptr,
                     nullptr,
                     clients.compose,
                     clients.engine,
                     deps.stateDirectory + "/images.json",
                     clients.authFiles};
  if (plan.compose.perDirectory()) {
    parts.files = makeSymlinkStrategy(plan, deps.fetcher);
  } else {
    auto files = makeEnvVersionStrategy(plan, clients.registry, deps.fetcher);
    parts.files = std::move(files.strategy);
    parts.vouched = std::move(files.vouched);
  }
  return makeComposeStrategy(plan, std::move(parts));
}

}  // namespace upgrader
