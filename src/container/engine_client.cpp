#include "container/engine_client.hpp"

#include <nlohmann/json.hpp>

namespace upgrader {

namespace {

using nlohmann::json;

// The API version both Docker 20.10 and Podman 4's compatible service
// speak.
constexpr const char* kApi = "http://localhost/v1.41";
constexpr std::size_t kMaxInspect = 4 * 1024 * 1024;
constexpr std::size_t kMaxPullStream = 64 * 1024 * 1024;
constexpr auto kSocketStartTimeout = std::chrono::seconds(30);
constexpr auto kRequestTimeout = std::chrono::seconds(60);

std::string percentEncode(std::string_view text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
                 c == '~';
    if (plain) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// A message from the engine, made safe to show: one line, bounded.
std::string clean(std::string text) {
  if (text.size() > 400) text = text.substr(0, 400) + "...";
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

// {"message": "..."} as both engines answer errors; else the status.
std::string engineMessage(const HttpResponse& r) {
  json j = json::parse(r.body, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("message") &&
      j["message"].is_string()) {
    return clean(j["message"].get<std::string>());
  }
  return "HTTP " + std::to_string(r.status);
}

class EngineClient final : public ContainerEngine {
 public:
  EngineClient(HttpClient& http, ServiceManager& units, EngineEndpoint endpoint)
      : http_(http), units_(units), endpoint_(std::move(endpoint)) {}

  std::string name() const override { return endpoint_.name; }

  Status pull(const std::string& reference,
              const std::optional<Credentials>& credentials,
              const std::string& registry, Duration timeout) override {
    const std::string what =
        endpoint_.name + " could not pull '" + reference + "'";
    HttpRequest request = apiRequest(
        "POST", "/images/create?fromImage=" + percentEncode(reference));
    request.timeout = timeout;
    request.maxBody = kMaxPullStream;
    if (credentials) {
      // The engine wants the credentials as base64url JSON with padding;
      // other encodings are refused or silently ignored.
      json auth = {{"username", credentials->username},
                   {"password", credentials->password},
                   {"serveraddress", registry}};
      request.headers.push_back("X-Registry-Auth: " +
                                base64UrlEncode(auth.dump()));
    }
    // Podman reports a failed pull only in the stream (HTTP 200, then an
    // "error" line); Docker mostly by status. Both are read.
    std::string streamError;
    std::string raw;  // the body of an error status: one JSON object
    request.onLine = [&](std::string_view line) -> Status {
      if (raw.size() < 64 * 1024) raw.append(line);
      if (line.empty()) return okStatus();
      json j = json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object()) return okStatus();
      if (j.contains("error") && j["error"].is_string() && streamError.empty()) {
        streamError = clean(j["error"].get<std::string>());
      }
      return okStatus();
    };
    auto response = send(request);
    if (!response) return response.error().withContext(what);
    if (response->status < 200 || response->status > 299) {
      HttpResponse withBody = *response;
      withBody.body = raw;
      return Error(what + ": " + engineMessage(withBody));
    }
    if (!streamError.empty()) return Error(what + ": " + streamError);
    return okStatus();
  }

  Result<std::optional<LocalImage>> inspect(const std::string& reference) override {
    HttpRequest request = apiRequest("GET", "/images/" + reference + "/json");
    request.maxBody = kMaxInspect;
    auto response = send(request);
    const std::string what =
        endpoint_.name + " could not inspect '" + reference + "'";
    if (!response) return response.error().withContext(what);
    if (response->status == 404) return std::optional<LocalImage>();
    if (response->status != 200) {
      return Error(what + ": " + engineMessage(*response));
    }
    json j = json::parse(response->body, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("Id") ||
        !j["Id"].is_string()) {
      return Error(what + ": the answer is not an image");
    }
    LocalImage image;
    image.id = j["Id"].get<std::string>();
    if (j.contains("RepoDigests") && j["RepoDigests"].is_array()) {
      for (const auto& d : j["RepoDigests"]) {
        if (d.is_string()) image.repoDigests.push_back(d.get<std::string>());
      }
    }
    return std::optional<LocalImage>(std::move(image));
  }

  Status remove(const std::string& reference) override {
    // Never ?force=true: Podman's force also removes the containers that
    // use the image, running or not.
    HttpRequest request = apiRequest("DELETE", "/images/" + reference);
    auto response = send(request);
    const std::string what =
        endpoint_.name + " could not remove '" + reference + "'";
    if (!response) return response.error().withContext(what);
    if (response->status == 404) return okStatus();
    if (response->status == 409) {
      return Error(what + ": it is in use (" + engineMessage(*response) + ")");
    }
    if (response->status < 200 || response->status > 299) {
      return Error(what + ": " + engineMessage(*response));
    }
    return okStatus();
  }

 private:
  HttpRequest apiRequest(const std::string& method, const std::string& path) const {
    HttpRequest request;
    request.method = method;
    request.url = std::string(kApi) + path;
    request.unixSocket = endpoint_.socket;
    request.timeout = kRequestTimeout;
    return request;
  }

  // Sends `request`; if nothing answers on the socket, starts the socket
  // unit once (Podman's service is socket-activated) and tries again.
  Result<HttpResponse> send(const HttpRequest& request) {
    auto response = http_.send(request);
    if (response || started_ || endpoint_.socketUnit.empty()) return response;
    started_ = true;
    if (auto st = units_.startUnit(endpoint_.socketUnit, kSocketStartTimeout); !st) {
      return response.error().withContext(
          "nothing answers, and starting '" + endpoint_.socketUnit.str() +
          "' failed (" + st.error().message() + ")");
    }
    return http_.send(request);
  }

  HttpClient& http_;
  ServiceManager& units_;
  EngineEndpoint endpoint_;
  bool started_ = false;
};

}  // namespace

EngineEndpoint engineEndpointFor(const ContainerConfig& config) {
  EngineEndpoint e;
  if (config.engine == ContainerConfig::Engine::kPodman) {
    e = {"podman", "/run/podman/podman.sock", UnitName("podman.socket")};
  } else {
    e = {"docker", "/run/docker.sock", UnitName("docker.socket")};
  }
  if (!config.socket.empty()) e.socket = config.socket;
  return e;
}

std::unique_ptr<ContainerEngine> makeEngineClient(HttpClient& http,
                                                  ServiceManager& units,
                                                  EngineEndpoint endpoint) {
  return std::make_unique<EngineClient>(http, units, std::move(endpoint));
}

}  // namespace upgrader
