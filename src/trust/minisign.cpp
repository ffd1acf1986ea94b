#include "trust/minisign.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>

#include "common/file_util.hpp"
#include "common/shown_text.hpp"

namespace upgrader {

namespace {

constexpr std::string_view kUntrustedPrefix = "untrusted comment: ";
constexpr std::string_view kTrustedPrefix = "trusted comment: ";
constexpr std::string_view kTimestampField = "timestamp:";
constexpr std::size_t kKeyBytes = 2 + 8 + 32;
constexpr std::size_t kSignatureBytes = 2 + 8 + 64;
constexpr std::size_t kGlobalSignatureBytes = 64;
constexpr std::size_t kBlake2b512Bytes = 64;
// Prehashed files are read in chunks this large: few syscalls for
// release-sized files, little memory.
constexpr std::size_t kReadChunkBytes = 128 * 1024;

std::string withUnit(std::size_t n, std::string_view unit) {
  return std::to_string(n) + " " + std::string(unit) + (n == 1 ? "" : "s");
}

// Bytes that may be anything (an algorithm tag from a hostile file) as
// "'Ed'" when printable, else as hex: "0x00ff".
std::string describeBytes(std::string_view bytes) {
  bool printable = std::all_of(bytes.begin(), bytes.end(),
                               [](char c) { return c >= 0x21 && c <= 0x7e; });
  if (printable) return "'" + std::string(bytes) + "'";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "0x";
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 0xf];
  }
  return out;
}

// One character for a message: itself when printable, else "byte 0xNN".
std::string describeChar(char c) {
  if (c >= 0x21 && c <= 0x7e) return "'" + std::string(1, c) + "'";
  if (c == ' ') return "a space";
  if (c == '\t') return "a tab";
  return "byte " + describeBytes(std::string_view(&c, 1));
}

// -1 for a character outside the standard base64 alphabet.
int base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Decodes standard base64 with its '=' padding, strictly: a length that is
// a multiple of 4, only alphabet characters before the padding, at most two
// '=' and only at the end, zero bits where the padding leaves some over
// (so one text has one meaning). Exactly `expected` bytes, or an error
// saying what `what` got instead.
Result<std::vector<std::uint8_t>> decodeBase64(std::string_view text,
                                               std::size_t expected,
                                               std::string_view what) {
  std::string expectation =
      "; " + std::string(what) + " is " + withUnit(expected, "byte") + " (" +
      withUnit((expected + 2) / 3 * 4, "character") + " of base64)";
  if (text.empty()) return Error("empty" + expectation);
  std::size_t padding = 0;
  while (padding < 2 && padding < text.size() &&
         text[text.size() - 1 - padding] == '=') {
    ++padding;
  }
  std::size_t dataChars = text.size() - padding;
  for (std::size_t i = 0; i < dataChars; ++i) {
    if (base64Value(text[i]) < 0) {
      std::string where = " at column " + std::to_string(i + 1);
      if (text[i] == '=') {
        return Error("not base64: padding '='" + where + " before the end");
      }
      return Error("not base64: " + describeChar(text[i]) + where);
    }
  }
  if (text.size() % 4 != 0) {
    return Error("not base64: " + withUnit(text.size(), "character") +
                 ", not a multiple of 4 (truncated or damaged?)" + expectation);
  }
  // Padding completes the last group of 4: "xx==" or "xxx=", never "x===".
  if (dataChars % 4 == 1) {
    return Error("not base64: too much '=' padding at the end");
  }
  std::vector<std::uint8_t> out;
  out.reserve(dataChars * 3 / 4);
  std::uint32_t bits = 0;
  int bitCount = 0;
  for (std::size_t i = 0; i < dataChars; ++i) {
    bits = (bits << 6) | static_cast<std::uint32_t>(base64Value(text[i]));
    bitCount += 6;
    if (bitCount >= 8) {
      bitCount -= 8;
      out.push_back(static_cast<std::uint8_t>(bits >> bitCount));
      bits &= (1u << bitCount) - 1;
    }
  }
  if (bits != 0) {
    return Error("not base64: the last character before the '=' padding " +
                 describeChar(text[dataChars - 1]) +
                 " has bits set that encode nothing (damaged?)");
  }
  if (out.size() != expected) {
    return Error("decodes to " + withUnit(out.size(), "byte") + expectation);
  }
  return out;
}

