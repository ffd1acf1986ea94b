// HttpUrl=: a GET that must answer ExpectStatus= and, with ExpectJson=, a
// JSON body holding the expected values.
#pragma once

#include <string>
#include <vector>

#include "fetch/http_client.hpp"
#include "health/probe.hpp"

namespace upgrader {

class HttpProbe final : public Probe {
 public:
  /// Checks `url` (http or https; TLS always verified against the system
  /// store, redirects not followed) for `expectStatus` and `expectJson`,
  /// through `http` (which must outlive the probe).
  HttpProbe(std::string url, int expectStatus,
            std::vector<HealthConfig::JsonExpectation> expectJson,
            HttpClient& http);

  /// "GET <url>".
  std::string name() const override;

  /// One request with `timeout` for all of it. Each expectation's dotted
  /// key path ("checks.db") must exist; a JSON string must equal the
  /// expected text, any other value its JSON text (`true`, `1`, `null`).
  Status check(Duration timeout) override;

 private:
  std::string url_;
  int expectStatus_;
  std::vector<HealthConfig::JsonExpectation> expectJson_;
  HttpClient& http_;
};

/// Checks `body` against `expectations` (see HttpProbe::check). The error
/// is the cause only: "'status' is \"starting\", expected \"ok\"".
Status matchJson(
    const std::string& body,
    const std::vector<HealthConfig::JsonExpectation>& expectations);

}  // namespace upgrader
