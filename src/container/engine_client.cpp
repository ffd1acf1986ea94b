#include "container/engine_client.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/json_text.hpp"
#include "common/shown_text.hpp"
#include "common/url.hpp"

namespace upgrader {

namespace {

using nlohmann::json;

// The API version both Docker 20.10 and Podman 4's compatible service
// speak.
constexpr const char* kApi = "http://localhost/v1.41";
constexpr std::size_t kMaxInspect = 4 * 1024 * 1024;
constexpr std::size_t kMaxList = 16 * 1024 * 1024;
constexpr std::size_t kMaxPullStream = 64 * 1024 * 1024;
constexpr auto kSocketStartTimeout = std::chrono::seconds(30);
constexpr auto kRequestTimeout = std::chrono::seconds(60);

// {"message": "..."} as both engines answer errors (quoted and escaped: it
// is the engine's text, relayed from a registry as often as not); else the
// status.
std::string engineMessage(const HttpResponse& r) {
  json j = json::parse(r.body, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("message") &&
      j["message"].is_string()) {
    return quoteValue(j["message"].get<std::string>());
  }
  return "HTTP " + std::to_string(r.status);
}

// Whether something accepts connections on the unix socket `path` now.
bool socketAnswers(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) return false;
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

class EngineClient final : public ContainerEngine {
 public:
  EngineClient(HttpClient& http, ServiceManager& units, EngineEndpoint endpoint)
      : http_(http), units_(units), endpoint_(std::move(endpoint)) {}

  std::string name() const override { return endpoint_.name; }

  // A connection to a socket-activated socket starts the service: started
  // now, Podman's service comes up while the registry is asked what to
  // pull, instead of after (it takes tens of milliseconds to start).
  void warmUp() override {
    sockaddr_un addr{};
    if (endpoint_.socket.size() >= sizeof addr.sun_path) return;
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return;
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s",
                  endpoint_.socket.c_str());
    (void)::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::close(fd);
  }

