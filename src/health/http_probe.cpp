#include "health/http_probe.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "config/values.hpp"

// libcurl < 7.87 has no name for "abort the transfer" from a write callback;
// any value other than the byte count does it.
#ifndef CURL_WRITEFUNC_ERROR
#define CURL_WRITEFUNC_ERROR 0xFFFFFFFF
#endif

namespace upgrader {

namespace {

// A health document is small; anything bigger is not one, and must not
// fill memory.
constexpr std::size_t kMaxBody = 1024 * 1024;
// Longer values are cut in messages.
constexpr std::size_t kMaxShownValue = 200;

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
using CurlHandle = std::unique_ptr<CURL, CurlDeleter>;

struct Body {
  std::string text;
  bool tooLarge = false;
};

size_t onData(char* data, size_t size, size_t nmemb, void* user) {
  auto& body = *static_cast<Body*>(user);
  std::size_t n = size * nmemb;
  if (n > kMaxBody - std::min(kMaxBody, body.text.size())) {
    body.tooLarge = true;
    return CURL_WRITEFUNC_ERROR;
  }
  try {
    body.text.append(data, n);
  } catch (const std::exception&) {
    return CURL_WRITEFUNC_ERROR;  // must not throw through libcurl
  }
  return n;
}

CURLcode globalInit() {
  // Once per process (refcounted by libcurl, so sharing it with the
  // fetcher's own call is fine).
  static const CURLcode result = curl_global_init(CURL_GLOBAL_DEFAULT);
  return result;
}

std::string curlFailure(CURLcode rc, const char* errorBuffer) {
  std::string text = curl_easy_strerror(rc);
  if (errorBuffer[0] != '\0' && text != errorBuffer) {
    std::string detail = errorBuffer;
    while (!detail.empty() && detail.back() == '\n') detail.pop_back();
    text += " (" + detail + ")";
  }
  return text;
}

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
    nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
    if (doc.is_discarded()) {
      return Error("response body is not JSON: " + quoteValue(body));
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
                     std::vector<HealthConfig::JsonExpectation> expectJson)
    : url_(std::move(url)),
      expectStatus_(expectStatus),
      expectJson_(std::move(expectJson)) {}

std::string HttpProbe::name() const { return "GET " + url_; }

Status HttpProbe::check(Duration timeout) {
  const std::string context = name();
  if (CURLcode rc = globalInit(); rc != CURLE_OK) {
    return Error(std::string("libcurl failed to initialise: ") +
                 curl_easy_strerror(rc))
        .withContext(context);
  }
  CurlHandle curl(curl_easy_init());
  if (!curl)
    return Error("could not create a libcurl handle").withContext(context);

  char errorBuffer[CURL_ERROR_SIZE] = {};
  Body body;
  // libcurl reads 0 as "no timeout", so even a spent budget gets 1 ms.
  long timeoutMs = std::max<long>(
      1, static_cast<long>(
             std::chrono::ceil<std::chrono::milliseconds>(timeout).count()));
  CURLcode rc = CURLE_OK;
  auto set = [&](CURLoption option, auto value) {
    if (rc == CURLE_OK) rc = curl_easy_setopt(curl.get(), option, value);
  };
  set(CURLOPT_URL, url_.c_str());
  set(CURLOPT_ERRORBUFFER, errorBuffer);
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_PROTOCOLS_STR, "http,https");
  // A health endpoint answers for itself; a redirect is a wrong answer
  // (visible as its status), not something to chase.
  set(CURLOPT_FOLLOWLOCATION, 0L);
  // Verification stays on even for a local endpoint: HealthUrl= with https
  // means the administrator wants the certificate checked.
  set(CURLOPT_SSL_VERIFYPEER, 1L);
  set(CURLOPT_SSL_VERIFYHOST, 2L);
  set(CURLOPT_TIMEOUT_MS, timeoutMs);
  set(CURLOPT_CONNECTTIMEOUT_MS, timeoutMs);
  set(CURLOPT_WRITEFUNCTION, &onData);
  set(CURLOPT_WRITEDATA, static_cast<void*>(&body));
  set(CURLOPT_USERAGENT, "upgrader/" UPGRADER_VERSION " (health check)");
  if (rc != CURLE_OK) {
    return Error(std::string("libcurl refused a required option: ") +
                 curl_easy_strerror(rc))
        .withContext(context);
  }

  rc = curl_easy_perform(curl.get());
  if (body.tooLarge) {
    return Error("response body larger than " + std::to_string(kMaxBody) +
                 " bytes")
        .withContext(context);
  }
  if (rc != CURLE_OK) {
    return Error(curlFailure(rc, errorBuffer)).withContext(context);
  }
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  if (status != expectStatus_) {
    return Error("HTTP " + std::to_string(status) + ", expected " +
                 std::to_string(expectStatus_))
        .withContext(context);
  }
  if (Status s = matchJson(body.text, expectJson_); !s) {
    return s.error().withContext(context);
  }
  return okStatus();
}

}  // namespace upgrader
