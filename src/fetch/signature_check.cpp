#include "fetch/signature_check.hpp"

#include <ctime>
#include <limits>

#include "common/shown_text.hpp"
#include "trust/minisign.hpp"

namespace upgrader {

namespace {

std::string describe(const VerifiedSignature& v) {
  // The trusted comment is the signer's text: shown escaped and short.
  std::string comment = shownText(v.trustedComment);
  if (comment.size() > 200) comment = comment.substr(0, 200) + "...";
  return "signed by key " + v.keyIdHex + ", trusted comment '" + comment + "'";
}

// The signature file, fetched and parsed; errors say which URL.
Result<MinisignSignature> fetchSignature(const std::string& signatureUrl,
                                         Fetcher& fetcher,
                                         const FetchOptions& options) {
  auto text =
      fetcher.fetchText(signatureUrl, options, kMinisignMaxSignatureBytes);
  if (!text) return text.error();
  auto sig = parseMinisignSignature(*text);
  if (!sig) {
    return sig.error().withContext("'" + signatureUrl +
                                   "' is not a minisign signature");
  }
  return sig;
}

Error refusal(const std::string& url, const std::string& signatureUrl,
              const Error& why) {
  return why.withContext("Refusing '" + url + "': its signature '" +
                         signatureUrl + "' does not verify");
}

// An age as operators read it: seconds, or whole days once it is long.
std::string ageText(std::int64_t seconds) {
  constexpr std::int64_t kDay = 24 * 60 * 60;
  if (seconds >= 2 * kDay) return std::to_string(seconds / kDay) + " days";
  return std::to_string(seconds) + "s";
}

// a - b, saturated instead of wrapping (timestamps are the signer's).
std::int64_t saturatingSub(std::int64_t a, std::int64_t b) {
  std::int64_t out = 0;
  if (!__builtin_sub_overflow(a, b, &out)) return out;
  return b > 0 ? std::numeric_limits<std::int64_t>::min()
               : std::numeric_limits<std::int64_t>::max();
}

}  // namespace

std::string signatureUrlFor(const std::string& signedUrl,
                            const std::string& configured) {
  if (!configured.empty()) return configured;
  // A query or fragment stays after the name it qualifies.
  auto end = signedUrl.find_first_of("?#");
  if (end == std::string::npos) return signedUrl + ".minisig";
  return signedUrl.substr(0, end) + ".minisig" + signedUrl.substr(end);
}

Result<std::string> verifySignedListing(const TrustConfig& trust,
                                        std::string_view text,
                                        const std::string& url,
                                        const std::string& signatureUrl,
                                        Fetcher& fetcher,
                                        const FetchOptions& options,
                                        std::int64_t now) {
  auto sig = fetchSignature(signatureUrl, fetcher, options);
  if (!sig) return sig.error();
  auto verified = verifyMinisign(trust.keys, *sig, text);
  if (!verified) return refusal(url, signatureUrl, verified.error());
  if (trust.maxAge) {
    if (!verified->timestamp) {
      return Error("Refusing '" + url + "': MaxAge= is set but the trusted " +
                   "comment of '" + signatureUrl +
                   "' has no timestamp (minisign writes one as "
                   "'timestamp:SECONDS')");
    }
    // Saturated: a maximum age of centuries means "any age", never a
    // wrapped, negative one.
    auto maxAge =
        std::chrono::duration_cast<std::chrono::seconds>(*trust.maxAge).count();
    std::int64_t oldest = saturatingSub(now, maxAge);
    if (*verified->timestamp < oldest) {
      return Error("Refusing '" + url + "': it was signed " +
                   ageText(saturatingSub(now, *verified->timestamp)) +
                   " ago, longer than MaxAge= (" + ageText(maxAge) +
                   "); a listing that stopped changing may hide newer "
                   "releases (a freeze attack)");
    }
  }
  return describe(*verified);
}

Result<std::string> verifySignedFile(const TrustConfig& trust,
                                     const std::string& path,
                                     const std::string& url,
                                     const std::string& signatureUrl,
                                     Fetcher& fetcher,
                                     const FetchOptions& options) {
  auto sig = fetchSignature(signatureUrl, fetcher, options);
  if (!sig) return sig.error();
  auto verified = verifyMinisignFile(trust.keys, *sig, path);
  if (!verified) return refusal(url, signatureUrl, verified.error());
  return describe(*verified);
}

std::int64_t wallClockSeconds() {
  return static_cast<std::int64_t>(std::time(nullptr));
}

}  // namespace upgrader