// The lines of `text`, each without its "\n" or "\r\n"; a final line end
// ends the last line, it does not start an empty one. A carriage return
// anywhere else is refused: minisign would cut the line there, so the two
// would not read the same text. Stops after `maxLines` + 1 lines.
Result<std::vector<std::string_view>> splitLines(std::string_view text,
                                                 std::size_t maxLines) {
  std::vector<std::string_view> lines;
  while (!text.empty() && lines.size() <= maxLines) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (auto cr = line.find('\r'); cr != std::string_view::npos) {
      return Error("line " + std::to_string(lines.size() + 1) +
                   ": a carriage return inside the line (column " +
                   std::to_string(cr + 1) + ")");
    }
    lines.push_back(line);
  }
  return lines;
}

Status checkCommentLine(std::string_view line, std::size_t lineNo) {
  std::string where = "line " + std::to_string(lineNo) + " (the comment)";
  if (line.size() > kMinisignMaxCommentLineBytes) {
    return Error(
        where + ": " + withUnit(line.size(), "byte") + ", longer than the " +
        std::to_string(kMinisignMaxCommentLineBytes) + " minisign allows");
  }
  if (line.substr(0, kUntrustedPrefix.size()) != kUntrustedPrefix) {
    return Error(where + ": does not start with \"" +
                 std::string(kUntrustedPrefix) + "\"");
  }
  return okStatus();
}

Result<MinisignKey> keyFromBase64(std::string_view line) {
  auto bytes = decodeBase64(line, kKeyBytes, "a minisign public key");
  if (!bytes) return bytes.error();
  std::string_view algorithm(reinterpret_cast<const char*>(bytes->data()), 2);
  if (algorithm != "Ed") {
    return Error("algorithm " + describeBytes(algorithm) +
                 " is not minisign's Ed25519 ('Ed')");
  }
  MinisignKey key;
  std::copy_n(bytes->begin() + 2, key.id.size(), key.id.begin());
  std::copy_n(bytes->begin() + 10, key.key.size(), key.key.begin());
  return key;
}

// --- OpenSSL ---------------------------------------------------------------

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

// An OpenSSL failure that is not a verdict on the data (out of memory, a
// missing algorithm): its queue is emptied so that it cannot surface later
// in an unrelated caller's error.
Error opensslError(std::string_view what) {
  unsigned long code = ERR_get_error();
  std::string detail;
  if (code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    detail = std::string(": ") + buf;
  }
  ERR_clear_error();
  return Error("OpenSSL could not " + std::string(what) + detail);
}

// Whether `signature` is `key`'s Ed25519 signature of `message`; an error
// only when OpenSSL itself fails.
Result<bool> ed25519Verify(const std::array<std::uint8_t, 32>& key,
                           const std::array<std::uint8_t, 64>& signature,
                           const std::uint8_t* message, std::size_t size) {
  PkeyPtr pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                           key.data(), key.size()));
  if (!pkey) return opensslError("load an Ed25519 public key");
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return opensslError("allocate a verification context");
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) !=
      1) {
    return opensslError("start an Ed25519 verification");
  }
  // Ed25519 reads the message twice, so there is no streaming form: the
  // whole message is passed at once. A key that is not a curve point or a
  // signature out of range is a mismatch like any other.
  int rc = EVP_DigestVerify(ctx.get(), signature.data(), signature.size(),
                            message, size);
  ERR_clear_error();
  return rc == 1;
}

// BLAKE2b-512 over bytes given in pieces.
class Blake2b512 {
 public:
  Status start() {
    ctx_.reset(EVP_MD_CTX_new());
    if (!ctx_) return opensslError("allocate a BLAKE2b-512 context");
    if (EVP_DigestInit_ex(ctx_.get(), EVP_blake2b512(), nullptr) != 1) {
      return opensslError("start a BLAKE2b-512 digest");
    }
    return okStatus();
  }
  Status update(const void* data, std::size_t size) {
    if (EVP_DigestUpdate(ctx_.get(), data, size) != 1) {
      return opensslError("compute a BLAKE2b-512 digest");
    }
    return okStatus();
  }
  Result<std::array<std::uint8_t, kBlake2b512Bytes>> finish() {
    std::array<std::uint8_t, kBlake2b512Bytes> digest{};
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(ctx_.get(), digest.data(), &len) != 1 ||
        len != digest.size()) {
      return opensslError("finish a BLAKE2b-512 digest");
    }
    return digest;
  }

 private:
  MdCtxPtr ctx_;
};

