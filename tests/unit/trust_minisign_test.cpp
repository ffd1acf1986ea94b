// minisign signatures: parsed and checked against what the real minisign
// (Debian 12's 0.11) writes. The tests that sign at test time need the
// minisign command (scripts/install-deps installs it) and skip without it;
// the committed vectors in data/minisign/ (see its README) need nothing.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "common/file_util.hpp"
#include "exec/command_runner.hpp"
#include "support/temp_dir.hpp"
#include "trust/minisign.hpp"

namespace upgrader {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

// --- helpers ---------------------------------------------------------------

std::string dataFile(const std::string& name) {
  return parentDirectory(__FILE__) + "/data/minisign/" + name;
}

std::string readData(const std::string& name) {
  auto text = readFile(dataFile(name));
  EXPECT_TRUE(text) << text.error().message();
  return text ? *text : std::string();
}

std::vector<std::string> linesOf(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    auto nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

std::string joinLines(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines) text += line + "\n";
  return text;
}

constexpr char kAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64(const std::string& bytes) {
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    std::uint32_t v = (std::uint8_t(bytes[i]) << 16) |
                      (std::uint8_t(bytes[i + 1]) << 8) |
                      std::uint8_t(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (bytes.size() - i == 1) {
    std::uint32_t v = std::uint8_t(bytes[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (bytes.size() - i == 2) {
    std::uint32_t v =
        (std::uint8_t(bytes[i]) << 16) | (std::uint8_t(bytes[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// Only for well-formed test data.
std::string unbase64(const std::string& text) {
  std::string out;
  std::uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    if (c == '=') break;
    bits = (bits << 6) |
           static_cast<std::uint32_t>(std::string(kAlphabet).find(c));
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xff);
    }
  }
  return out;
}

// `signatureText` with the first two bytes of its signature line replaced.
std::string withAlgorithm(const std::string& signatureText,
                          const std::string& algorithm) {
  auto lines = linesOf(signatureText);
  std::string bytes = unbase64(lines[1]);
  bytes.replace(0, 2, algorithm);
  lines[1] = base64(bytes);
  return joinLines(lines);
}

MinisignKey key(const std::string& text) {
  auto parsed = parseMinisignKey(text);
  EXPECT_TRUE(parsed) << parsed.error().message();
  return parsed ? *parsed : MinisignKey{};
}

MinisignSignature signature(const std::string& text) {
  auto parsed = parseMinisignSignature(text);
  EXPECT_TRUE(parsed) << parsed.error().message();
  return parsed ? *parsed : MinisignSignature{};
}

std::string keyError(const std::string& text) {
  auto parsed = parseMinisignKey(text);
  return parsed ? "(parsed)" : parsed.error().message();
}

std::string signatureError(const std::string& text) {
  auto parsed = parseMinisignSignature(text);
  return parsed ? "(parsed)" : parsed.error().message();
}

std::string verifyError(const std::vector<MinisignKey>& trusted,
                        const std::string& signatureText,
                        const std::string& message) {
  auto parsed = parseMinisignSignature(signatureText);
  if (!parsed) return "(unparsed) " + parsed.error().message();
  auto verified = verifyMinisign(trusted, *parsed, message);
  return verified ? "(verified)" : verified.error().message();
}

// The last word of a public key's comment line: the id minisign printed.
std::string printedKeyId(const std::string& publicKeyText) {
  std::string comment = linesOf(publicKeyText).at(0);
  return comment.substr(comment.rfind(' ') + 1);
}

// --- the committed vectors -------------------------------------------------

// data/minisign/: key.pub signed message.txt twice; other.pub is a second,
// unrelated key.
constexpr char kVectorKeyId[] = "5B633A8847992B48";
constexpr char kOtherKeyId[] = "AD42A6DD601C64D4";
constexpr std::int64_t kVectorTimestamp = 1796143244;

TEST(MinisignVectors, ParseTheKeysWithTheIdsMinisignPrinted) {
  std::string text = readData("key.pub");
  EXPECT_EQ(key(text).idHex(), kVectorKeyId);
  EXPECT_EQ(printedKeyId(text), kVectorKeyId);
  EXPECT_EQ(key(readData("other.pub")).idHex(), kOtherKeyId);
}

TEST(MinisignVectors, ParseBothSignatureForms) {
  auto prehashed = signature(readData("prehashed.minisig"));
  EXPECT_TRUE(prehashed.prehashed);
  EXPECT_EQ(minisignKeyIdHex(prehashed.keyId), kVectorKeyId);
  EXPECT_EQ(prehashed.trustedComment,
            "timestamp:1796143244\tfile:message.txt\thashed");
  auto legacy = signature(readData("legacy.minisig"));
  EXPECT_FALSE(legacy.prehashed);
  EXPECT_EQ(minisignKeyIdHex(legacy.keyId), kVectorKeyId);
  EXPECT_EQ(legacy.trustedComment, "legacy signature of message.txt");
}

TEST(MinisignVectors, VerifyAPrehashedSignatureOfTheMessage) {
  auto verified = verifyMinisign({key(readData("key.pub"))},
                                 signature(readData("prehashed.minisig")),
                                 readData("message.txt"));
  ASSERT_TRUE(verified) << verified.error().message();
  EXPECT_EQ(verified->keyIdHex, kVectorKeyId);
  EXPECT_TRUE(verified->prehashed);
  EXPECT_EQ(verified->trustedComment,
            "timestamp:1796143244\tfile:message.txt\thashed");
  EXPECT_EQ(verified->timestamp, kVectorTimestamp);
}

TEST(MinisignVectors, VerifyALegacySignatureOfTheMessage) {
  auto verified = verifyMinisign({key(readData("key.pub"))},
                                 signature(readData("legacy.minisig")),
                                 readData("message.txt"));
  ASSERT_TRUE(verified) << verified.error().message();
  EXPECT_EQ(verified->keyIdHex, kVectorKeyId);
  EXPECT_FALSE(verified->prehashed);
  EXPECT_EQ(verified->trustedComment, "legacy signature of message.txt");
  EXPECT_EQ(verified->timestamp, std::nullopt);
}

TEST(MinisignVectors, VerifyTheMessageFileOnDisk) {
  for (const char* sig : {"prehashed.minisig", "legacy.minisig"}) {
    auto verified =
        verifyMinisignFile({key(readData("key.pub"))}, signature(readData(sig)),
                           dataFile("message.txt"));
    EXPECT_TRUE(verified) << sig << ": " << verified.error().message();
  }
}

TEST(MinisignVectors, RefuseTheMessageWithOneFlippedByte) {
  std::string message = readData("message.txt");
  message[7] ^= 0x20;
  for (const char* sig : {"prehashed.minisig", "legacy.minisig"}) {
    EXPECT_THAT(verifyError({key(readData("key.pub"))}, readData(sig), message),
                HasSubstr("the signature does not match"))
        << sig;
  }
}

TEST(MinisignVectors, VerifyWhenTheSignerIsTheSecondOfTwoTrustedKeys) {
  auto verified = verifyMinisign(
      {key(readData("other.pub")), key(readData("key.pub"))},
      signature(readData("prehashed.minisig")), readData("message.txt"));
  ASSERT_TRUE(verified) << verified.error().message();
  EXPECT_EQ(verified->keyIdHex, kVectorKeyId);
}

TEST(MinisignVectors, TryEveryTrustedKeyWithTheSignersKeyId) {
  // Key ids are labels a signer picks: another key may carry the same one.
  MinisignKey impostor = key(readData("other.pub"));
  impostor.id = key(readData("key.pub")).id;
  auto verified = verifyMinisign({impostor, key(readData("key.pub"))},
                                 signature(readData("prehashed.minisig")),
                                 readData("message.txt"));
  EXPECT_TRUE(verified) << verified.error().message();
  EXPECT_THAT(verifyError({impostor}, readData("prehashed.minisig"),
                          readData("message.txt")),
              HasSubstr("the trusted comment's signature does not match"));
}

TEST(MinisignVectors, RefuseASignatureByAKeyThatIsNotTrusted) {
  std::string error =
      verifyError({key(readData("other.pub"))}, readData("prehashed.minisig"),
                  readData("message.txt"));
  EXPECT_THAT(error, HasSubstr(std::string("signed by key id ") + kVectorKeyId +
                               ", which is not a trusted key"));
  EXPECT_THAT(error, HasSubstr(std::string("trusted: ") + kOtherKeyId));
}

TEST(MinisignVectors, RefuseEverythingWhenNoKeyIsTrusted) {
  EXPECT_THAT(
      verifyError({}, readData("prehashed.minisig"), readData("message.txt")),
      HasSubstr("no key is trusted"));
}

TEST(MinisignVectors, RefuseAnAlteredTrustedComment) {
  for (const char* sig : {"prehashed.minisig", "legacy.minisig"}) {
    auto lines = linesOf(readData(sig));
    lines[2] += " (edited)";
    EXPECT_THAT(verifyError({key(readData("key.pub"))}, joinLines(lines),
                            readData("message.txt")),
                HasSubstr("the trusted comment's signature does not match"))
        << sig;
  }
}

TEST(MinisignVectors, IgnoreAnEditedUntrustedComment) {
  auto lines = linesOf(readData("prehashed.minisig"));
  lines[0] = "untrusted comment: anyone may write here";
  EXPECT_EQ(verifyError({key(readData("key.pub"))}, joinLines(lines),
                        readData("message.txt")),
            "(verified)");
}

TEST(MinisignVectors, RefuseTheSignatureOfTheOtherFormWithTheSameBytes) {
  // An "Ed" signature relabelled "ED" (or the reverse) is checked over the
  // other message (the file vs its BLAKE2b-512) and cannot match. The
  // global signature does not cover the label: the message check must.
  for (auto [sig, label] : {std::pair{"prehashed.minisig", "Ed"},
                            std::pair{"legacy.minisig", "ED"}}) {
    EXPECT_THAT(verifyError({key(readData("key.pub"))},
                            withAlgorithm(readData(sig), label),
                            readData("message.txt")),
                HasSubstr("the signature does not match"))
        << sig;
  }
}

TEST(MinisignVectors, RefuseEverySingleBitFlipBelowTheUntrustedComment) {
  std::string text = readData("prehashed.minisig");
  std::string message = readData("message.txt");
  MinisignKey trusted = key(readData("key.pub"));
  std::size_t firstSigned = text.find('\n') + 1;
  for (std::size_t i = firstSigned; i < text.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string flipped = text;
      flipped[i] = static_cast<char>(flipped[i] ^ (1 << bit));
      auto parsed = parseMinisignSignature(flipped);
      if (!parsed) continue;
      EXPECT_FALSE(verifyMinisign({trusted}, *parsed, message))
          << "byte " << i << " bit " << bit;
    }
  }
}

// --- public keys -----------------------------------------------------------

TEST(MinisignKeyParsing, AcceptsTheBareBase64LineAsMinisignPTakesIt) {
  std::string text = readData("key.pub");
  std::string bare = linesOf(text)[1];
  auto fromFile = key(text);
  for (const std::string& form : {bare, bare + "\n", bare + "\r\n"}) {
    auto parsed = parseMinisignKey(form);
    ASSERT_TRUE(parsed) << parsed.error().message();
    EXPECT_EQ(parsed->id, fromFile.id);
    EXPECT_EQ(parsed->key, fromFile.key);
  }
}

TEST(MinisignKeyParsing, AcceptsCrlfLineEndsAndAMissingFinalNewline) {
  auto lines = linesOf(readData("key.pub"));
  auto expected = key(readData("key.pub"));
  for (const std::string& text :
       {lines[0] + "\r\n" + lines[1] + "\r\n", lines[0] + "\n" + lines[1]}) {
    EXPECT_EQ(key(text).key, expected.key);
  }
}

TEST(MinisignKeyParsing, RefusesJunkCharactersInTheBase64) {
  std::string bare = linesOf(readData("key.pub"))[1];
  std::string junk = bare;
  junk[11] = '%';
  EXPECT_THAT(keyError(junk), HasSubstr("not base64: '%' at column 12"));
  junk = bare;
  junk[3] = '\0';
  EXPECT_THAT(keyError(junk), HasSubstr("not base64: byte 0x00 at column 4"));
  EXPECT_THAT(keyError(" " + bare), HasSubstr("a space at column 1"));
  EXPECT_THAT(keyError(bare + " "), HasSubstr("a space at column 57"));
}

TEST(MinisignKeyParsing, RefusesAKeyOfTheWrongLength) {
  std::string bare = linesOf(readData("key.pub"))[1];
  EXPECT_THAT(keyError(bare.substr(0, 52)),
              HasSubstr("decodes to 39 bytes; a minisign public key is 42"));
  EXPECT_THAT(keyError(bare.substr(0, 55)),
              HasSubstr("55 characters, not a multiple of 4"));
  EXPECT_THAT(keyError(bare + "AAAA"), HasSubstr("decodes to 45 bytes"));
  EXPECT_THAT(keyError(""), HasSubstr("got nothing"));
}

TEST(MinisignKeyParsing, RefusesAnotherAlgorithm) {
  std::string bytes = unbase64(linesOf(readData("key.pub"))[1]);
  bytes.replace(0, 2, "ED");  // a signature label, never a key's
  EXPECT_THAT(keyError(base64(bytes)),
              HasSubstr("algorithm 'ED' is not minisign's Ed25519 ('Ed')"));
  bytes.replace(0, 2, std::string("\x00\xff", 2));
  EXPECT_THAT(keyError(base64(bytes)), HasSubstr("algorithm 0x00ff"));
}

TEST(MinisignKeyParsing, RefusesTextAroundTheKey) {
  std::string text = readData("key.pub");
  EXPECT_THAT(keyError(text + "\n"), HasSubstr("more than 2 lines"));
  EXPECT_THAT(keyError(text + "RWQ=\n"), HasSubstr("more than 2 lines"));
  EXPECT_THAT(keyError(linesOf(text)[0] + "\n"),
              HasSubstr("only the comment line"));
  EXPECT_THAT(keyError("minisign public key 5B63\n" + linesOf(text)[1]),
              HasSubstr("line 1 (the comment): does not start with "
                        "\"untrusted comment: \""));
}

TEST(MinisignKeyParsing, RefusesACarriageReturnInsideALine) {
  auto lines = linesOf(readData("key.pub"));
  EXPECT_THAT(keyError(lines[0] + "\n" + lines[1].substr(0, 8) + "\r" +
                       lines[1].substr(8)),
              HasSubstr("line 2: a carriage return inside the line"));
}

TEST(MinisignKeyParsing, RefusesOverlongTextBeforeReadingIt) {
  EXPECT_THAT(keyError(std::string(kMinisignMaxKeyTextBytes + 1, 'A')),
              HasSubstr("more than the 2048 a key file may have"));
  std::string comment = "untrusted comment: " + std::string(1100, 'c');
  EXPECT_THAT(keyError(comment + "\n" + linesOf(readData("key.pub"))[1]),
              HasSubstr("longer than the 1024 minisign allows"));
}

TEST(MinisignKeyParsing, PrintsKeyIdsAsMinisign011Does) {
  // Little-endian, upper case, no leading zeros (as Debian 12's minisign
  // wrote "minisign public key B37B93E792FC33D" for these bytes).
  EXPECT_EQ(minisignKeyIdHex({0x3d, 0xc3, 0x2f, 0x79, 0x3e, 0xb9, 0x37, 0x0b}),
            "B37B93E792FC33D");
  EXPECT_EQ(minisignKeyIdHex({0x48, 0x2b, 0x99, 0x47, 0x88, 0x3a, 0x63, 0x5b}),
            "5B633A8847992B48");
  EXPECT_EQ(minisignKeyIdHex({}), "0");
}

// --- signatures ------------------------------------------------------------

TEST(MinisignSignatureParsing, RefusesEveryTruncation) {
  std::string text = readData("prehashed.minisig");
  ASSERT_EQ(text.back(), '\n');
  // Without its final newline the file is whole; any shorter, never.
  EXPECT_TRUE(parseMinisignSignature(text.substr(0, text.size() - 1)));
  for (std::size_t n = 0; n + 1 < text.size(); ++n) {
    EXPECT_FALSE(parseMinisignSignature(text.substr(0, n))) << n << " bytes";
  }
  EXPECT_THAT(signatureError(joinLines({linesOf(text)[0], linesOf(text)[1]})),
              HasSubstr("truncated: 2 lines, a minisign signature has 4"));
}

TEST(MinisignSignatureParsing, SaysWhichLineIsNotBase64) {
  auto lines = linesOf(readData("prehashed.minisig"));
  auto junk = lines;
  junk[1][20] = '*';
  EXPECT_THAT(signatureError(joinLines(junk)),
              HasSubstr("line 2 (the signature): not base64: '*' at "
                        "column 21"));
  junk = lines;
  junk[3][0] = '-';  // base64url is not minisign's alphabet
  EXPECT_THAT(signatureError(joinLines(junk)),
              HasSubstr("line 4 (the global signature): not base64: '-'"));
}

TEST(MinisignSignatureParsing, RefusesMissingExtraOrMisplacedPadding) {
  auto lines = linesOf(readData("prehashed.minisig"));
  ASSERT_EQ(lines[3].substr(86), "==");
  auto bad = lines;
  bad[3].resize(86);  // no padding
  EXPECT_THAT(signatureError(joinLines(bad)),
              HasSubstr("86 characters, not a multiple of 4"));
  bad[3] = lines[3] + "==";
  EXPECT_THAT(signatureError(joinLines(bad)),
              HasSubstr("padding '=' at column 87 before the end"));
  bad[3] = lines[3].substr(0, 84) + "A===";
  EXPECT_THAT(signatureError(joinLines(bad)),
              HasSubstr("padding '=' at column 86 before the end"));
  bad[3] = "====" + lines[3].substr(4);
  EXPECT_THAT(signatureError(joinLines(bad)), HasSubstr("padding '='"));
}

TEST(MinisignSignatureParsing, RefusesBitsThatThePaddingLeavesOver) {
  // "...Q==" and "...R==" would decode to the same bytes; only the first is
  // base64. One text, one meaning.
  auto lines = linesOf(readData("prehashed.minisig"));
  char last = lines[3][85];
  auto bad = lines;
  bad[3][85] = kAlphabet[std::string(kAlphabet).find(last) | 1];
  ASSERT_NE(bad[3][85], last);
  EXPECT_THAT(signatureError(joinLines(bad)),
              HasSubstr("has bits set that encode nothing"));
}

TEST(MinisignSignatureParsing, RefusesAnUnknownAlgorithm) {
  std::string text = readData("prehashed.minisig");
  EXPECT_THAT(signatureError(withAlgorithm(text, "Ex")),
              HasSubstr("line 2 (the signature): algorithm 'Ex' is neither of "
                        "minisign's 'Ed' (legacy) and 'ED' (prehashed)"));
  EXPECT_THAT(signatureError(withAlgorithm(text, std::string("\0\n", 2))),
              HasSubstr("algorithm 0x000a"));
}

TEST(MinisignSignatureParsing, RefusesASignatureOfTheWrongLength) {
  auto lines = linesOf(readData("prehashed.minisig"));
  lines[1] = base64(unbase64(lines[1]).substr(0, 73));
  EXPECT_THAT(signatureError(joinLines(lines)),
              HasSubstr("decodes to 73 bytes; a minisign signature is 74"));
}

TEST(MinisignSignatureParsing, RequiresTheCommentPrefixes) {
  auto lines = linesOf(readData("prehashed.minisig"));
  auto bad = lines;
  bad[0] = "signature from minisign secret key";
  EXPECT_THAT(signatureError(joinLines(bad)),
              HasSubstr("line 1 (the comment): does not start with"));
  bad = lines;
  bad[2] = "trusted comment:no space";
  EXPECT_THAT(signatureError(joinLines(bad)),
              HasSubstr("line 3 (the trusted comment): does not start with "
                        "\"trusted comment: \""));
}

TEST(MinisignSignatureParsing, RefusesANulInTheTrustedComment) {
  auto lines = linesOf(readData("legacy.minisig"));
  lines[2] = "trusted comment: legacy" + std::string(1, '\0') + "hidden";
  EXPECT_THAT(signatureError(joinLines(lines)),
              HasSubstr("line 3 (the trusted comment): a NUL byte at column "
                        "24"));
}

TEST(MinisignSignatureParsing, BoundsTheTrustedComment) {
  auto lines = linesOf(readData("legacy.minisig"));
  lines[2] =
      "trusted comment: " + std::string(kMinisignMaxTrustedCommentBytes, 'x');
  EXPECT_EQ(signature(joinLines(lines)).trustedComment.size(),
            kMinisignMaxTrustedCommentBytes);
  lines[2] += "x";
  EXPECT_THAT(signatureError(joinLines(lines)),
              HasSubstr("8174 bytes, more than the 8173 minisign allows"));
}

TEST(MinisignSignatureParsing, KeepsTheTrustedCommentExactly) {
  auto lines = linesOf(readData("legacy.minisig"));
  lines[2] = "trusted comment:  two spaces, a tab\tand one at the end ";
  EXPECT_EQ(signature(joinLines(lines)).trustedComment,
            " two spaces, a tab\tand one at the end ");
}

TEST(MinisignSignatureParsing, RefusesTextAfterTheGlobalSignature) {
  std::string text = readData("prehashed.minisig");
  EXPECT_THAT(signatureError(text + "\n"),
              HasSubstr("line 5: more text after the global signature"));
  EXPECT_THAT(signatureError(text + readData("prehashed.minisig")),
              HasSubstr("line 5"));
}

TEST(MinisignSignatureParsing, AcceptsCrlfLineEnds) {
  auto lines = linesOf(readData("prehashed.minisig"));
  std::string crlf;
  for (const auto& line : lines) crlf += line + "\r\n";
  auto verified = verifyMinisign({key(readData("key.pub"))}, signature(crlf),
                                 readData("message.txt"));
  EXPECT_TRUE(verified) << verified.error().message();
}

TEST(MinisignSignatureParsing, RefusesAFileAboveTheBoundBeforeReadingIt) {
  EXPECT_THAT(signatureError(std::string(kMinisignMaxSignatureBytes + 1, 'u')),
              HasSubstr("16385 bytes, more than the 16384 of the largest "
                        "minisign signature"));
}

TEST(MinisignSignatureParsing, RefusesEmptyAndBinaryInput) {
  EXPECT_THAT(signatureError(""), HasSubstr("truncated: 0 lines"));
  EXPECT_THAT(signatureError(std::string("\0\0\0\n\n\n\n", 7)),
              HasSubstr("line 1 (the comment)"));
}

// --- timestamps ------------------------------------------------------------

TEST(MinisignTimestamp, ReadsTheFieldMinisignWrites) {
  EXPECT_EQ(minisignTimestamp("timestamp:1700000000\tfile:app.tgz\thashed"),
            1700000000);
  EXPECT_EQ(minisignTimestamp("file:app.tgz\ttimestamp:42"), 42);
}

TEST(MinisignTimestamp, IsAbsentUnlessThereIsExactlyOneDecimalField) {
  EXPECT_EQ(minisignTimestamp("release 1.4.2"), std::nullopt);
  EXPECT_EQ(minisignTimestamp(""), std::nullopt);
  EXPECT_EQ(minisignTimestamp("timestamp:"), std::nullopt);
  EXPECT_EQ(minisignTimestamp("timestamp:12x"), std::nullopt);
  EXPECT_EQ(minisignTimestamp("timestamp:-5"), std::nullopt);
  EXPECT_EQ(minisignTimestamp("timestamp: 5"), std::nullopt);
  EXPECT_EQ(minisignTimestamp("timestamp:99999999999999999999"), std::nullopt);
  EXPECT_EQ(minisignTimestamp("timestamp:1\ttimestamp:2"), std::nullopt);
  EXPECT_EQ(minisignTimestamp("note timestamp:5"), std::nullopt);
}

// --- against the real minisign ---------------------------------------------

// A directory with keys made by minisign at test time, and the means to
// sign with them.
class MinisignSigned : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* candidate :
         {"/usr/bin/minisign", "/usr/local/bin/minisign"}) {
      if (::access(candidate, X_OK) == 0) {
        tool_ = candidate;
        break;
      }
    }
    if (tool_.empty()) {
      GTEST_SKIP() << "minisign is not installed (scripts/install-deps "
                      "installs it)";
    }
    runner_ = makeProcessRunner();
  }

  void run(std::vector<std::string> args) {
    args.insert(args.begin(), tool_);
    CommandLine command;
    command.argv = args;
    auto result = runner_->run(command);
    ASSERT_TRUE(result) << result.error().message();
    ASSERT_EQ(result->exitStatus, 0)
        << describeArgv(args) << ": " << result->tail;
  }

  // A new key pair NAME.pub + NAME.key (no password); its public key.
  MinisignKey generate(const std::string& name) {
    run({"-G", "-W", "-p", dir_ / (name + ".pub"), "-s",
         dir_ / (name + ".key")});
    return key(publicKeyText(name));
  }

  std::string publicKeyText(const std::string& name) {
    auto text = readFile(dir_ / (name + ".pub"));
    EXPECT_TRUE(text) << text.error().message();
    return text ? *text : "";
  }

  // Signs FILE with key NAME into FILE.minisig: prehashed (minisign 0.11's
  // default) or legacy (-l), with minisign's default trusted comment
  // unless one is given. Returns the parsed signature.
  MinisignSignature sign(const std::string& name, const std::string& file,
                         bool legacy,
                         std::optional<std::string> trustedComment = {}) {
    std::vector<std::string> args = {"-S", "-s", dir_ / (name + ".key"), "-m",
                                     file, "-x", file + ".minisig"};
    if (legacy) args.push_back("-l");
    if (trustedComment) {
      args.push_back("-t");
      args.push_back(*trustedComment);
    }
    run(args);
    return signature(signatureText(file));
  }

  std::string signatureText(const std::string& file) {
    auto text = readFile(file + ".minisig");
    EXPECT_TRUE(text) << text.error().message();
    return text ? *text : "";
  }

  std::string write(const std::string& name, const std::string& content) {
    EXPECT_TRUE(writeFileAtomically(dir_ / name, content));
    return dir_ / name;
  }

  // A sparse file of `size` zero bytes: large, but nothing on disk.
  std::string sparse(const std::string& name, std::uint64_t size) {
    std::string path = dir_ / name;
    int fd =
        ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::ftruncate(fd, static_cast<off_t>(size)), 0);
    ::close(fd);
    return path;
  }

  std::string tool_;
  std::unique_ptr<CommandRunner> runner_;
  TempDir dir_;
};

TEST_F(MinisignSigned, VerifiesAPrehashedSignature) {
  auto pub = generate("release");
  std::string file = write("app-1.4.2.tar.gz", "the release, byte for byte");
  auto sig = sign("release", file, false, "upgrader release 1.4.2");
  EXPECT_TRUE(sig.prehashed);
  auto verified = verifyMinisignFile({pub}, sig, file);
  ASSERT_TRUE(verified) << verified.error().message();
  EXPECT_TRUE(verified->prehashed);
  EXPECT_EQ(verified->trustedComment, "upgrader release 1.4.2");
  EXPECT_EQ(verified->keyIdHex, printedKeyId(publicKeyText("release")));
  EXPECT_EQ(verified->timestamp, std::nullopt);
  EXPECT_TRUE(verifyMinisign({pub}, sig, "the release, byte for byte"));
}

TEST_F(MinisignSigned, VerifiesALegacySignature) {
  auto pub = generate("release");
  std::string file = write("app", "an executable");
  auto sig = sign("release", file, true, "trusted comment");
  EXPECT_FALSE(sig.prehashed);
  auto verified = verifyMinisignFile({pub}, sig, file);
  ASSERT_TRUE(verified) << verified.error().message();
  EXPECT_FALSE(verified->prehashed);
  EXPECT_EQ(verified->trustedComment, "trusted comment");
  EXPECT_TRUE(verifyMinisign({pub}, sig, "an executable"));
}

TEST_F(MinisignSigned, VerifiesBothFormsOfAnEmptyFile) {
  auto pub = generate("release");
  for (bool legacy : {false, true}) {
    std::string file = write(legacy ? "empty-legacy" : "empty", "");
    auto sig = sign("release", file, legacy);
    auto verified = verifyMinisignFile({pub}, sig, file);
    EXPECT_TRUE(verified) << verified.error().message();
    EXPECT_TRUE(verifyMinisign({pub}, sig, ""));
  }
}

TEST_F(MinisignSigned, RefusesAFileWithOneFlippedByte) {
  auto pub = generate("release");
  for (bool legacy : {false, true}) {
    std::string name = legacy ? "legacy" : "prehashed";
    std::string file = write(name, "0123456789abcdef");
    auto sig = sign("release", file, legacy);
    write(name, "0123456789abcdeF");
    auto verified = verifyMinisignFile({pub}, sig, file);
    ASSERT_FALSE(verified) << name;
    EXPECT_THAT(verified.error().message(),
                HasSubstr("'" + file + "': the signature does not match (a " +
                          name + " signature by key id " + pub.idHex() + ")"));
  }
}

TEST_F(MinisignSigned, RefusesTheValidSignatureOfAnotherFile) {
  auto pub = generate("release");
  std::string good = write("good", "what was signed");
  std::string other = write("other", "what was not");
  for (bool legacy : {false, true}) {
    auto sig = sign("release", good, legacy);
    auto verified = verifyMinisignFile({pub}, sig, other);
    ASSERT_FALSE(verified);
    EXPECT_THAT(verified.error().message(),
                HasSubstr("the signature does not match"));
  }
}

TEST_F(MinisignSigned, RefusesASignatureByAnUnknownKey) {
  auto trusted = generate("trusted");
  auto stranger = generate("stranger");
  std::string file = write("app", "payload");
  auto sig = sign("stranger", file, false);
  auto verified = verifyMinisignFile({trusted}, sig, file);
  ASSERT_FALSE(verified);
  EXPECT_THAT(verified.error().message(),
              HasSubstr("signed by key id " + stranger.idHex() +
                        ", which is not a trusted key (trusted: " +
                        trusted.idHex() + ")"));
}

TEST_F(MinisignSigned, RefusesAnAlteredTrustedComment) {
  auto pub = generate("release");
  std::string file = write("app", "payload");
  sign("release", file, false, "version 1.4.2");
  auto lines = linesOf(signatureText(file));
  lines[2] = "trusted comment: version 9.9.9";
  auto sig = signature(joinLines(lines));
  auto verified = verifyMinisignFile({pub}, sig, file);
  ASSERT_FALSE(verified);
  EXPECT_THAT(verified.error().message(),
              HasSubstr("the trusted comment's signature does not match"));
}

TEST_F(MinisignSigned, VerifiesASignatureByTheSecondOfTwoTrustedKeys) {
  auto old = generate("old");
  auto next = generate("next");
  std::string file = write("app", "payload after the rotation");
  auto sig = sign("next", file, false);
  auto verified = verifyMinisignFile({old, next}, sig, file);
  ASSERT_TRUE(verified) << verified.error().message();
  EXPECT_EQ(verified->keyIdHex, next.idHex());
  EXPECT_NE(old.idHex(), next.idHex());
}

TEST_F(MinisignSigned, ReadsTheTimestampOfMinisignsDefaultTrustedComment) {
  auto pub = generate("release");
  std::string file = write("app.tar.gz", "payload");
  auto before = static_cast<std::int64_t>(std::time(nullptr));
  auto sig = sign("release", file, false);
  auto after = static_cast<std::int64_t>(std::time(nullptr));
  EXPECT_THAT(sig.trustedComment, HasSubstr("\tfile:app.tar.gz\thashed"));
  auto verified = verifyMinisignFile({pub}, sig, file);
  ASSERT_TRUE(verified) << verified.error().message();
  ASSERT_TRUE(verified->timestamp.has_value()) << verified->trustedComment;
  EXPECT_GE(*verified->timestamp, before);
  EXPECT_LE(*verified->timestamp, after);
}

TEST_F(MinisignSigned, AcceptsTheKeyAsTheBareBase64LineMinisignPrints) {
  generate("release");
  auto bare = parseMinisignKey(linesOf(publicKeyText("release"))[1]);
  ASSERT_TRUE(bare) << bare.error().message();
  std::string file = write("app", "payload");
  auto sig = sign("release", file, false);
  auto verified = verifyMinisignFile({*bare}, sig, file);
  EXPECT_TRUE(verified) << verified.error().message();
}

TEST_F(MinisignSigned, RefusesALegacySignatureOfAFileAboveTheBound) {
  auto pub = generate("release");
  std::string small = write("small", "x");
  auto sig = sign("release", small, true);
  std::string large = sparse("large", kMinisignMaxLegacyFileBytes + 1);
  auto verified = verifyMinisignFile({pub}, sig, large);
  ASSERT_FALSE(verified);
  const std::string& message = verified.error().message();
  EXPECT_THAT(message, HasSubstr("'" + large +
                                 "' is 67108865 bytes: too "
                                 "large for its legacy (non-prehashed) "
                                 "minisign signature"));
  EXPECT_THAT(message, HasSubstr("The publisher should sign it in the "
                                 "prehashed form: `minisign -S` without -l"));
}

TEST_F(MinisignSigned, VerifiesAPrehashedSignatureOfAFileAboveTheLegacyBound) {
  auto pub = generate("release");
  std::string large = sparse("large", kMinisignMaxLegacyFileBytes + 1);
  auto sig = sign("release", large, false);
  auto verified = verifyMinisignFile({pub}, sig, large);
  EXPECT_TRUE(verified) << verified.error().message();
}

TEST_F(MinisignSigned, ReadsAnOpenFileFromItsStartWhateverItsOffset) {
  auto pub = generate("release");
  std::string file = write("app", "0123456789");
  auto sig = sign("release", file, false);
  auto opened = openRegularFile(file);
  ASSERT_TRUE(opened) << opened.error().message();
  ASSERT_EQ(::lseek(*opened, 4, SEEK_SET), 4);
  auto verified = verifyMinisignFd({pub}, sig, *opened, "the download");
  EXPECT_TRUE(verified) << verified.error().message();
  EXPECT_EQ(::lseek(*opened, 0, SEEK_CUR), 4);
  ::close(*opened);
}

TEST_F(MinisignSigned, RefusesWhatIsNotARegularFile) {
  auto pub = generate("release");
  std::string file = write("app", "payload");
  auto sig = sign("release", file, false);
  auto verified = verifyMinisignFile({pub}, sig, dir_.path());
  ASSERT_FALSE(verified);
  EXPECT_THAT(verified.error().message(), HasSubstr("not a regular file"));
  auto missing = verifyMinisignFile({pub}, sig, dir_ / "missing");
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message(), HasSubstr(dir_ / "missing"));
}

TEST_F(MinisignSigned, VerifiesTheLongestTrustedCommentMinisignWrites) {
  // minisign 0.11 formats each line in a 4096-byte buffer: 4077 bytes is
  // the longest trusted comment it can sign.
  auto pub = generate("release");
  std::string file = write("app", "payload");
  std::string longest(4077, 't');
  auto sig = sign("release", file, false, longest);
  EXPECT_EQ(sig.trustedComment, longest);
  auto verified = verifyMinisignFile({pub}, sig, file);
  EXPECT_TRUE(verified) << verified.error().message();
}

}  // namespace
}  // namespace upgrader
