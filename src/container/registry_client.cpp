#include "container/registry_client.hpp"

#include <nlohmann/json.hpp>

#include "common/clock.hpp"
#include "common/duration_text.hpp"
#include "common/file_util.hpp"
#include "common/shown_text.hpp"
#include "common/url.hpp"
#include "fetch/sha256.hpp"

namespace upgrader {

namespace {

using nlohmann::json;

constexpr std::size_t kMaxManifest = 4 * 1024 * 1024;
constexpr std::size_t kMaxTagPage = 4 * 1024 * 1024;
constexpr std::size_t kMaxToken = 64 * 1024;
constexpr std::size_t kMaxTags = 10000;
constexpr int kMaxPages = 100;

// Every manifest kind a registry may hold for a tag. Without the OCI types
// an OCI image is "not found"; without the Docker v2 type a registry may
// convert the manifest to schema 1, whose digest is not the image's.
constexpr const char* kAcceptManifests =
    "Accept: application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.oci.image.manifest.v1+json";

// What a registry's error body says, if it is the distribution format
// {"errors":[{"code":..., "message":...}]}: quoted, bounded, escaped.
std::string registryMessage(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("errors") ||
      !j["errors"].is_array() || j["errors"].empty()) {
    return "";
  }
  const json& first = j["errors"][0];
  if (first.is_object() && first.contains("message") &&
      first["message"].is_string()) {
    return quoteValue(first["message"].get<std::string>());
  }
  return "";
}

class RegistryClient final : public Registry {
 public:
  Result<Duration> timeLeft() override {
    if (access_.deadline == SteadyTime::max()) return Duration::max();
    Clock& clock = access_.clock != nullptr ? *access_.clock : systemClock();
    const SteadyTime now = clock.now();
    if (now >= access_.deadline) {
      return Error("gave up on the registry: " + access_.deadlineName +
                   " has passed for this run (a registry that answers too "
                   "slowly); nothing was pulled or changed");
    }
    // At least a millisecond: a zero timeout means none to curl.
    return std::max<Duration>(
        std::chrono::duration_cast<Duration>(access_.deadline - now),
        std::chrono::milliseconds(1));
  }

  RegistryClient(HttpClient& http, RegistryAccess access)
      : http_(http), access_(std::move(access)) {}

  Result<std::vector<std::string>> listTags(const ImageName& image) override {
    const std::string repo = describe(image);
    std::string base = "https://" + image.apiHost();
    std::string url = base + "/v2/" + image.repository + "/tags/list?n=1000";
    std::vector<std::string> tags;
    for (int page = 0; page < kMaxPages && !url.empty(); ++page) {
      auto response = get(image, url, {}, kMaxTagPage);
      if (!response) return response.error();
      if (response->status == 404) {
        return Error("no repository '" + repo + "'" + detail(*response));
      }
      if (response->status != 200)
        return unexpected(*response, "tags of '" + repo + "'");
      json j = json::parse(response->body, nullptr, false);
      if (j.is_discarded() || !j.is_object()) {
        return Error("the tag list of '" + repo + "' is not JSON");
      }
      if (j.contains("tags") && !j["tags"].is_null()) {
        if (!j["tags"].is_array()) {
          return Error("the tag list of '" + repo + "' has no list of tags");
        }
        for (const auto& t : j["tags"]) {
          // A name that is not a tag cannot be pulled; it is not offered.
          if (!t.is_string() || !isValidTag(t.get<std::string>())) continue;
          tags.push_back(t.get<std::string>());
          if (tags.size() > kMaxTags) {
            return Error("'" + repo + "' has more than " +
                         std::to_string(kMaxTags) + " tags");
          }
        }
      }
      std::string next = nextLink(response->header("link"));
      if (next.empty()) return tags;
      // Only pages of the same registry: a Link elsewhere would carry our
      // token there.
      if (next.front() == '/') {
        url = base + next;
      } else if (next.rfind(base + "/", 0) == 0) {
        url = next;
      } else {
        return Error("the tag list of '" + repo +
                     "' points to another host for its next page");
      }
    }
    return Error("the tag list of '" + repo + "' has more than " +
                 std::to_string(kMaxPages) + " pages");
  }

