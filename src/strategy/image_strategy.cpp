#include "strategy/image_strategy.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>
#include <set>

#include "common/fault_injection.hpp"
#include "common/file_util.hpp"
#include "common/image_reference.hpp"
#include "common/json_text.hpp"
#include "fetch/checksums.hpp"
#include "fetch/release_source.hpp"
#include "fetch/version.hpp"
#include "strategy/file_slot.hpp"
#include "strategy/strategies.hpp"
#include "trust/signature_check.hpp"

namespace upgrader {

namespace {

using nlohmann::json;

constexpr std::string_view kVariable = "UPGRADER_IMAGE=";
constexpr std::size_t kMaxEnvironmentFile = 64 * 1024;
constexpr std::size_t kMaxPullRecord = 1024 * 1024;
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

// "1", "1.7.14": digits separated by single dots.
bool isReleaseNumber(std::string_view v) {
  if (v.empty() || v.front() == '.' || v.back() == '.') return false;
  for (std::size_t i = 0; i < v.size(); ++i) {
    bool digit = v[i] >= '0' && v[i] <= '9';
    if (!digit && (v[i] != '.' || v[i + 1] == '.')) return false;
  }
  return true;
}

std::string digestOf(const std::string& pinned) {
  auto at = pinned.find('@');
  return at == std::string::npos ? "" : pinned.substr(at + 1);
}

// The images this instance pulled, oldest first: "pulling" from before the
// pull until the release is committed (then, in prune(), "pulled"). A
// "pulling" image nothing pins is what a killed run left.
struct PullRecord {
  struct Entry {
    std::string reference;
    std::string state;
  };
  std::vector<Entry> entries;

  Entry* find(const std::string& reference) {
    for (auto& e : entries) {
      if (e.reference == reference) return &e;
    }
    return nullptr;
  }
  void erase(const std::string& reference) {
    std::erase_if(entries,
                  [&](const Entry& e) { return e.reference == reference; });
  }
};

Result<PullRecord> loadRecord(const std::string& path) {
  PullRecord record;
  if (!pathExists(path)) return record;
  auto text = readFile(path, kMaxPullRecord);
  if (!text) return text.error();
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("images") ||
      !j["images"].is_array()) {
    return Error(path + ": not a record of pulled images");
  }
  for (const auto& e : j["images"]) {
    if (!e.is_object() || !e.contains("reference") ||
        !e["reference"].is_string() || !e.contains("state") ||
        !e["state"].is_string()) {
      return Error(path + ": an entry without a reference or a state");
    }
    record.entries.push_back(
        {e["reference"].get<std::string>(), e["state"].get<std::string>()});
  }
  return record;
}

Status saveRecord(const std::string& path, const PullRecord& record) {
  json j = {{"format", 1}, {"images", json::array()}};
  for (const auto& e : record.entries) {
    j["images"].push_back({{"reference", e.reference}, {"state", e.state}});
  }
  if (auto st = ensureDirectory(parentDirectory(path)); !st) return st;
  return writeFileAtomically(path, jsonText(j, 2) + "\n", 0600);
}

class ImageStrategy final : public Strategy {
 public:
  ImageStrategy(const Plan& plan, ImageName image, Registry& registry,
                ContainerEngine& engine, Fetcher& fetcher, ImagePlaces places,
                std::shared_ptr<void> owned)
      : owned_(std::move(owned)),
        config_(plan.container),
        trust_(plan.trust),
        image_(std::move(image)),
        registry_(registry),
        engine_(engine),
        fetcher_(fetcher),
        places_(std::move(places)),
        slot_(places_.environmentFile, readPinnedImage) {}

  std::string place() const override { return "'" + slot_.path() + "'"; }

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
    Resolved r;
    if (image_.followsVersions()) {
      if (config_.version) {
        r.version = config_.version->str();
      } else {
        auto newest = newestVersion();
        if (!newest) return newest.error();
        r.version = *newest;
      }
      r.tag = image_.tagFor(r.version);
    } else {
      r.tag = image_.tag;
    }
    auto digest = registry_.manifestDigest(image_, r.tag);
    if (!digest) return digest.error();
    if (!config_.digest.empty() && config_.digest != *digest) {
      return Error("digest mismatch for '" + image_.name() + ":" + r.tag +
                   "': the registry serves " + *digest + ", Digest= pins " +
                   config_.digest + "; nothing was pulled");
    }
    r.digest = *digest;
    if (trust_.hasKeys()) {
      auto signedBy = checkSignedDigest(r);
      if (!signedBy) return signedBy.error();
      r.signedBy = *signedBy;
    }
    // A fixed tag has no versions: its release is the digest behind it.
    if (!image_.followsVersions()) r.version = r.digest;
    resolved_ = r;
    return Offer{r.version, image_.followsVersions()};
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
    const Resolved& r = *resolved_;
    const std::string pull = image_.name() + "@" + r.digest;
    const std::string pinned = image_.name() + ":" + r.tag + "@" + r.digest;

