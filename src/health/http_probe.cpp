#include "health/http_probe.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/shown_text.hpp"

namespace upgrader {

namespace {

// A health document is small; anything bigger is not one, and must not
// fill memory.
constexpr std::size_t kMaxBody = 1024 * 1024;
// Longer values are cut in messages.
constexpr std::size_t kMaxShownValue = 200;
// Deeper than any health document (serde_json's default limit). Parsing
// does not recurse, but writing a value out to compare or show it does,
// once per level: a body of 100000 nested arrays, 200 KB, would overflow
// the stack and kill the upgrader in the middle of an upgrade.
constexpr int kMaxDepth = 128;

std::string shown(std::string text) {
  if (text.size() > kMaxShownValue) {
    text.resize(kMaxShownValue);
    text += "...";
  }
  return text;
}

// Follows "a.b.c" through nested objects; a numeric part also indexes an
// array ("items.0.state").
const nlohmann::json* lookUp(const nlohmann::json& root,
                             const std::string& keyPath) {
  const nlohmann::json* node = &root;
  std::size_t begin = 0;
  for (;;) {
    std::size_t end = keyPath.find('.', begin);
    std::string part = keyPath.substr(begin, end - begin);
    if (node->is_object()) {
      auto it = node->find(part);
      if (it == node->end()) return nullptr;
      node = &*it;
    } else if (node->is_array() && !part.empty() &&
               part.find_first_not_of("0123456789") == std::string::npos &&
               part.size() < 10) {
      std::size_t index = std::stoul(part);
      if (index >= node->size()) return nullptr;
      node = &(*node)[index];
    } else {
      return nullptr;
    }
    if (end == std::string::npos) return node;
    begin = end + 1;
  }
}

}  // namespace

Status matchJson(
    const std::string& body,
    const std::vector<HealthConfig::JsonExpectation>& expectations) {
  if (expectations.empty()) return okStatus();
  try {
    bool tooDeep = false;
    auto limitDepth = [&tooDeep](int depth, nlohmann::json::parse_event_t event,
                                 nlohmann::json& /*parsed*/) {
      if ((event == nlohmann::json::parse_event_t::object_start ||
           event == nlohmann::json::parse_event_t::array_start) &&
          depth >= kMaxDepth) {
        tooDeep = true;
        return false;  // not kept, so the deep part is never built either
      }
      return true;
    };
    nlohmann::json doc = nlohmann::json::parse(body, limitDepth, false);
    if (doc.is_discarded()) {
      return Error("response body is not JSON: " + quoteValue(body));
    }
    if (tooDeep) {
      return Error("the JSON body nests deeper than " +
                   std::to_string(kMaxDepth) + " levels");
    }
    for (const auto& expected : expectations) {
      const nlohmann::json* value = lookUp(doc, expected.keyPath);
      if (value == nullptr) {
        return Error("no key '" + expected.keyPath + "' in the JSON body");
      }
      // Compared as text because the configuration has only text: "ok"
      // matches the string ok, "true" the boolean, "1" the number.
      std::string actual =
          value->is_string()
              ? value->get<std::string>()
              : value->dump(-1, ' ', false,
                            nlohmann::json::error_handler_t::replace);
      if (actual != expected.value) {
        std::string shownActual = shown(value->dump(
            -1, ' ', false, nlohmann::json::error_handler_t::replace));
        return Error("'" + expected.keyPath + "' is " + shownActual +
                     ", expected \"" + expected.value + "\"");
      }
    }
    return okStatus();
  } catch (const std::exception& e) {
    return Error(std::string("cannot check the JSON body: ") + e.what());
  }
}

HttpProbe::HttpProbe(std::string url, int expectStatus,
                     std::vector<HealthConfig::JsonExpectation> expectJson,
                     HttpClient& http)
    : url_(std::move(url)),
      expectStatus_(expectStatus),
      expectJson_(std::move(expectJson)),
      http_(http) {}

std::string HttpProbe::name() const { return "GET " + url_; }

Status HttpProbe::check(Duration timeout) {
  const std::string context = name();
  HttpRequest request;
  request.url = url_;
  // A health endpoint answers for itself: a redirect is a wrong answer
  // (its status), never followed; https is always verified.
  request.timeout = timeout;
  request.connectTimeout = timeout;
  request.maxBody = kMaxBody;
  auto response = http_.send(request);
  if (!response) {
    // The name already says which URL.
    std::string message = response.error().message();
    for (const char* verb : {"Failed to reach '", "Failed to read '"}) {
      std::string prefix = verb + url_ + "': ";
      if (message.rfind(prefix, 0) == 0) message = message.substr(prefix.size());
    }
    return Error(message).withContext(context);
  }
  if (response->status != expectStatus_) {
    return Error("HTTP " + std::to_string(response->status) + ", expected " +
                 std::to_string(expectStatus_))
        .withContext(context);
  }
  if (Status s = matchJson(response->body, expectJson_); !s) {
    return s.error().withContext(context);
  }
  return okStatus();
}

}  // namespace upgrader
