#include "strategy/image_strategy.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <set>

#include "common/clock.hpp"
#include "common/duration_text.hpp"
#include "common/file_util.hpp"
#include "common/image_reference.hpp"
#include "fetch/version.hpp"
#include "strategy/file_slot.hpp"
#include "strategy/image_release.hpp"
#include "strategy/pull_record.hpp"
#include "strategy/strategies.hpp"

namespace upgrader {

namespace {

constexpr std::string_view kVariable = "UPGRADER_IMAGE=";
constexpr std::size_t kMaxEnvironmentFile = 64 * 1024;
// How long a container a hook left is given to stop once killed.
constexpr auto kKillTimeout = std::chrono::seconds(30);

// "NAME:TAG@DIGEST" -> "NAME@DIGEST": what the engine is asked to pull and
// holds; a reference without a digest stays as it is.
std::string pullReferenceOf(const std::string& pinned) {
  auto at = pinned.find('@');
  if (at == std::string::npos) return pinned;
  std::string name = pinned.substr(0, at);
  auto slash = name.rfind('/');
  auto colon = name.rfind(':');
  if (colon != std::string::npos &&
      (slash == std::string::npos || colon > slash)) {
    name = name.substr(0, colon);
  }
  return name + pinned.substr(at);
}

std::string digestOf(const std::string& pinned) {
  auto at = pinned.find('@');
  return at == std::string::npos ? "" : pinned.substr(at + 1);
}

class ImageStrategy final : public FileSlotStrategy {
 public:
  ImageStrategy(const Plan& plan, ImageName image, Registry& registry,
                ContainerEngine& engine, Fetcher& fetcher, ImagePlaces places)
      : FileSlotStrategy(FileSlot(places.environmentFile, readPinnedImage)),
        config_(plan.container),
        trust_(plan.trust),
        image_(std::move(image)),
        registry_(registry),
        engine_(engine),
        fetcher_(fetcher),
        places_(std::move(places)) {}

  Result<std::string> currentId() const override {
    auto pinned = slot_.currentId();
    if (!pinned && !pathExists(slot_.path())) {
      return pinned.error().withContext(
          "no image is pinned yet: write UPGRADER_IMAGE=<the image the unit "
          "runs now> there and have the unit read it (see upgrader.conf(5))");
    }
    return pinned;
  }

  Result<Offer> resolve() override {
    if (image_.repository.empty()) {
      return Error("invalid image '" + config_.image + "'");
    }
    engine_.warmUp();
    auto r = resolveImageRelease(config_, trust_, image_, registry_, fetcher_);
    if (!r) return r.error();
    resolved_ = *r;
    return Offer{r->version, image_.followsVersions()};
  }

  std::string recognise(const std::string& id) const override {
    std::string name = id.substr(0, id.find('@'));
    auto parsed = parseImageName(name);
    if (!parsed || parsed->name() != image_.name()) return "";
    if (image_.followsVersions()) {
      std::string version = image_.versionOfTag(parsed->tag);
      return isValidVersion(version) ? version : "";
    }
    return parsed->tag == image_.tag ? digestOf(id) : "";
  }

  Result<Staged> acquire(const ProgressFn&) override {
    if (!resolved_) return Error("no release was resolved to acquire");
    const ImageRelease& r = *resolved_;
    const std::string pull = image_.name() + "@" + r.digest;
    const std::string pinned = image_.name() + ":" + r.tag + "@" + r.digest;

    auto before = engine_.inspect(pull);
    if (!before) return before.error();
    bool pulledNow = false;
    bool usedNow = false;  // recorded as used by this call
    if (!*before) {
      if (auto st = pullRecorded(pull); !st) return st.error();
      pulledNow = true;
    } else {
      // Held already (the operator's, or another instance's): recorded as
      // used, so that no other instance removes it under this one.
      auto added = recordUse(places_.pullRecord, pull);
      if (!added) return added.error();
      usedNow = *added;
    }
    // Trust, then verify: the engine must hold the image under exactly
    // the digest resolved at the registry.
    auto held = engine_.inspect(pull);
    Status carries = okStatus();
    if (!held) {
      carries = held.error();
    } else if (!*held || !carriesDigest((*held)->repoDigests, r.digest)) {
      carries = Error(engine_.name() + " holds no image with digest " +
                      r.digest + " for '" + image_.name() + "' after the pull");
    }
    if (!carries) {
      if (pulledNow || usedNow) (void)forget(pull);
      return carries.error();
    }

    std::string content =
        "# The image upgrade@ runs for this service, pinned by digest.\n"
        "# Written by upgrader; an upgrade replaces it as a whole.\n" +
        std::string(kVariable) + pinned + "\n";
    if (auto st = ensureDirectory(slot_.directory()); !st) {
      if (pulledNow || usedNow) (void)forget(pull);
      return st.error();
    }
    // The unit runs what this file names: only root may be able to change
    // it, or the directory it is in.
    if (auto st = checkOnlyTrustedCanWrite(slot_.directory()); !st) {
      if (pulledNow || usedNow) (void)forget(pull);
      return st.error().withContext("Refusing to pin an image in '" +
                                    slot_.directory() + "'");
    }
    if (auto st = writeFileAtomically(slot_.stagedPath(), content, 0644); !st) {
      if (pulledNow || usedNow) (void)forget(pull);
      return st.error();
    }
    return Staged{{r.version, pinned},
                  "image digest " + r.digest + ", " +
                      (r.signedBy.empty() ? "unsigned (AllowUnsigned=yes)"
                                          : r.signedBy) +
                      ", " + (pulledNow ? "pulled by " : "already held by ") +
                      engine_.name() + ", staged in '" + slot_.stagedPath() +
                      "'"};
  }