// --- verification steps ----------------------------------------------------

std::string kindOf(const MinisignSignature& sig) {
  return sig.prehashed ? "prehashed" : "legacy";
}

// The trusted key that made `sig`, once the global signature shows that
// its trusted comment is what that key signed. Needs no message: a forged
// or altered signature file is refused before any file is read.
Result<const MinisignKey*> checkSignerAndComment(
    const std::vector<MinisignKey>& trusted, const MinisignSignature& sig) {
  std::string keyId = minisignKeyIdHex(sig.keyId);
  std::string signedComment(sig.signature.begin(), sig.signature.end());
  signedComment += sig.trustedComment;
  // Key ids are only labels the signer chose: two trusted keys could share
  // one, so each key with the id is tried.
  bool known = false;
  for (const auto& key : trusted) {
    if (key.id != sig.keyId) continue;
    known = true;
    auto ok = ed25519Verify(
        key.key, sig.globalSignature,
        reinterpret_cast<const std::uint8_t*>(signedComment.data()),
        signedComment.size());
    if (!ok) return ok.error();
    if (*ok) return &key;
  }
  if (known) {
    return Error(
        "the trusted comment's signature does not match: the trusted "
        "comment or the signature was altered, or key id " +
        keyId + " did not sign them");
  }
  if (trusted.empty()) {
    return Error("signed by key id " + keyId + ", but no key is trusted");
  }
  std::string ids;
  for (const auto& key : trusted) {
    ids += (ids.empty() ? "" : ", ") + key.idHex();
  }
  return Error("signed by key id " + keyId +
               ", which is not a trusted key (trusted: " + ids + ")");
}

Result<VerifiedSignature> checkMessage(const MinisignKey& key,
                                       const MinisignSignature& sig,
                                       const std::uint8_t* message,
                                       std::size_t size) {
  auto ok = ed25519Verify(key.key, sig.signature, message, size);
  if (!ok) return ok.error();
  if (!*ok) {
    return Error("the signature does not match (a " + kindOf(sig) +
                 " signature by key id " + key.idHex() +
                 "): the signed data was altered, or this is the "
                 "signature of something else");
  }
  VerifiedSignature verified;
  verified.keyIdHex = key.idHex();
  verified.prehashed = sig.prehashed;
  verified.trustedComment = sig.trustedComment;
  verified.timestamp = minisignTimestamp(sig.trustedComment);
  return verified;
}

Error fileError(const std::string& name, const Error& error) {
  return error.withContext("'" + shownText(name) + "'");
}

}  // namespace

std::string minisignKeyIdHex(const std::array<std::uint8_t, 8>& id) {
  std::uint64_t value = 0;
  for (std::size_t i = id.size(); i-- > 0;) value = (value << 8) | id[i];
  char buf[17];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, 16);
  (void)ec;  // 16 hex digits always fit
  std::string hex(buf, end);
  std::transform(hex.begin(), hex.end(), hex.begin(),
                 [](char c) { return c >= 'a' && c <= 'f' ? c - 32 : c; });
  return hex;
}

std::string MinisignKey::idHex() const { return minisignKeyIdHex(id); }

Result<MinisignKey> parseMinisignKey(std::string_view text) {
  const std::string context = "not a minisign public key";
  if (text.size() > kMinisignMaxKeyTextBytes) {
    return Error(withUnit(text.size(), "byte") + ", more than the " +
                 std::to_string(kMinisignMaxKeyTextBytes) +
                 " a key file may have")
        .withContext(context);
  }
  auto lines = splitLines(text, 2);
  if (!lines) return lines.error().withContext(context);
  std::string_view keyLine;
  if (lines->size() == 1 &&
      lines->front().substr(0, kUntrustedPrefix.size()) != kUntrustedPrefix) {
    keyLine = lines->front();  // the bare base64 form
  } else if (lines->size() == 2) {
    if (auto ok = checkCommentLine((*lines)[0], 1); !ok) {
      return ok.error().withContext(context);
    }
    keyLine = (*lines)[1];
  } else {
    std::string got = lines->empty()       ? "nothing"
                      : lines->size() == 1 ? "only the comment line"
                                           : "more than 2 lines";
    std::string why =
        "expected the base64 key alone, or the two lines minisign writes "
        "(\"untrusted comment: ...\" and the base64 key); got " +
        got;
    return Error(why).withContext(context);
  }
  auto key = keyFromBase64(keyLine);
  if (!key) {
    if (lines->size() == 2) {
      return key.error().withContext(context + ": line 2 (the key)");
    }
    return key.error().withContext(context);
  }
  return key;
}

