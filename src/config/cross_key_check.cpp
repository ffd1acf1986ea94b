#include "config/cross_key_check.hpp"

#include "common/image_reference.hpp"
#include "common/url.hpp"
#include "config/key_table.hpp"
#include "config/modes.hpp"
#include "config/values.hpp"

namespace upgrader {

namespace {

// The rules that span several keys, checked once every key is read.
class CrossKeyCheck {
 public:
  CrossKeyCheck(const std::string& fileName, const KeyLines& lines)
      : fileName_(fileName), lines_(lines) {}

  // The mode decides which keys mean something, so it comes first.
  Status run(const Plan& plan) const {
    if (!isSet("Install", "Mode")) {
      return required("Install", "Mode=",
                      "binary, symlink, container or compose");
    }
    if (auto st = checkKeysFitTheMode(plan.install.mode); !st) return st;
    if (auto st = checkPlaceholders(plan.install); !st) return st;
    if (plan.install.mode == InstallConfig::Mode::kContainer) {
      if (auto st = checkContainer(plan.container); !st) return st;
    } else if (plan.install.mode == InstallConfig::Mode::kCompose) {
      if (auto st = checkCompose(plan); !st) return st;
    } else {
      if (auto st = checkSource(plan.source); !st) return st;
      if (auto st = checkInstall(plan); !st) return st;
    }
    if (auto st = checkTrust(plan); !st) return st;
    if (plan.target.units.empty()) return required("Target", "Unit=");
    return checkHealth(plan.health);
  }

 private:
  bool isSet(std::string_view section, std::string_view key) const {
    return lines_.count({section, key}) > 0;
  }

  // "FILE:LINE: [Section] Key=: why", without ":LINE" if the key is unset.
  Error atKey(std::string_view section, std::string_view key,
              const std::string& why) const {
    auto it = lines_.find({section, key});
    std::string where = it == lines_.end()
                            ? fileName_
                            : fileName_ + ":" + std::to_string(it->second);
    return Error(where + ": [" + std::string(section) + "] " +
                 std::string(key) + "=: " + why);
  }

  Error required(std::string_view section, std::string_view keys,
                 const std::string& why = "") const {
    return Error(fileName_ + ": [" + std::string(section) + "] " +
                 std::string(keys) + " is required" +
                 (why.empty() ? "" : ": " + why));
  }

  Status checkSource(const SourceConfig& source) const {
    if (source.url.empty()) return required("Source", "URL=");
    for (std::string_view key : {"URL", "ChecksumsURL", "SignatureURL"}) {
      const std::string& url = key == "URL"            ? source.url
                               : key == "ChecksumsURL" ? source.checksumsUrl
                                                       : source.signatureUrl;
      if (auto st = checkScheme("Source", key, url, source.allowedSchemes);
          !st) {
        return st;
      }
    }
    if (!source.version && source.checksumsUrl.empty()) {
      return required("Source", "Version= or ChecksumsURL=",
                      "without a pinned version, versions are discovered "
                      "from the ChecksumsURL= listing");
    }
    if (!source.checksum && source.checksumsUrl.empty()) {
      return required("Source", "Checksum= or ChecksumsURL=",
                      "a release is verified before it is installed");
    }
    if (source.checksum && !source.version) {
      return atKey("Source", "Checksum",
                   "requires Version=: a pinned checksum fits only a pinned "
                   "version");
    }
    if (!source.version && contains(source.checksumsUrl, "@v")) {
      return atKey("Source", "ChecksumsURL",
                   "contains '@v' but Version= is not set: the listing "
                   "versions are discovered from cannot depend on the version");
    }
    // An explicit Pattern= always has "@v", so only the default can lack it.
    if (!source.version && !contains(source.pattern, "@v")) {
      return atKey("Source", "URL",
                   "file name " + quoteValue(source.pattern) +
                       " has no '@v' and Version= is not set; set Pattern= "
                       "to the release file names in ChecksumsURL=");
    }
    return okStatus();
  }

  // A key set in a file of a mode it means nothing in, named at its line.
  Status checkKeysFitTheMode(InstallConfig::Mode mode) const {
    for (const auto& [sectionKey, line] : lines_) {
      const KeySpec* spec = findKey(sectionKey.first, sectionKey.second);
      if (spec == nullptr || (spec->modes & modeBit(mode)) != 0) continue;
      return atKey(spec->section, spec->key,
                   "only valid with " + modesText(spec->modes) +
                       ", not with Mode=" + std::string(modeInfo(mode).name));
    }
    return okStatus();
  }

