// SHA-256 over a stream of bytes (OpenSSL EVP), so a download can be hashed
// as it arrives instead of being read back from disk.
#pragma once

#include <cstddef>
#include <string>

#include "common/result.hpp"
#include "common/types.hpp"

struct evp_md_ctx_st;

namespace upgrader {

/// An incremental SHA-256. Out of memory in OpenSSL is reported like a failed
/// operator new (std::bad_alloc); nothing else can fail.
class Sha256 {
 public:
  /// A fresh digest of zero bytes.
  Sha256();
  Sha256(Sha256&& other) noexcept;
  Sha256& operator=(Sha256&& other) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  ~Sha256();

  /// Adds `size` bytes to the digest.
  void update(const void* data, std::size_t size);
  /// Returns the digest of every byte added since construction or the last
  /// finish()/reset(), and starts over with zero bytes.
  Sha256Digest finish();
  /// Forgets the bytes added so far.
  void reset();

 private:
  evp_md_ctx_st* ctx_;
};

/// The SHA-256 of a file's content; on failure an error naming the path.
Result<Sha256Digest> sha256OfFile(const std::string& path);

}  // namespace upgrader
