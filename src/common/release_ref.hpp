// A release as it exists on this machine: the version the vendor gave it
// and what identifies it in place. Shared by the strategies that put
// releases in place and by the transaction and state file that record them.
#pragma once

#include <string>

namespace upgrader {

/// A release on this machine: its version and what identifies it where it
/// is installed (the strategy decides: the SHA-256 of an executable, a
/// release directory, an image reference pinned by digest). Recovery
/// compares identities, never assumes.
struct ReleaseRef {
  std::string version;
  std::string id;
  bool operator==(const ReleaseRef&) const = default;
};

}  // namespace upgrader