  // A placeholder of another mode would reach the shell as it is.
  Status checkPlaceholders(const InstallConfig& install) const {
    bool container = install.mode == InstallConfig::Mode::kContainer;
    if (container && contains(install.preflight, "@path")) {
      return atKey("Install", "Preflight",
                   "'@path' means nothing with Mode=container; the pulled "
                   "image is '@image'");
    }
    if (!container && contains(install.preflight, "@image")) {
      return atKey("Install", "Preflight",
                   "'@image' means something with Mode=container only; the "
                   "staged release is '@path'");
    }
    return okStatus();
  }

  // Plain http can be read and rewritten on the way, and a file URL reads
  // a local path as root: each is the administrator's explicit choice, per
  // section.
  Status checkScheme(std::string_view section, std::string_view key,
                     const std::string& url, const UrlSchemes& allowed) const {
    auto scheme = urlSchemeOf(url);
    if (url.empty() || !scheme || allowed.allows(*scheme)) return okStatus();
    return atKey(section, key,
                 std::string("uses ") + urlSchemeName(*scheme) +
                     ", which this source does not allow (AllowedSchemes=" +
                     allowed.names() + "); prefer https, or add " +
                     urlSchemeName(*scheme) + " to AllowedSchemes= in [" +
                     std::string(section) + "]");
  }

  // A release is verified by its vendor's signature, or the file says in
  // so many words that it is not.
  Status checkTrust(const Plan& plan) const {
    const TrustConfig& trust = plan.trust;
    bool container = plan.install.mode == InstallConfig::Mode::kContainer;
    if (!trust.hasKeys()) {
      if (!trust.allowUnsigned) {
        return required(
            "Trust", "TrustedKey= (or AllowUnsigned=yes)",
            "releases are verified by their vendor's minisign signature; "
            "name the public key, or opt out to rely on checksums from the "
            "same server alone (logged on every run)");
      }
      if (trust.maxAge) {
        return atKey("Trust", "MaxAge",
                     "needs TrustedKey=: only a signed timestamp can be "
                     "trusted");
      }
      for (auto [section, key] :
           {std::pair<std::string_view, std::string_view>{"Source",
                                                          "SignatureURL"},
            {"Container", "DigestsURL"},
            {"Container", "SignatureURL"}}) {
        if (isSet(section, key)) {
          return atKey(section, key,
                       "is only read to verify a signature: set [Trust] "
                       "TrustedKey=");
        }
      }
      return okStatus();
    }
    if (trust.allowUnsigned) {
      return atKey("Trust", "AllowUnsigned",
                   "contradicts TrustedKey=: with a key, every release is "
                   "verified by signature");
    }
    bool namedImage = container ||
                      (plan.install.mode == InstallConfig::Mode::kCompose &&
                       !plan.compose.perDirectory());
    if (namedImage && plan.container.digestsUrl.empty()) {
      return required("Container", "DigestsURL=",
                      "with [Trust] TrustedKey=, an image is verified "
                      "against a signed listing of its tag's digest");
    }
    return okStatus();
  }

  Status checkContainer(const ContainerConfig& container) const {
    if (!isSet("Container", "Engine")) {
      return required("Container", "Engine=",
                      "podman or docker, the engine the service's unit runs");
    }
    if (container.image.empty()) return required("Container", "Image=");
    auto image = parseImageName(container.image);
    if (!image) return atKey("Container", "Image", image.error().message());
    if (container.version && !image->followsVersions()) {
      return atKey("Container", "Version",
                   "requires '@v' in the tag of Image= (" + container.image +
                       "): the version names a tag");
    }
    if (container.version &&
        !isValidTag(image->tagFor(container.version->str()))) {
      return atKey("Container", "Version",
                   "'" + image->tagFor(container.version->str()) +
                       "' is not a valid tag");
    }
    if (!container.digest.empty() && image->followsVersions() &&
        !container.version) {
      return atKey("Container", "Digest",
                   "requires Version=: a pinned digest fits only a pinned "
                   "version or a fixed tag");
    }
    for (std::string_view key : {"DigestsURL", "SignatureURL"}) {
      const std::string& url = key == "DigestsURL" ? container.digestsUrl
                                                   : container.signatureUrl;
      if (auto st = checkScheme("Container", key, url,
                                container.allowedSchemes);
          !st) {
        return st;
      }
    }
    return okStatus();
  }

