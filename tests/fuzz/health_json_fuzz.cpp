// Fuzz entry for the HTTP probe's JSON body matching (matchJson in
// health/http_probe.hpp): the body comes from the service being upgraded,
// a new version nobody has vetted yet, so any bytes must give a pass or a
// failure with a reason, never a crash or an exception.
//
// Input: "KEY.PATH=VALUE" lines (ExpectJSON= as configured), an empty line,
// then the body. Without an empty line the whole input is the body, checked
// against status=ok (the usual expectation), so a plain JSON seed works.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "health/http_probe.hpp"

using Expectation = upgrader::HealthConfig::JsonExpectation;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<Expectation> expectations;
  std::string body;
  auto blank = input.find("\n\n");
  if (blank == std::string_view::npos) {
    expectations.push_back({"status", "ok"});
    body = input;
  } else {
    std::string_view head = input.substr(0, blank);
    body = input.substr(blank + 2);
    while (!head.empty()) {
      std::string_view line = upgrader::fuzz::takeField(head, '\n');
      auto eq = line.find('=');
      if (eq == std::string_view::npos) continue;
      expectations.push_back(
          {std::string(line.substr(0, eq)), std::string(line.substr(eq + 1))});
    }
  }
  upgrader::Status status = upgrader::matchJson(body, expectations);
  if (!status) {
    upgrader::fuzz::check(!status.error().message().empty(),
                          "a failed match says why");
  }
  return 0;  // libFuzzer reserves other values
}
