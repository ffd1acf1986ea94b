// Fuzz entry for minisign keys and signatures (trust/minisign.hpp): both
// come from the release server or a configuration file. Any bytes at all
// must give a value or an Error, never a crash, a hang or an exception, and
// what parses must keep the header's promises (inputs over the size bounds
// refused, a trusted comment without NUL, CR or LF and within its bound, a
// timestamp that is a non-negative number the comment names). The whole
// input is parsed as a public key and as a signature file; split at its
// first two NUL bytes (KEY \0 SIGNATURE \0 MESSAGE), a key and a signature
// that both parse are verified over the message, so the checks run on
// parsed junk too: a signature verifies only by a trusted key, reports
// what it was made with, and trusting a key twice changes nothing.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "trust/minisign.hpp"

namespace {

using upgrader::fuzz::check;

void checkSignature(const upgrader::MinisignSignature& sig) {
  const std::string& comment = sig.trustedComment;
  check(comment.size() <= upgrader::kMinisignMaxTrustedCommentBytes,
        "a trusted comment is within its bound");
  check(
      comment.find_first_of(std::string_view("\0\r\n", 3)) == std::string::npos,
      "a trusted comment has no NUL, CR or LF");
  if (auto timestamp = upgrader::minisignTimestamp(comment)) {
    check(*timestamp >= 0, "a timestamp is not negative");
    check(comment.find("timestamp:") != std::string::npos,
          "a timestamp comes from a timestamp: field");
  }
}

void checkVerified(const upgrader::MinisignKey& key,
                   const upgrader::MinisignSignature& sig,
                   std::string_view message) {
  auto once = upgrader::verifyMinisign({key}, sig, message);
  if (once) {
    check(key.id == sig.keyId, "a signature verifies only by its key id");
    check(once->keyIdHex == key.idHex(), "the verified key id is the key's");
    check(once->prehashed == sig.prehashed, "the algorithm is the signature's");
    check(once->trustedComment == sig.trustedComment,
          "the trusted comment is the signed one");
    check(once->timestamp == upgrader::minisignTimestamp(sig.trustedComment),
          "the timestamp is the trusted comment's");
  }
  check(!upgrader::verifyMinisign({}, sig, message),
        "nothing verifies without a trusted key");
  std::vector<upgrader::MinisignKey> twice = {key, key};
  check(bool(upgrader::verifyMinisign(twice, sig, message)) == bool(once),
        "a key trusted twice verifies as once");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto wholeKey = upgrader::parseMinisignKey(input);
  check(!wholeKey || input.size() <= upgrader::kMinisignMaxKeyTextBytes,
        "a key text over its bound is refused");
  auto wholeSig = upgrader::parseMinisignSignature(input);
  check(!wholeSig || input.size() <= upgrader::kMinisignMaxSignatureBytes,
        "a signature over its bound is refused");
  if (wholeSig) checkSignature(*wholeSig);

  auto first = input.find('\0');
  if (first == std::string_view::npos) return 0;
  auto second = input.find('\0', first + 1);
  if (second == std::string_view::npos) return 0;
  auto key = upgrader::parseMinisignKey(input.substr(0, first));
  auto sig = upgrader::parseMinisignSignature(
      input.substr(first + 1, second - first - 1));
  if (!key || !sig) return 0;
  checkSignature(*sig);
  checkVerified(*key, *sig, input.substr(second + 1));
  return 0;  // libFuzzer reserves other values
}