  // Two kinds of compose release, never both: a version variable in the
  // env file (the versions are the tags of one named image), or a project
  // directory per release (downloaded like Mode=symlink).
  Status checkCompose(const Plan& plan) const {
    const ComposeConfig& compose = plan.compose;
    if (compose.project.empty()) {
      return required("Compose", "Project=",
                      "the project name the unit passes to docker-compose -p");
    }
    if (!isSet("Container", "Engine")) {
      return required("Container", "Engine=",
                      "docker or podman, the engine docker-compose talks to");
    }
    if (plan.install.path.empty()) {
      return required("Install", "Path=",
                      compose.perDirectory()
                          ? "the `current` link to the release in service"
                          : "the env file that holds the version variable");
    }
    bool variable = isSet("Compose", "Variable");
    bool directory = isSet("Install", "ReleasesDirectory");
    if (variable == directory) {
      return Error(fileName_ +
                   ": Mode=compose needs exactly one of [Compose] Variable= "
                   "(a version variable in the env file at Path=) and "
                   "[Install] ReleasesDirectory= (a project directory per "
                   "release)");
    }
    if (variable) {
      if (compose.file.front() != '/') {
        return isSet("Compose", "File")
                   ? atKey("Compose", "File",
                           "must be absolute with Variable= (there is no "
                           "release directory)")
                   : required("Compose", "File=",
                              "the project's compose file, absolute");
      }
      for (const auto& [sectionKey, line] : lines_) {
        if (sectionKey.first == "Source") {
          return atKey("Source", sectionKey.second,
                       "means nothing with [Compose] Variable=: the versions "
                       "are the tags of [Container] Image=");
        }
      }
      if (auto st = checkContainer(plan.container); !st) return st;
      if (!parseImageName(plan.container.image)->followsVersions()) {
        return atKey("Container", "Image",
                     "needs '@v' in its tag with [Compose] Variable=: the "
                     "variable holds the version the tag is made of");
      }
      return okStatus();
    }
    if (compose.file.front() == '/') {
      return atKey("Compose", "File",
                   "must be a path inside the release directory with "
                   "ReleasesDirectory=");
    }
    for (std::string_view key : {"Image", "Version", "Digest", "DigestsURL",
                                 "SignatureURL", "AllowedSchemes"}) {
      if (isSet("Container", key)) {
        return atKey("Container", key,
                     "means nothing with a project directory per release: "
                     "its images are the ones its compose file names");
      }
    }
    if (auto st = checkSource(plan.source); !st) return st;
    if (!isArchiveRelease(plan.source)) {
      return atKey("Source", "URL",
                   "a compose project release is an archive of its "
                   "directory (by the URL's suffix, or Archive=tar/zip)");
    }
    return okStatus();
  }

  Status checkInstall(const Plan& plan) const {
    const auto& install = plan.install;
    if (install.path.empty()) return required("Install", "Path=");
    bool symlink = install.mode == InstallConfig::Mode::kSymlink;
    if (symlink && install.releasesDirectory.empty()) {
      return required("Install", "ReleasesDirectory=",
                      "Mode=symlink keeps each release in a directory there");
    }

    const auto& source = plan.source;
    bool archive = isArchiveRelease(source);
    bool autoArchive =
        archive && source.archive == SourceConfig::Archive::kAuto;
    if (!symlink && archive && source.member.empty()) {
      return required(
          "Source", "Member=",
          std::string("Mode=binary installs one file and the "
                      "release is an archive (") +
              (autoArchive ? "by the suffix of URL=)" : "Archive=)"));
    }
    if (!archive && !source.member.empty()) {
      return atKey("Source", "Member",
                   "the release is not an archive (URL= has no archive "
                   "suffix or Archive=none); set Archive=tar or Archive=zip");
    }
    return okStatus();
  }

  Status checkHealth(const HealthConfig& health) const {
    if (!health.httpUrls.empty()) return okStatus();
    if (!health.expectJson.empty()) {
      return atKey("Health", "ExpectJSON", "requires HTTP=");
    }
    if (isSet("Health", "ExpectStatus")) {
      return atKey("Health", "ExpectStatus", "requires HTTP=");
    }
    return okStatus();
  }

  const std::string& fileName_;
  const KeyLines& lines_;
};

}  // namespace

Status checkAcrossKeys(const Plan& plan, const std::string& fileName,
                       const KeyLines& lines) {
  return CrossKeyCheck(fileName, lines).run(plan);
}

}  // namespace upgrader
