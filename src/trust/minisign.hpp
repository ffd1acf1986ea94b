// minisign signatures (https://jedisct1.github.io/minisign/), checked with
// OpenSSL's Ed25519 and BLAKE2b-512: the public keys a vendor publishes, the
// .minisig files it signs its releases with, and the check that a file is
// what one of the trusted keys signed.
//
// The formats, as minisign 0.11 (Debian 12) writes them; every line ends
// in "\n" ("\r\n" is accepted), and base64 is the standard alphabet with
// '=' padding:
//   public key:  "untrusted comment: <anything>"
//                base64("Ed" || key id (8 bytes) || Ed25519 key (32 bytes))
//   signature:   "untrusted comment: <anything>"
//                base64(algorithm (2) || key id (8) || signature (64))
//                "trusted comment: <TEXT>"
//                base64(global signature (64))
// The algorithm is "Ed" (legacy: the signature is over the file itself) or
// "ED" (prehashed: over the file's BLAKE2b-512, the default of minisign
// 0.11). The global signature is over (signature || TEXT), so the trusted
// comment cannot be changed without the secret key; the untrusted comments
// can, and are ignored.
//
// Everything here is parsed as hostile input: sizes are bounded before
// anything is read, base64 is decoded strictly (no junk, no missing or
// extra padding, no stray bits), and every refusal says what is wrong.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace upgrader {

/// The largest public key text parsed (a comment line of at most
/// kMinisignMaxCommentLineBytes and a 56-character key line fit easily).
inline constexpr std::size_t kMinisignMaxKeyTextBytes = 2 * 1024;
/// The largest signature file parsed: the longest lines minisign 0.11
/// writes or reads take about 9.4 KiB.
inline constexpr std::size_t kMinisignMaxSignatureBytes = 16 * 1024;
/// The longest untrusted comment line, prefix included (minisign reads it
/// into a 1024-byte buffer).
inline constexpr std::size_t kMinisignMaxCommentLineBytes = 1024;
/// The longest trusted comment text (after "trusted comment: "): the most
/// minisign 0.11 verifies (it signs at most 4077 bytes: it formats each
/// line in a 4096-byte buffer).
inline constexpr std::size_t kMinisignMaxTrustedCommentBytes = 8173;
/// The largest file a legacy ("Ed") signature is checked over: Ed25519
/// needs the whole message at once, so it is held in memory.
inline constexpr std::uint64_t kMinisignMaxLegacyFileBytes =
    64ULL * 1024 * 1024;

/// The key id as minisign 0.11 prints it: the 8 bytes read as a
/// little-endian number, in upper-case hex without leading zeros
/// ("B37B93E792FC33D"), as in "untrusted comment: minisign public key
/// B37B93E792FC33D" and in its "Signature key id ... is ..." message.
/// (Later minisign versions pad it to 16 digits.)
std::string minisignKeyIdHex(const std::array<std::uint8_t, 8>& id);

/// A minisign (Ed25519) public key.
struct MinisignKey {
  std::array<std::uint8_t, 8> id{};
  std::array<std::uint8_t, 32> key{};

  /// minisignKeyIdHex(id).
  std::string idHex() const;
};

/// Parses a public key: the two-line file minisign -G writes, or the bare
/// base64 line alone (as `minisign -P` takes it, or inline in a
/// configuration file). A final "\n" or "\r\n" is accepted; the comment is
/// ignored. Errors say what is wrong: "not base64: '%' at column 12",
/// "decodes to 39 bytes; a minisign public key is 42 bytes (56 characters
/// of base64)", "algorithm 'XY' is not minisign's Ed25519 ('Ed')", ...
Result<MinisignKey> parseMinisignKey(std::string_view text);

/// A parsed .minisig file (not yet verified: nothing in it is trusted).
struct MinisignSignature {
  /// "ED": the signature is over the BLAKE2b-512 of the file; "Ed" (false):
  /// over the file itself.
  bool prehashed = false;
  std::array<std::uint8_t, 8> keyId{};
  std::array<std::uint8_t, 64> signature{};
  /// The text after "trusted comment: ", without the line end: no NUL, no
  /// carriage return, at most kMinisignMaxTrustedCommentBytes.
  std::string trustedComment;
  /// Ed25519 over (signature || trustedComment).
  std::array<std::uint8_t, 64> globalSignature{};
};

/// Parses a .minisig file of at most kMinisignMaxSignatureBytes: exactly
/// the four lines above (a final line end is accepted, nothing after it).
/// Errors name the line at fault: "line 2 (the signature): not base64 ...",
/// "truncated: 2 lines, a minisign signature has 4 ...".
Result<MinisignSignature> parseMinisignSignature(std::string_view text);

/// What a signature that verified says.
struct VerifiedSignature {
  /// The id of the trusted key that made it (minisignKeyIdHex).
  std::string keyIdHex;
  bool prehashed = false;
  /// The signed trusted comment, exactly as signed. It is the signer's
  /// text, not ours: show it through shownText().
  std::string trustedComment;
  /// From a "timestamp:N" field of the trusted comment (fields are
  /// separated by tabs, as minisign's default comment
  /// "timestamp:1700000000\tfile:app.tar.gz\thashed"); none if there is no
  /// such field, more than one, or N is not a decimal int64.
  std::optional<std::int64_t> timestamp;
};

/// The timestamp of a trusted comment, as in VerifiedSignature::timestamp.
std::optional<std::int64_t> minisignTimestamp(std::string_view trustedComment);

/// Checks that `sig` is a signature of `message` by one of `trusted`
/// (several keys: a key rotation). In this order, each failure an Error
/// saying which:
///   - the key id is one of the trusted keys' ("signed by key id X, which
///     is not a trusted key (trusted: A, B)");
///   - the global signature matches the trusted comment ("the trusted
///     comment's signature does not match ..."), by a trusted key with that
///     id (each is tried: an id is only a label the signer chose);
///   - the signature matches the message, over its BLAKE2b-512 when
///     prehashed ("the signature does not match ...").
Result<VerifiedSignature> verifyMinisign(
    const std::vector<MinisignKey>& trusted, const MinisignSignature& sig,
    std::string_view message);

/// The same over the regular file at `path` (opened as openRegularFile
/// does: a FIFO or device is refused at once). A prehashed signature is
/// checked while the file is read in chunks, whatever its size; a legacy
/// one needs the whole file in memory, so a file larger than
/// kMinisignMaxLegacyFileBytes is refused with an error telling the
/// publisher to sign in the prehashed form. Errors name the path.
Result<VerifiedSignature> verifyMinisignFile(
    const std::vector<MinisignKey>& trusted, const MinisignSignature& sig,
    const std::string& path);

/// The same over an open regular file, read from its start whatever the
/// descriptor's offset (pread; the offset is left alone). `name` is what
/// errors call the file. The caller keeps and closes `fd`.
Result<VerifiedSignature> verifyMinisignFd(
    const std::vector<MinisignKey>& trusted, const MinisignSignature& sig,
    int fd, const std::string& name);

}  // namespace upgrader
