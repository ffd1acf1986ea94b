#include "common/types.hpp"

namespace upgrader {

namespace {
int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

Result<Sha256Digest> Sha256Digest::fromHex(std::string_view hex) {
  if (hex.size() != 64) {
    return Error("a SHA-256 digest has 64 hex digits, got " +
                 std::to_string(hex.size()) + " characters");
  }
  std::array<std::uint8_t, 32> bytes{};
  for (std::size_t i = 0; i < 32; ++i) {
    int hi = hexValue(hex[2 * i]);
    int lo = hexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return Error("not a hex digit in SHA-256 digest");
    bytes[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return Sha256Digest(bytes);
}

std::string Sha256Digest::hex() const {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (auto b : bytes_) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

}  // namespace upgrader