  // The digest the registry offers now must be the one fetched; the
  // engine must still hold it. acquire() then pulls nothing, checks the
  // engine's digest again and writes the staged file anew.
  Result<Staged> adopt(const ReleaseRef& fetched) override {
    if (!resolved_) return Error("no release was resolved to adopt");
    if (digestOf(fetched.id) != resolved_->digest) {
      return Error("the image fetched ahead (" + fetched.id +
                   ") is not the one offered now (" + resolved_->digest + ")");
    }
    auto held = engine_.inspect(pullReferenceOf(fetched.id));
    if (!held) return held.error();
    if (!*held) {
      return Error(engine_.name() +
                   " no longer holds the image fetched ahead, '" +
                   pullReferenceOf(fetched.id) + "'");
    }
    return acquire({});
  }

  Result<ReleaseRef> stagePrevious(const ReleaseRef& previous) override {
    if (auto st = requireImage(previous); !st) return st.error();
    if (auto st = slot_.stageOld(previous); !st) return st.error();
    // The copy is made 0600; the file the unit reads is 0644 either way.
    if (::chmod(slot_.stagedPath().c_str(), 0644) != 0) {
      int err = errno;
      (void)removeIfExists(slot_.stagedPath());
      return systemError("chmod", slot_.stagedPath(), err);
    }
    return previous;
  }

  // The old image must still be in the engine, or the unit would start
  // nothing: checked before a rollback stops anything. Only an engine that
  // says it is gone stops the rollback; one that does not answer now may
  // by the time the unit starts (and the engine pulls a missing digest
  // itself), and putting the old image back in the file is right anyway.
  Status canRevert(const ReleaseRef& from) const override {
    if (auto st = slot_.canRevert(from); !st) return st;
    auto held = engine_.inspect(pullReferenceOf(from.id));
    if (held && !*held) return requireImage(from);
    return okStatus();
  }

  // What staging `to` left (its staged file; its image if we pulled it,
  // it failed and nothing pins it), and every pull a killed run left. An
  // image that cannot be removed now (in use, the engine away) stays on
  // record for the next run; the first such error is reported.
  Status discard(const ReleaseRef& to, Discard what) override {
    // kLeftovers with a release: one fetched ahead, kept staged.
    const bool fetched = what == Discard::kLeftovers && !to.id.empty();
    if (auto st = slot_.removeLeftovers(fetched); !st) return st;
    const std::string failed = what == Discard::kRelease && !to.id.empty()
                                   ? pullReferenceOf(to.id)
                                   : "";
    const std::string kept =
        (what == Discard::kKeepRelease || fetched) && !to.id.empty()
            ? pullReferenceOf(to.id)
            : "";
    const std::set<std::string> inUse = referencesInPlace();
    return settlePullRecord(
        places_.pullRecord, engine_, [&](const PullRecord::Entry& e) {
          bool leftover = e.state != "pulled" || e.reference == failed;
          if (!leftover || e.reference == kept) return PullFate::kKeep;
          if (inUse.count(e.reference) != 0) {
            return e.state == "pulling" ? PullFate::kPromote : PullFate::kKeep;
          }
          return PullFate::kRelease;
        });
  }

  // Kills the containers still running the image of `release`: the
  // service's units are stopped, so what runs it now is a hook's work.
  Status quiesce(const ReleaseRef& release) override {
    auto held = engine_.inspect(pullReferenceOf(release.id));
    if (!held) return held.error();
    if (!*held) return okStatus();  // nothing can run what is not there
    auto running = engine_.runningContainersOf((*held)->id);
    if (!running) return running.error();
    for (const auto& id : *running) {
      if (auto st = engine_.killContainer(id, kKillTimeout); !st) return st;
    }
    return okStatus();
  }

  // Keeps KeepImages= of the images this instance pulled, newest first,
  // and always the one in service and the rollback point. Images it did
  // not pull are never touched.
  Status prune(const ReleaseRef& installed,
               const ReleaseRef& previous) override {
    if (auto st = slot_.removeLeftovers(); !st) return st;
    // Committed: what is pinned now is no leftover any more; an image used
    // but not pulled that is pinned no more leaves the record.
    std::set<std::string> kept = {pullReferenceOf(installed.id),
                                  pullReferenceOf(previous.id)};
    return settlePullRecord(
        places_.pullRecord, engine_, [&](const PullRecord::Entry& e) {
          if (kept.count(e.reference) != 0) {
            return e.state == "pulling" ? PullFate::kPromote : PullFate::kKeep;
          }
          if (e.state == "using") return PullFate::kRelease;  // the record only
          if (e.state != "pulled") return PullFate::kKeep;
          if (kept.size() < config_.keepImages) {
            kept.insert(e.reference);
            return PullFate::kKeep;
          }
          return PullFate::kRelease;
        });
  }