  Result<std::string> manifestDigest(const ImageName& image,
                                     const std::string& tag) override {
    const std::string repo = describe(image);
    if (!isValidTag(tag)) return Error("invalid tag " + quoteValue(tag));
    std::string url = "https://" + image.apiHost() + "/v2/" + image.repository +
                      "/manifests/" + tag;
    // HEAD first: it tells the digest without counting as a pull (Docker
    // Hub limits pulls). The digest is what the engine pulls by and
    // verifies the manifest against, so a registry gains nothing by lying
    // in the header: it could serve any content for the tag anyway.
    auto head = get(image, url, {kAcceptManifests}, kMaxManifest, "HEAD");
    if (!head) return head.error();
    if (head->status == 404) {
      return Error("no tag '" + tag + "' in '" + repo + "'");
    }
    std::string claimed = head->header("docker-content-digest");
    if (head->status == 200 && isValidImageDigest(claimed)) return claimed;
    // No usable header: the digest of the manifest as served.
    auto response = get(image, url, {kAcceptManifests}, kMaxManifest, "GET");
    if (!response) return response.error();
    if (response->status == 404) {
      return Error("no tag '" + tag + "' in '" + repo + "'" +
                   detail(*response));
    }
    if (response->status != 200) {
      return unexpected(*response,
                        "the manifest of '" + repo + ":" + tag + "'");
    }
    Sha256 hash;
    hash.update(response->body.data(), response->body.size());
    std::string digest = "sha256:" + hash.finish().hex();
    claimed = response->header("docker-content-digest");
    if (!claimed.empty() && claimed != digest) {
      return Error("'" + repo + ":" + tag + "': the registry says digest " +
                   quoteValue(claimed) + " but served a manifest of digest " +
                   digest);
    }
    return digest;
  }

 private:
  std::string describe(const ImageName& image) const { return image.name(); }

  static std::string detail(const HttpResponse& r) {
    std::string m = registryMessage(r.body);
    return m.empty() ? "" : " (" + m + ")";
  }

  std::string credentialsNote() const {
    if (credentials_ && *credentials_) return " (credentials were sent)";
    std::string files;
    for (const auto& f : access_.authFiles)
      files += (files.empty() ? "" : ", ") + f;
    return " (no credentials for it in " +
           (files.empty() ? "any auth file" : files) + ")";
  }

  // The credentials for the registry, read once, when it first asks.
  Result<std::optional<Credentials>> credentials(const ImageName& image) {
    if (!credentials_) {
      auto found =
          findCredentials(access_.authFiles, image.registry, image.repository);
      if (!found) return found.error();
      credentials_ = *found;
    }
    return *credentials_;
  }

  Error unexpected(const HttpResponse& r, const std::string& what) const {
    if (r.status == 401 || r.status == 403) {
      return Error("the registry refused access to " + what + ": HTTP " +
                   std::to_string(r.status) + detail(r) + credentialsNote());
    }
    return Error("the registry answered HTTP " + std::to_string(r.status) +
                 " for " + what + detail(r));
  }

  // A GET with the authorization this registry asked for: the first 401
  // tells which (a bearer token from its realm, or basic credentials), and
  // the request is made once more with it.
  Result<HttpResponse> get(const ImageName& image, const std::string& url,
                           std::vector<std::string> headers,
                           std::size_t maxBody, const char* method = "GET") {
    for (int attempt = 0; attempt < 2; ++attempt) {
      HttpRequest request;
      request.method = method;
      request.url = url;
      request.headers = headers;
      request.caFile = access_.caFile;
      auto timeout = requestTimeout();
      if (!timeout) return timeout.error();
      request.timeout = *timeout;
      request.maxBody = maxBody;
      if (!token_.empty()) {
        request.headers.push_back("Authorization: Bearer " + token_);
      } else if (basic_ && credentials_ && *credentials_) {
        request.user = (*credentials_)->username;
        request.password = (*credentials_)->password;
      }
      auto response = sendWithin(request);
      if (!response || response->status != 401 || attempt > 0) return response;
      auto challenge = parseAuthChallenge(response->header("www-authenticate"));
      if (!challenge) return response;  // reported as a plain 401
      if (challenge->scheme == "basic") {
        auto found = credentials(image);
        if (!found) return found.error();
        if (!*found || basic_) return response;
        basic_ = true;
      } else if (challenge->scheme == "bearer") {
        auto token = fetchToken(image, *challenge);
        if (!token) return token.error();
        token_ = *token;
      } else {
        return response;
      }
    }
    return Error("unreachable");
  }

  Result<std::string> fetchToken(const ImageName& image,
                                 const AuthChallenge& challenge) {
    auto realm = challenge.params.find("realm");
    if (realm == challenge.params.end() || realm->second.empty()) {
      return Error("the registry '" + image.registry +
                   "' asks for a token but names no realm");
    }
    // Credentials go to the realm; over plain HTTP anyone could read them.
    if (asciiLowercase(realm->second).rfind("https://", 0) != 0) {
      return Error("the registry '" + image.registry +
                   "' asks for a token from a realm that is not https: " +
                   quoteValue(realm->second));
    }
    std::string url = realm->second;
    char separator = url.find('?') == std::string::npos ? '?' : '&';
    if (auto it = challenge.params.find("service");
        it != challenge.params.end()) {
      url += separator + std::string("service=") + percentEncode(it->second);
      separator = '&';
    }
    // Our own scope: the repository, to pull. A challenge that asks for
    // more is not what we need.
    url += separator + std::string("scope=") +
           percentEncode("repository:" + image.repository + ":pull");
    auto found = credentials(image);
    if (!found) return found.error();
    HttpRequest request;
    request.url = url;
    request.caFile = access_.caFile;
    auto timeout = requestTimeout();
    if (!timeout) return timeout.error();
    request.timeout = *timeout;
    request.maxBody = kMaxToken;
    if (*found) {
      request.user = (*found)->username;
      request.password = (*found)->password;
    }
    auto response = sendWithin(request);
    if (!response) return response.error();
    if (response->status != 200) {
      return Error("the token service " + quoteValue(realm->second) + " of '" +
                   image.registry + "' answered HTTP " +
                   std::to_string(response->status) + credentialsNote());
    }
    json j = json::parse(response->body, nullptr, false);
    for (const char* key : {"token", "access_token"}) {
      if (!j.is_discarded() && j.is_object() && j.contains(key) &&
          j[key].is_string() && !j[key].get<std::string>().empty()) {
        std::string token = j[key];
        // It goes into a header line: nothing that could end one.
        for (char c : token) {
          if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f) {
            return Error("the token service of '" + image.registry +
                         "' answered a token with control characters");
          }
        }
        return token;
      }
    }
    return Error("the token service of '" + image.registry +
                 "' answered no token");
  }