  Status pull(const std::string& reference,
              const std::optional<Credentials>& credentials,
              const std::string& registry, Duration timeout) override {
    const std::string what = failed("pull", reference);
    HttpRequest request = apiRequest(
        "POST", "/images/create?fromImage=" + percentEncode(reference));
    request.timeout = timeout;
    request.maxBody = kMaxPullStream;
    if (credentials) {
      // The engine wants the credentials as base64url JSON with padding;
      // other encodings are refused or silently ignored. (They are UTF-8:
      // findCredentials() refuses others.)
      json auth = {{"username", credentials->username},
                   {"password", credentials->password},
                   {"serveraddress", registry}};
      request.headers.push_back(
          "X-Registry-Auth: " +
          base64UrlEncode(
              auth.dump(-1, ' ', false, json::error_handler_t::replace)));
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
      if (j.contains("error") && j["error"].is_string() &&
          streamError.empty()) {
        streamError = quoteValue(j["error"].get<std::string>());
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

  Result<std::optional<LocalImage>> inspect(
      const std::string& reference) override {
    HttpRequest request = apiRequest("GET", "/images/" + reference + "/json");
    request.maxBody = kMaxInspect;
    auto response = send(request);
    const std::string what = failed("inspect", reference);
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
    const std::string what = failed("remove", reference);
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

  Result<std::vector<std::string>> runningContainersOf(
      const std::string& imageId) override {
    const std::string what = endpoint_.name +
                             " could not list its containers (" +
                             endpoint_.socket + ")";
    auto list = listContainers("", what);
    if (!list) return list.error();
    std::vector<std::string> ids;
    for (const auto& c : *list) {
      if (!c.is_object() || !c.contains("Id") || !c["Id"].is_string()) continue;
      bool same = c.contains("ImageID") && c["ImageID"].is_string() &&
                  c["ImageID"].get<std::string>() == imageId;
      if (same) ids.push_back(c["Id"].get<std::string>());
    }
    return ids;
  }

  // The list gives the labels, inspecting each the restart count (the
  // list has none). A project is a few containers.
  Result<std::vector<ProjectContainer>> projectContainers(
      const std::string& project) override {
    json filter = {
        {"label", json::array({"com.docker.compose.project=" + project})}};
    const std::string what = failed("list the containers of project", project);
    auto list = listContainers(
        "?all=1&filters=" + percentEncode(filter.dump()), what);
    if (!list) return list.error();
    const json& j = *list;
    auto label = [](const json& c, const char* key) -> std::string {
      if (!c.contains("Labels") || !c["Labels"].is_object()) return "";
      const json& labels = c["Labels"];
      if (!labels.contains(key) || !labels[key].is_string()) return "";
      return labels[key].get<std::string>();
    };
    std::vector<ProjectContainer> out;
    for (const auto& c : j) {
      if (!c.is_object() || !c.contains("Id") || !c["Id"].is_string()) continue;
      // Only the engine's own container IDs go into a path.
      std::string id = c["Id"].get<std::string>();
      if (id.empty() || id.size() > 128 ||
          id.find_first_not_of("0123456789abcdef") != std::string::npos) {
        return Error(what + ": a container ID is not hex");
      }
      // The filter is the engine's; the label is checked again here.
      if (label(c, "com.docker.compose.project") != project) continue;
      ProjectContainer pc;
      pc.id = id;
      pc.service = label(c, "com.docker.compose.service");
      pc.oneoff = label(c, "com.docker.compose.oneoff") == "True";
      HttpRequest inspect = apiRequest("GET", "/containers/" + id + "/json");
      inspect.maxBody = kMaxInspect;
      auto details = send(inspect);
      if (!details) return details.error().withContext(what);
      if (details->status == 404) continue;  // removed in between
      if (details->status != 200)
        return Error(what + ": " + engineMessage(*details));
      json d = json::parse(details->body, nullptr, false);
      if (d.is_discarded() || !d.is_object() || !d.contains("State") ||
          !d["State"].is_object()) {
        return Error(what + ": the answer for " + id.substr(0, 12) +
                     " is not a container");
      }
      const json& st = d["State"];
      // Docker says Running while a container waits to be restarted (and
      // counts the restart already): only running and not restarting is
      // up.
      auto flag = [&](const char* key) {
        return st.contains(key) && st[key].is_boolean() && st[key].get<bool>();
      };
      pc.running = flag("Running") && !flag("Restarting") && !flag("Paused");
      if (d.contains("RestartCount") && d["RestartCount"].is_number_unsigned()) {
        pc.restartCount = d["RestartCount"].get<unsigned>();
      }
      std::string status = st.contains("Status") && st["Status"].is_string()
                               ? st["Status"].get<std::string>()
                               : "unknown";
      if (!pc.running && st.contains("ExitCode") &&
          st["ExitCode"].is_number_integer()) {
        status += " (" + std::to_string(st["ExitCode"].get<long long>()) + ")";
      }
      pc.state = status.substr(0, 64);
      out.push_back(std::move(pc));
    }
    return out;
  }

  Status killContainer(const std::string& id, Duration timeout) override {
    const std::string what = failed("kill the container", id);
    // Only the engine's own container IDs go into the path.
    for (char c : id) {
      bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
      if (!hex) return Error(what + ": not a container ID");
    }
    auto killed = send(apiRequest("POST", "/containers/" + id + "/kill"));
    if (!killed) return killed.error().withContext(what);
    // 404: gone already; 409: not running any more.
    if (killed->status != 204 && killed->status != 200 &&
        killed->status != 404 && killed->status != 409) {
      return Error(what + ": " + engineMessage(*killed));
    }
    HttpRequest wait = apiRequest("POST", "/containers/" + id + "/wait");
    wait.timeout = timeout;
    // What a kill wants is a container that no longer runs. A wait that
    // fails does not say so either way: Podman answers 500 to a wait on a
    // container removed meanwhile (one run with --rm that ended), and may
    // under load for one that is still exiting. So the container itself
    // is asked (gone, or not running: done), and a wait tried again.
    constexpr int kWaits = 3;
    std::string why;
    for (int i = 0; i < kWaits; ++i) {
      auto waited = send(wait);
      if (waited && (waited->status == 200 || waited->status == 404)) {
        return okStatus();
      }
      why = waited ? engineMessage(*waited) : waited.error().message();
      auto inspected = send(apiRequest("GET", "/containers/" + id + "/json"));
      if (inspected && inspected->status == 404) return okStatus();
      if (inspected && inspected->status == 200 && !stillRunning(inspected->body)) {
        return okStatus();
      }
    }
    return Error(what + ": " + why);
  }

 private:
  // GET /containers/json with `query`: the list, or an error that starts
  // with `what`.
  Result<json> listContainers(const std::string& query,
                              const std::string& what) {
    HttpRequest request = apiRequest("GET", "/containers/json" + query);
    request.maxBody = kMaxList;
    auto response = send(request);
    if (!response) return response.error().withContext(what);
    if (response->status != 200)
      return Error(what + ": " + engineMessage(*response));
    json j = json::parse(response->body, nullptr, false);
    if (j.is_discarded() || !j.is_array()) {
      return Error(what + ": the answer is not a list");
    }
    return j;
  }

  // Whether an inspect answer says the container runs: State.Running, or
  // a state other than exited, stopped or dead where that field is missing. An
  // answer that cannot be read counts as running.
  static bool stillRunning(const std::string& body) {
    json j = json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("State") ||
        !j["State"].is_object()) {
      return true;
    }
    const json& state = j["State"];
    if (state.contains("Running") && state["Running"].is_boolean()) {
      return state["Running"].get<bool>();
    }
    if (state.contains("Status") && state["Status"].is_string()) {
      const auto status = state["Status"].get<std::string>();
      return status != "exited" && status != "stopped" && status != "dead";
    }
    return true;
  }

  std::string failed(const std::string& verb, const std::string& object) const {
    return endpoint_.name + " (" + endpoint_.socket + ") could not " + verb +
           " '" + object + "'";
  }

  HttpRequest apiRequest(const std::string& method,
                         const std::string& path) const {
    HttpRequest request;
    request.method = method;
    request.url = std::string(kApi) + path;
    request.unixSocket = endpoint_.socket;
    request.timeout = kRequestTimeout;
    return request;
  }

  // Sends `request`. If it fails because nothing accepts connections on the
  // socket (Podman's service is socket-activated, and its socket unit may
  // be stopped), starts the socket unit once and tries again; any other
  // failure (a timeout, a broken answer) is the answer.
  Result<HttpResponse> send(const HttpRequest& request) {
    auto response = http_.send(request);
    if (response || started_ || endpoint_.socketUnit.empty() ||
        socketAnswers(endpoint_.socket)) {
      return response;
    }
    started_ = true;
    if (auto st = units_.startUnit(endpoint_.socketUnit, kSocketStartTimeout);
        !st) {
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
