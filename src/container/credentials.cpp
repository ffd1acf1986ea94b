#include "container/credentials.hpp"

#include <nlohmann/json.hpp>

#include "common/file_util.hpp"
#include "common/url.hpp"
#include "fetch/http_client.hpp"

namespace upgrader {

namespace {

using nlohmann::json;

constexpr std::size_t kMaxAuthFile = 1024 * 1024;

// The names an entry for `repository` at `registry` may have, most
// specific first: Podman also keys entries by namespace or repository,
// engines write the bare host, Docker its Hub as the v1 index URL.
std::vector<std::string> keysFor(const std::string& registry,
                                 const std::string& repository) {
  std::vector<std::string> keys;
  for (std::string path = repository; !path.empty();) {
    keys.push_back(registry + "/" + path);
    auto slash = path.rfind('/');
    path = slash == std::string::npos ? "" : path.substr(0, slash);
  }
  keys.insert(keys.end(),
              {registry, "https://" + registry, "http://" + registry});
  if (registry == "docker.io") {
    keys.insert(keys.end(), {"https://index.docker.io/v1/", "index.docker.io",
                             "registry-1.docker.io"});
  }
  return keys;
}

Result<std::optional<Credentials>> credentialsIn(
    const std::string& file, const std::string& text,
    const std::string& registry, const std::string& repository) {
  auto bad = [&](const std::string& why) {
    return Error("cannot use the credentials in '" + file + "': " + why);
  };
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  auto auths = j.find("auths");
  if (auths == j.end()) return std::optional<Credentials>();
  if (!auths->is_object()) return bad("\"auths\" is not an object");
  for (const auto& key : keysFor(registry, repository)) {
    auto entry = auths->find(key);
    if (entry == auths->end()) continue;
    if (!entry->is_object())
      return bad("the entry for " + key + " is not an object");
    Credentials found;
    // Either the two fields or the encoded pair, as the engines write.
    if (entry->contains("username") && entry->contains("password") &&
        (*entry)["username"].is_string() && (*entry)["password"].is_string()) {
      found = {(*entry)["username"], (*entry)["password"]};
    } else {
      auto auth = entry->find("auth");
      if (auth == entry->end() || !auth->is_string()) continue;
      auto decoded = base64Decode(auth->get<std::string>());
      if (!decoded) return bad("the entry for " + key + " is not valid base64");
      auto colon = decoded->find(':');
      if (colon == std::string::npos) {
        return bad("the entry for " + key + " is not 'user:password'");
      }
      found = {decoded->substr(0, colon), decoded->substr(colon + 1)};
    }
    // They travel as JSON (X-Registry-Auth) and in headers: text only.
    auto isText = [](const std::string& s) {
      return isValidUtf8(s) &&
             s.find_first_of(std::string("\0\r\n", 3)) == std::string::npos;
    };
    if (!isText(found.username) || !isText(found.password)) {
      return bad("the entry for " + key + " holds bytes that are not text");
    }
    return std::optional<Credentials>(std::move(found));
  }
  return std::optional<Credentials>();
}

}  // namespace

std::vector<std::string> authFilesFor(const ContainerConfig& config) {
  if (!config.authFile.empty()) return {config.authFile};
  if (config.engine == ContainerConfig::Engine::kPodman) {
    return {"/run/containers/0/auth.json", "/root/.docker/config.json"};
  }
  return {"/root/.docker/config.json"};
}

Result<std::optional<Credentials>> findCredentials(
    const std::vector<std::string>& files, const std::string& registry,
    const std::string& repository) {
  for (const auto& file : files) {
    if (!pathExists(file)) continue;
    auto text = readFile(file, kMaxAuthFile);
    if (!text) {
      return text.error().withContext("cannot use the credentials in '" + file +
                                      "'");
    }
    auto found = credentialsIn(file, *text, registry, repository);
    if (!found || *found) return found;
  }
  return std::optional<Credentials>();
}

}  // namespace upgrader