  // Sends a request whose timeout requestTimeout() set: one that fails
  // because the run's deadline came is reported as that.
  Result<HttpResponse> sendWithin(const HttpRequest& request) {
    auto response = http_.send(request);
    if (!response && request.timeout < access_.timeout) {
      if (auto left = timeLeft(); !left) {
        return Error(left.error().message() + " (the last request: " +
                     response.error().message() + ")");
      }
    }
    return response;
  }

  // The timeout of the next request: the per-request one, cut to what is
  // left of the run's deadline.
  Result<Duration> requestTimeout() {
    auto left = timeLeft();
    if (!left) return left.error();
    return std::min(access_.timeout, *left);
  }

  HttpClient& http_;
  RegistryAccess access_;
  std::optional<std::optional<Credentials>> credentials_;  // once read
  std::string token_;
  bool basic_ = false;
};

}  // namespace

std::unique_ptr<Registry> makeRegistryClient(HttpClient& http,
                                             RegistryAccess access) {
  return std::make_unique<RegistryClient>(http, std::move(access));
}

Result<AuthChallenge> parseAuthChallenge(std::string_view header) {
  auto space = header.find(' ');
  if (header.empty()) return Error("no challenge");
  AuthChallenge c;
  c.scheme = asciiLowercase(header.substr(0, space));
  if (space == std::string_view::npos) return c;
  std::string_view rest = header.substr(space + 1);
  while (!rest.empty()) {
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == ',')) {
      rest.remove_prefix(1);
    }
    auto eq = rest.find('=');
    if (eq == std::string_view::npos) break;
    std::string key = asciiLowercase(rest.substr(0, eq));
    rest.remove_prefix(eq + 1);
    std::string value;
    if (!rest.empty() && rest.front() == '"') {
      rest.remove_prefix(1);
      std::size_t i = 0;
      for (; i < rest.size() && rest[i] != '"'; ++i) {
        if (rest[i] == '\\' && i + 1 < rest.size()) ++i;
        value += rest[i];
      }
      if (i >= rest.size()) return Error("unterminated quoted value");
      rest.remove_prefix(i + 1);
    } else {
      auto comma = rest.find(',');
      value = std::string(rest.substr(0, comma));
      rest.remove_prefix(comma == std::string_view::npos ? rest.size() : comma);
    }
    c.params[key] = value;
  }
  return c;
}

std::string nextLink(std::string_view header) {
  // <url>; rel="next" (possibly among other links, comma separated).
  while (!header.empty()) {
    auto open = header.find('<');
    auto close = header.find('>', open);
    if (open == std::string_view::npos || close == std::string_view::npos)
      return "";
    std::string_view target = header.substr(open + 1, close - open - 1);
    header.remove_prefix(close + 1);
    auto end = header.find('<');
    std::string params = asciiLowercase(header.substr(0, end));
    if (params.find("rel=\"next\"") != std::string::npos ||
        params.find("rel=next") != std::string::npos) {
      return std::string(target);
    }
  }
  return "";
}

RegistryAccess registryAccessFor(const ContainerConfig& config,
                                 const std::string& registry, Clock& clock) {
  RegistryAccess access;
  access.caFile = config.caFile;
  if (access.caFile.empty()) {
    // The CA the engine itself trusts for the registry (certs.d).
    std::string dir = config.engine == ContainerConfig::Engine::kPodman
                          ? "/etc/containers/certs.d/"
                          : "/etc/docker/certs.d/";
    std::string ca = dir + registry + "/ca.crt";
    if (pathExists(ca)) access.caFile = ca;
  }
  access.authFiles = authFilesFor(config);
  // From now, when the run's clients are made: resolving, listing and
  // pulling all end within RegistryTimeoutSec=.
  access.clock = &clock;
  access.deadline = saturatingAdd(clock.now(), config.registryTimeout);
  access.deadlineName =
      "RegistryTimeoutSec=" + durationText(config.registryTimeout);
  return access;
}

}  // namespace upgrader