Result<MinisignSignature> parseMinisignSignature(std::string_view text) {
  const std::string context = "not a minisign signature";
  if (text.size() > kMinisignMaxSignatureBytes) {
    return Error(withUnit(text.size(), "byte") + ", more than the " +
                 std::to_string(kMinisignMaxSignatureBytes) +
                 " of the largest minisign signature")
        .withContext(context);
  }
  auto lines = splitLines(text, 4);
  if (!lines) return lines.error().withContext(context);
  if (lines->size() < 4) {
    return Error("truncated: " + withUnit(lines->size(), "line") +
                 ", a minisign signature has 4 (untrusted comment, "
                 "signature, trusted comment, global signature)")
        .withContext(context);
  }
  if (lines->size() > 4) {
    return Error("line 5: more text after the global signature")
        .withContext(context);
  }
  if (auto ok = checkCommentLine((*lines)[0], 1); !ok) {
    return ok.error().withContext(context);
  }

  MinisignSignature sig;
  auto bytes =
      decodeBase64((*lines)[1], kSignatureBytes, "a minisign signature");
  if (!bytes) {
    return bytes.error().withContext(context + ": line 2 (the signature)");
  }
  std::string_view algorithm(reinterpret_cast<const char*>(bytes->data()), 2);
  if (algorithm == "ED") {
    sig.prehashed = true;
  } else if (algorithm != "Ed") {
    return Error("algorithm " + describeBytes(algorithm) +
                 " is neither of minisign's 'Ed' (legacy) and 'ED' "
                 "(prehashed)")
        .withContext(context + ": line 2 (the signature)");
  }
  std::copy_n(bytes->begin() + 2, sig.keyId.size(), sig.keyId.begin());
  std::copy_n(bytes->begin() + 10, sig.signature.size(), sig.signature.begin());

  std::string_view trusted = (*lines)[2];
  std::string where = context + ": line 3 (the trusted comment)";
  if (trusted.substr(0, kTrustedPrefix.size()) != kTrustedPrefix) {
    return Error("does not start with \"" + std::string(kTrustedPrefix) + "\"")
        .withContext(where);
  }
  trusted.remove_prefix(kTrustedPrefix.size());
  if (trusted.size() > kMinisignMaxTrustedCommentBytes) {
    return Error(withUnit(trusted.size(), "byte") + ", more than the " +
                 std::to_string(kMinisignMaxTrustedCommentBytes) +
                 " minisign allows")
        .withContext(where);
  }
  if (auto nul = trusted.find('\0'); nul != std::string_view::npos) {
    return Error("a NUL byte at column " +
                 std::to_string(kTrustedPrefix.size() + nul + 1))
        .withContext(where);
  }
  sig.trustedComment = std::string(trusted);

  auto global = decodeBase64((*lines)[3], kGlobalSignatureBytes,
                             "a minisign global signature");
  if (!global) {
    return global.error().withContext(context +
                                      ": line 4 (the global signature)");
  }
  std::copy(global->begin(), global->end(), sig.globalSignature.begin());
  return sig;
}

std::optional<std::int64_t> minisignTimestamp(std::string_view comment) {
  std::optional<std::int64_t> found;
  bool seen = false;
  while (true) {
    auto tab = comment.find('\t');
    std::string_view field = comment.substr(0, tab);
    if (field.substr(0, kTimestampField.size()) == kTimestampField) {
      // Two timestamps: which one the signer meant is anyone's guess.
      if (seen) return std::nullopt;
      seen = true;
      std::string_view digits = field.substr(kTimestampField.size());
      std::int64_t value = 0;
      auto [end, ec] =
          std::from_chars(digits.data(), digits.data() + digits.size(), value);
      bool decimal = !digits.empty() && digits.front() != '-' &&
                     ec == std::errc() && end == digits.data() + digits.size();
      if (decimal) found = value;
    }
    if (tab == std::string_view::npos) break;
    comment.remove_prefix(tab + 1);
  }
  return found;
}

