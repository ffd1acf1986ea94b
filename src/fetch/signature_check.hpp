// Whether a release is what its vendor signed: the minisign signature of a
// SHA256SUMS listing, of a listing of image digests, or of the release file
// itself, fetched next to it and checked against the keys of [Trust].
// Nothing here changes anything on this machine.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "config/plan.hpp"
#include "fetch/fetcher.hpp"

namespace upgrader {

/// Where the signature of `signedUrl` is: `configured` (SignatureURL=,
/// "@v" already expanded) or else `signedUrl` + ".minisig", the name
/// minisign gives it.
std::string signatureUrlFor(const std::string& signedUrl,
                            const std::string& configured);

/// Checks that `text`, a listing fetched from `url`, is signed by a key of
/// `trust`, with the signature fetched from `signatureUrl`; with
/// trust.maxAge, also that its trusted timestamp is at most that old at
/// `now` (seconds since the epoch): a frozen or replayed listing is
/// refused. Returns what the journal says of it ("signed by key ABC,
/// trusted comment '...'"). Errors name both URLs and what failed. Must
/// only be called when trust.hasKeys().
Result<std::string> verifySignedListing(const TrustConfig& trust,
                                        std::string_view text,
                                        const std::string& url,
                                        const std::string& signatureUrl,
                                        Fetcher& fetcher,
                                        const FetchOptions& options,
                                        std::int64_t now);

/// The same for a downloaded release at `path`, fetched from `url` (no age
/// check: an old release is as good as the day it was signed; anti-rollback
/// is the state file's).
Result<std::string> verifySignedFile(const TrustConfig& trust,
                                     const std::string& path,
                                     const std::string& url,
                                     const std::string& signatureUrl,
                                     Fetcher& fetcher,
                                     const FetchOptions& options);

/// Seconds since the epoch, now (the clock MaxAge= is measured with).
std::int64_t wallClockSeconds();

}  // namespace upgrader