    auto before = engine_.inspect(pull);
    if (!before) return before.error();
    bool pulledNow = false;
    if (!*before) {
      if (auto st = pullRecorded(pull); !st) return st.error();
      pulledNow = true;
    }
    // Trust, then verify: the engine must hold the image under exactly
    // the digest resolved at the registry.
    auto held = engine_.inspect(pull);
    Status carries = okStatus();
    if (!held) {
      carries = held.error();
    } else if (!*held || !carriesDigest(**held, r.digest)) {
      carries = Error(engine_.name() + " holds no image with digest " +
                      r.digest + " for '" + image_.name() + "' after the pull");
    }
    if (!carries) {
      if (pulledNow) (void)forget(pull);
      return carries.error();
    }

    std::string content =
        "# The image upgrade@ runs for this service, pinned by digest.\n"
        "# Written by upgrader; an upgrade replaces it as a whole.\n" +
        std::string(kVariable) + pinned + "\n";
    if (auto st = ensureDirectory(slot_.directory()); !st) {
      if (pulledNow) (void)forget(pull);
      return st.error();
    }
    // The unit runs what this file names: only root may be able to change
    // it, or the directory it is in.
    if (auto st = checkOnlyTrustedCanWrite(slot_.directory()); !st) {
      if (pulledNow) (void)forget(pull);
      return st.error().withContext("Refusing to pin an image in '" +
                                    slot_.directory() + "'");
    }
    if (auto st = writeFileAtomically(slot_.stagedPath(), content, 0644); !st) {
      if (pulledNow) (void)forget(pull);
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

  Status prepareSwap(const ReleaseRef& from) override {
    return slot_.prepareSwap(from);
  }
  Status swap(const ReleaseRef& from, const ReleaseRef& to) override {
    return slot_.swap(from, to);
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
  Status revert(const ReleaseRef& from, bool keepLeft) override {
    return slot_.revert(from, keepLeft);
  }

  // What staging `to` left (its staged file; its image if we pulled it,
  // it failed and nothing pins it), and every pull a killed run left. An
  // image that cannot be removed now (in use, the engine away) stays on
  // record for the next run; the first such error is reported.
  Status discard(const ReleaseRef& to, Discard what) override {
    if (what == Discard::kKeepRelease) {
      if (auto st = slot_.preserve(to); !st) return st;
    }
    if (auto st = slot_.removeLeftovers(); !st) return st;
    auto record = loadRecord(places_.pullRecord);
    if (!record) return record.error();
    const std::string failed = what == Discard::kRelease && !to.id.empty()
                                   ? pullReferenceOf(to.id)
                                   : "";
    const std::string kept = what == Discard::kKeepRelease && !to.id.empty()
                                 ? pullReferenceOf(to.id)
                                 : "";
    std::set<std::string> inUse = referencesInPlace();
    Status result = okStatus();
    bool changed = false;
    for (const auto& entry : std::vector<PullRecord::Entry>(record->entries)) {
      bool leftover = entry.state != "pulled" || entry.reference == failed;
      if (!leftover || entry.reference == kept) continue;
      if (inUse.count(entry.reference) != 0) {
        if (entry.state != "pulled") {
          record->find(entry.reference)->state = "pulled";
          changed = true;
        }
        continue;
      }
      if (auto st = engine_.remove(entry.reference); !st) {
        if (result) result = st;
        continue;
      }
      record->erase(entry.reference);
      changed = true;
    }
    if (changed) {
      if (auto st = saveRecord(places_.pullRecord, *record); !st) return st;
    }
    return result;
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
    auto record = loadRecord(places_.pullRecord);
    if (!record) return record.error();
    std::set<std::string> kept = {pullReferenceOf(installed.id),
                                  pullReferenceOf(previous.id)};
    // Committed: what is pinned now is no leftover any more.
    bool changed = false;
    for (auto& entry : record->entries) {
      if (kept.count(entry.reference) != 0 && entry.state != "pulled") {
        entry.state = "pulled";
        changed = true;
      }
    }
    std::vector<std::string> doomed;
    for (auto it = record->entries.rbegin(); it != record->entries.rend();
         ++it) {
      if (kept.count(it->reference) != 0 || it->state != "pulled") continue;
      if (kept.size() < config_.keepImages) {
        kept.insert(it->reference);
      } else {
        doomed.push_back(it->reference);
      }
    }
    Status result = okStatus();
    for (const auto& reference : doomed) {
      if (auto st = engine_.remove(reference); !st) {
        if (result)
          result = st;  // in use, say: kept on record, tried next time
        continue;
      }
      record->erase(reference);
      changed = true;
    }
    if (changed) {
      if (auto st = saveRecord(places_.pullRecord, *record); !st) return st;
    }
    return result;
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
  struct Resolved {
    std::string version;
    std::string tag;
    std::string digest;
    std::string signedBy;  ///< what vouches for the digest, if signed
  };

  // The registry says which manifest a tag names, but whoever controls the
  // registry (or the way to it) decides that answer. With keys, the digest
  // must also be the one the vendor's signed listing (DigestsURL=, in the
  // format of SHA256SUMS: "HEX  TAG") gives for the tag.
  Result<std::string> checkSignedDigest(const Resolved& r) {
    const std::string url = image_.followsVersions()
                                ? expandVersion(config_.digestsUrl, r.version)
                                : config_.digestsUrl;
    FetchOptions options;
    options.allowedSchemes = config_.allowedSchemes;
    options.caFile = config_.caFile;
    auto text = fetcher_.fetchText(url, options, kMaxChecksumsBytes);
    if (!text) return text.error();
    std::string signatureUrl = signatureUrlFor(
        url, image_.followsVersions()
                 ? expandVersion(config_.signatureUrl, r.version)
                 : config_.signatureUrl);
    auto verified = verifySignedListing(trust_, *text, url, signatureUrl,
                                        fetcher_, options, wallClockSeconds());
    if (!verified) return verified.error();
    auto entries = parseSha256Sums(*text, url);
    if (!entries) return entries.error();
    const ChecksumEntry* entry = findChecksum(*entries, r.tag);
    if (entry == nullptr) {
      return Error("tag '" + r.tag + "' of '" + image_.name() +
                   "' is not in the signed listing '" + url +
                   "'; nothing was pulled");
    }
    if ("sha256:" + entry->digest.hex() != r.digest) {
      return Error("digest mismatch for '" + image_.name() + ":" + r.tag +
                   "': the registry serves " + r.digest +
                   ", the signed listing '" + url + "' says sha256:" +
                   entry->digest.hex() + "; nothing was pulled");
    }
    return "digest listing " + *verified;
  }

  // The newest version among the registry's tags that fit the pattern.
  Result<std::string> newestVersion() {
    auto tags = registry_.listTags(image_);
    if (!tags) return tags.error();
    std::string newest;
    std::string tie;
    for (const auto& tag : *tags) {
      std::string version = image_.versionOfTag(tag);
      // Only release numbers: registries name pre-releases and variants
      // with '-' (1.8.0-beta.3, 1.27-alpine), which the version order
      // would rank above the release itself. Version= pins any tag.
      if (!isReleaseNumber(version)) continue;
      int order = newest.empty() ? 1 : compareVersions(version, newest);
      if (order > 0) {
        newest = version;
        tie.clear();
      } else if (order == 0 && version != newest) {
        tie = version;
      }
    }
    if (newest.empty()) {
      return Error("no tag of '" + image_.name() + "' matches '" + image_.tag +
                   "' with a release number (digits and dots) for @v");
    }
    // "1.2" and "1.02" are one version: which tag to run would depend on
    // the registry's order.
    if (!tie.empty()) {
      return Error("tags '" + image_.tagFor(newest) + "' and '" +
                   image_.tagFor(tie) + "' of '" + image_.name() +
                   "' are equally new");
    }
    return newest;
  }

  // Pulls `reference`, recorded first so that a run killed during the pull
  // leaves something the next run knows to remove.
  Status pullRecorded(const std::string& reference) {
    auto record = loadRecord(places_.pullRecord);
    if (!record) return record.error();
    if (record->find(reference) == nullptr) {
      record->entries.push_back({reference, "pulling"});
    } else {
      record->find(reference)->state = "pulling";
    }
    if (auto st = saveRecord(places_.pullRecord, *record); !st) return st;
    auto credentials =
        findCredentials(places_.authFiles, image_.registry, image_.repository);
    Status pulled = credentials
                        ? engine_.pull(reference, *credentials, image_.registry,
                                       config_.pullTimeout)
                        : Status(credentials.error());
    faultPoint("pulled");
    if (!pulled) {
      // Whatever the engine kept of a failed pull goes.
      (void)forget(reference);
      return pulled;
    }
    // Still "pulling": it becomes "pulled" only once a commit pins it, so
    // a run killed before that (in Preflight=, say) leaves it to be
    // removed.
    return okStatus();
  }

  // Removes an image this run pulled, and its record.
  Status forget(const std::string& reference) {
    if (auto st = engine_.remove(reference); !st) return st;
    auto record = loadRecord(places_.pullRecord);
    if (!record) return record.error();
    record->erase(reference);
    return saveRecord(places_.pullRecord, *record);
  }

  static bool carriesDigest(const LocalImage& image,
                            const std::string& digest) {
    return std::any_of(image.repoDigests.begin(), image.repoDigests.end(),
                       [&](const std::string& d) {
                         return d.size() > digest.size() &&
                                d.compare(d.size() - digest.size(),
                                          digest.size(), digest) == 0 &&
                                d[d.size() - digest.size() - 1] == '@';
                       });
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

  // The images the environment file and its rollback point name.
  std::set<std::string> referencesInPlace() const {
    std::set<std::string> in;
    for (const auto& path : {slot_.path(), slot_.oldPath()}) {
      if (auto pinned = readPinnedImage(path))
        in.insert(pullReferenceOf(*pinned));
    }
    return in;
  }

  std::shared_ptr<void> owned_;  // the clients, when this strategy owns them
  const ContainerConfig& config_;
  const TrustConfig& trust_;
  ImageName image_;
  Registry& registry_;
  ContainerEngine& engine_;
  Fetcher& fetcher_;
  ImagePlaces places_;
  FileSlot slot_;
  std::optional<Resolved> resolved_;
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
                                            ImagePlaces places,
                                            std::shared_ptr<void> owned) {
  auto image = parseImageName(plan.container.image);
  // The configuration was checked when it was loaded; a plan built by
  // hand with a bad image gets a strategy that can only say so.
  return std::make_unique<ImageStrategy>(plan, image ? *image : ImageName{},
                                         registry, engine, fetcher,
                                         std::move(places), std::move(owned));
}

namespace {

// The CA the engine itself trusts for `registry` (certs.d), if there is one.
std::string engineCaFor(const ContainerConfig& config,
                        const std::string& registry) {
  std::string dir = config.engine == ContainerConfig::Engine::kPodman
                        ? "/etc/containers/certs.d/"
                        : "/etc/docker/certs.d/";
  std::string ca = dir + registry + "/ca.crt";
  return pathExists(ca) ? ca : "";
}

// The real clients, owned by the strategy that uses them.
struct ImageClients {
  std::unique_ptr<HttpClient> http;
  std::unique_ptr<Registry> registry;
  std::unique_ptr<ContainerEngine> engine;
};

}  // namespace

std::unique_ptr<Strategy> makeContainerStrategy(const Plan& plan,
                                                StrategyDeps deps) {
  const ContainerConfig& config = plan.container;
  auto image = parseImageName(config.image);
  std::string registryHost = image ? image->registry : "";
  auto clients = std::make_shared<ImageClients>();
  clients->http = makeCurlHttpClient();
  RegistryAccess access;
  access.caFile = !config.caFile.empty() ? config.caFile
                                         : engineCaFor(config, registryHost);
  access.authFiles = authFilesFor(config);
  clients->registry = makeRegistryClient(*clients->http, access);
  clients->engine =
      makeEngineClient(*clients->http, deps.units, engineEndpointFor(config));
  ImagePlaces places;
  places.environmentFile = !config.environmentFile.empty()
                               ? config.environmentFile
                               : deps.stateDirectory + "/image.env";
  places.pullRecord = deps.stateDirectory + "/images.json";
  places.authFiles = access.authFiles;
  Registry& registry = *clients->registry;
  ContainerEngine& engine = *clients->engine;
  return makeImageStrategy(plan, registry, engine, deps.fetcher,
                           std::move(places), std::move(clients));
}

}  // namespace upgrader