  Environment hookEnvironment(const ReleaseRef& from,
                              const ReleaseRef& to) const override {
    return {{"UPGRADER_IMAGE", to.id},
            {"UPGRADER_OLD_IMAGE", from.id},
            {"UPGRADER_ENVIRONMENT_FILE", slot_.path()}};
  }

  std::string preflightCommand(const std::string& configured,
                               const ReleaseRef& staged) const override {
    return replacePlaceholder(configured, "@image", staged.id);
  }

 private:
  Status pullRecorded(const std::string& reference) {
    auto credentials =
        findCredentials(places_.authFiles, image_.registry, image_.repository);
    if (!credentials) return credentials.error();
    // Cut to what is left of the run's time for registry work.
    auto left = registry_.timeLeft();
    if (!left) return left.error();
    return upgrader::pullRecorded(places_.pullRecord, engine_, reference,
                                  *credentials, image_.registry,
                                  std::min(config_.pullTimeout, *left));
  }
  Status forget(const std::string& reference) {
    return forgetPull(places_.pullRecord, engine_, reference);
  }

  Status requireImage(const ReleaseRef& release) const {
    std::string reference = pullReferenceOf(release.id);
    auto held = engine_.inspect(reference);
    if (!held) return held.error();
    if (!*held) {
      return Error("the image of " +
                   (release.version.empty()
                        ? std::string("the previous release")
                        : release.version) +
                   " ('" + reference + "') is no longer in " + engine_.name());
    }
    return okStatus();
  }

  // The images the environment file and its rollback point name (and the
  // replaced name, which holds one or the other).
  std::set<std::string> referencesInPlace() const {
    std::set<std::string> in;
    for (const auto& path :
         {slot_.path(), slot_.oldPath(), slot_.replacedPath()}) {
      if (auto pinned = readPinnedImage(path))
        in.insert(pullReferenceOf(*pinned));
    }
    return in;
  }

  const ContainerConfig& config_;
  const TrustConfig& trust_;
  ImageName image_;
  Registry& registry_;
  ContainerEngine& engine_;
  Fetcher& fetcher_;
  ImagePlaces places_;
  std::optional<ImageRelease> resolved_;
};

}  // namespace

Result<std::string> readPinnedImage(const std::string& environmentFile) {
  auto text = readFile(environmentFile, kMaxEnvironmentFile);
  if (!text) return text.error();
  auto at = [&](unsigned line) {
    return "'" + environmentFile + "' line " + std::to_string(line) + ": ";
  };
  std::optional<std::string> pinned;
  unsigned number = 0;
  std::string_view rest = *text;
  while (!rest.empty()) {
    auto nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    ++number;
    auto isBlank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
    while (!line.empty() && isBlank(line.front())) line.remove_prefix(1);
    while (!line.empty() && isBlank(line.back())) line.remove_suffix(1);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    // The file is swapped as a whole: anything else in it would be lost
    // with the next upgrade, or brought back by a rollback.
    if (line.substr(0, kVariable.size()) != kVariable) {
      return Error(at(number) +
                   "assigns something other than UPGRADER_IMAGE=; the file is "
                   "the upgrader's alone (keep other variables in another "
                   "EnvironmentFile=)");
    }
    if (pinned)
      return Error(at(number) + "assigns UPGRADER_IMAGE= a second time");
    std::string_view value = line.substr(kVariable.size());
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    if (!isValidImageReference(value)) {
      return Error(at(number) +
                   "UPGRADER_IMAGE= does not hold one image reference "
                   "(NAME:TAG, NAME@sha256:..., or both)");
    }
    pinned = std::string(value);
  }
  if (!pinned)
    return Error("'" + environmentFile + "' has no UPGRADER_IMAGE= line");
  return *pinned;
}

std::unique_ptr<Strategy> makeImageStrategy(const Plan& plan,
                                            Registry& registry,
                                            ContainerEngine& engine,
                                            Fetcher& fetcher,
                                            ImagePlaces places) {
  auto image = parseImageName(plan.container.image);
  // The configuration was checked when it was loaded; a plan built by
  // hand with a bad image gets a strategy that can only say so.
  return std::make_unique<ImageStrategy>(plan, image ? *image : ImageName{},
                                         registry, engine, fetcher,
                                         std::move(places));
}

std::unique_ptr<Strategy> makeContainerStrategy(const Plan& plan,
                                                const StrategyDeps& deps) {
  const ContainerConfig& config = plan.container;
  ImagePlaces places;
  places.environmentFile = !config.environmentFile.empty()
                               ? config.environmentFile
                               : deps.stateDirectory + "/image.env";
  places.pullRecord = deps.stateDirectory + "/images.json";
  places.authFiles = deps.engine->authFiles;
  return makeImageStrategy(plan, deps.engine->registry, deps.engine->engine,
                           deps.fetcher, std::move(places));
}

}  // namespace upgrader
