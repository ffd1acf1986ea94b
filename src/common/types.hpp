// Strong types for the domain strings that must never be mixed up: a unit
// name is not a path, a version is not a URL, a digest is not any hex string.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace upgrader {

/// A string wrapper that does not convert implicitly to or from other strings.
template <typename Tag>
class StrongString {
 public:
  StrongString() = default;
  explicit StrongString(std::string value) : value_(std::move(value)) {}
  const std::string& str() const { return value_; }
  bool empty() const { return value_.empty(); }
  auto operator<=>(const StrongString&) const = default;

 private:
  std::string value_;
};

/// A systemd unit name such as "progressdb.service" (validated on creation).
using UnitName = StrongString<struct UnitNameTag>;
/// A release version as written by the vendor, e.g. "1.4.2".
using Version = StrongString<struct VersionTag>;
/// An instance name of upgrade@.service, e.g. "progressdb"; validated, so it
/// is safe inside a path or a unit name.
using InstanceName = StrongString<struct InstanceNameTag>;

/// A SHA-256 digest.
class Sha256Digest {
 public:
  Sha256Digest() = default;
  explicit Sha256Digest(const std::array<std::uint8_t, 32>& bytes)
      : bytes_(bytes) {}

  /// Parses 64 hex digits (either case).
  static Result<Sha256Digest> fromHex(std::string_view hex);
  std::string hex() const;
  const std::array<std::uint8_t, 32>& bytes() const { return bytes_; }
  bool operator==(const Sha256Digest&) const = default;

 private:
  std::array<std::uint8_t, 32> bytes_{};
};

}  // namespace upgrader
