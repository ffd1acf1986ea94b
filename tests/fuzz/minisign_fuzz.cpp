// Fuzz entry for minisign keys and signatures: any bytes at all must give a
// value or an Error, never a crash, a hang or an exception. The whole input
// is parsed as a public key and as a signature file; split at its first two
// NUL bytes (KEY \0 SIGNATURE \0 MESSAGE), a key and a signature that both
// parse are verified over the message, so the checks run on parsed junk
// too. Built with clang and -fsanitize=fuzzer it is a libFuzzer target (see
// CONTRIBUTING.md, "Fuzzing"; add src/trust/minisign.cpp to the sources);
// the seeds are in corpus/minisign/.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "trust/minisign.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // Value or Error, both are fine; only a crash, hang or throw is a finding.
  (void)upgrader::parseMinisignKey(input);
  if (auto sig = upgrader::parseMinisignSignature(input)) {
    (void)upgrader::minisignTimestamp(sig->trustedComment);
  }

  auto first = input.find('\0');
  if (first == std::string_view::npos) return 0;
  auto second = input.find('\0', first + 1);
  if (second == std::string_view::npos) return 0;
  auto key = upgrader::parseMinisignKey(input.substr(0, first));
  auto sig = upgrader::parseMinisignSignature(
      input.substr(first + 1, second - first - 1));
  if (!key || !sig) return 0;
  std::string_view message = input.substr(second + 1);
  (void)upgrader::verifyMinisign({*key}, *sig, message);
  // No trusted key, and the same key twice (a rotation list).
  (void)upgrader::verifyMinisign({}, *sig, message);
  std::vector<upgrader::MinisignKey> twice = {*key, *key};
  (void)upgrader::verifyMinisign(twice, *sig, message);
  return 0;  // libFuzzer reserves other values
}
