// Small HTTP exchanges with APIs: a container registry (tags, manifests,
// tokens) over HTTPS, a container engine over its unix socket. Every
// answer is bounded (headers, body, each streamed line, time); nothing is
// written to disk. Behind an interface so the registry and engine clients
// are unit-tested against scripted answers, and against the real registry
// and engines in the test bed.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"

namespace upgrader {

struct HttpRequest {
  std::string method = "GET";
  /// http(s)://host/path; with `unixSocket`, the host part is ignored.
  std::string url;
  /// "Name: value" lines.
  std::vector<std::string> headers;
  /// Basic credentials ("user", "password"), sent only to this request's
  /// host; empty user: none.
  std::string user;
  std::string password;
  /// Speak HTTP over this unix socket instead of TCP.
  std::string unixSocket;
  /// A CA bundle for https; "" for the system store.
  std::string caFile;
  Duration connectTimeout = std::chrono::seconds(10);
  /// The whole exchange, headers to last byte.
  Duration timeout = std::chrono::seconds(60);
  /// The most body bytes accepted (kept, or streamed through onLine).
  std::size_t maxBody = 4 * 1024 * 1024;
  /// When set, the body is handed over line by line as it arrives (an
  /// engine's pull progress) instead of being kept; an error from it ends
  /// the exchange with that error. Lines are at most 1 MiB.
  std::function<Status(std::string_view line)> onLine;
};

struct HttpResponse {
  long status = 0;
  /// Header names in lowercase; a repeated header keeps its last value.
  std::map<std::string, std::string> headers;
  std::string body;

  /// The header's value, "" if absent.
  std::string header(const std::string& lowercaseName) const;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  /// One exchange. Any HTTP status is a response; an error is a failure to
  /// exchange at all ("Failed to reach 'URL': Couldn't connect to server"),
  /// an oversized answer, or a timeout. Redirects are not followed.
  virtual Result<HttpResponse> send(const HttpRequest& request) = 0;
};

/// The real client, on libcurl. TLS peers are always verified.
std::unique_ptr<HttpClient> makeCurlHttpClient();

/// `text` in base64 with the URL-safe alphabet and '=' padding (what the
/// Docker Engine API wants in X-Registry-Auth).
std::string base64UrlEncode(std::string_view text);
/// `text` in standard base64 with padding.
std::string base64Encode(std::string_view text);
/// Decodes standard base64 (padding optional); error on any other byte.
Result<std::string> base64Decode(std::string_view text);

}  // namespace upgrader