Result<VerifiedSignature> verifyMinisign(
    const std::vector<MinisignKey>& trusted, const MinisignSignature& sig,
    std::string_view message) {
  auto key = checkSignerAndComment(trusted, sig);
  if (!key) return key.error();
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(message.data());
  if (!sig.prehashed) return checkMessage(**key, sig, bytes, message.size());
  Blake2b512 hash;
  if (auto ok = hash.start(); !ok) return ok.error();
  if (auto ok = hash.update(bytes, message.size()); !ok) return ok.error();
  auto digest = hash.finish();
  if (!digest) return digest.error();
  return checkMessage(**key, sig, digest->data(), digest->size());
}

Result<VerifiedSignature> verifyMinisignFd(
    const std::vector<MinisignKey>& trusted, const MinisignSignature& sig,
    int fd, const std::string& name) {
  auto key = checkSignerAndComment(trusted, sig);
  if (!key) return fileError(name, key.error());
  struct stat st {};
  if (::fstat(fd, &st) != 0) return systemError("stat", name, errno);
  if (!S_ISREG(st.st_mode)) {
    return Error("'" + shownText(name) + "' is not a regular file");
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  // What a legacy signature of a file too large to hold says.
  auto tooLarge = [&](const std::string& size) {
    return Error(
        "'" + shownText(name) + "' " + size +
        ": too large for its legacy (non-prehashed) minisign signature, "
        "which is checked over the whole file in memory (at most " +
        std::to_string(kMinisignMaxLegacyFileBytes) +
        " bytes). The publisher should sign it in the prehashed form: "
        "`minisign -S` without -l (the default of minisign 0.11; "
        "`minisign -S -H` in older versions)");
  };
  if (!sig.prehashed && size > kMinisignMaxLegacyFileBytes) {
    return tooLarge("is " + std::to_string(size) + " bytes");
  }

  Blake2b512 hash;
  if (sig.prehashed) {
    if (auto ok = hash.start(); !ok) return fileError(name, ok.error());
  }
  // Legacy: the whole file, read to its real end (it may have grown since
  // fstat) but never beyond the bound.
  std::vector<std::uint8_t> content;
  if (!sig.prehashed) content.reserve(static_cast<std::size_t>(size));
  std::vector<std::uint8_t> chunk(kReadChunkBytes);
  std::uint64_t offset = 0;
  for (;;) {
    ssize_t n =
        ::pread(fd, chunk.data(), chunk.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return systemError("read", name, errno);
    }
    if (n == 0) break;
    auto got = static_cast<std::size_t>(n);
    offset += got;
    if (sig.prehashed) {
      if (auto ok = hash.update(chunk.data(), got); !ok) {
        return fileError(name, ok.error());
      }
    } else {
      if (offset > kMinisignMaxLegacyFileBytes) {
        return tooLarge("grew past " + std::to_string(offset) +
                        " bytes while it was read");
      }
      content.insert(content.end(), chunk.begin(),
                     chunk.begin() + static_cast<std::ptrdiff_t>(got));
    }
  }

  Result<VerifiedSignature> verified = Error("");
  if (sig.prehashed) {
    auto digest = hash.finish();
    if (!digest) return fileError(name, digest.error());
    verified = checkMessage(**key, sig, digest->data(), digest->size());
  } else {
    verified = checkMessage(**key, sig, content.data(), content.size());
  }
  if (!verified) return fileError(name, verified.error());
  return verified;
}

Result<VerifiedSignature> verifyMinisignFile(
    const std::vector<MinisignKey>& trusted, const MinisignSignature& sig,
    const std::string& path) {
  auto opened = openRegularFile(path);
  if (!opened) return opened.error();
  int fd = *opened;
  auto verified = verifyMinisignFd(trusted, sig, fd, path);
  ::close(fd);
  return verified;
}

}  // namespace upgrader
