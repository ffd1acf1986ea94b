#include "fetch/sha256.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <new>

#include "common/file_util.hpp"

namespace upgrader {

namespace {

// SHA-256 from the default provider cannot fail on valid input; the only
// way these calls fail is an allocation failure inside OpenSSL, which we
// treat the way the rest of the program treats a failed allocation.
void check(int rc) {
  if (rc != 1) throw std::bad_alloc();
}

}  // namespace

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr) throw std::bad_alloc();
  reset();
}

Sha256::Sha256(Sha256&& other) noexcept : ctx_(other.ctx_) {
  other.ctx_ = nullptr;
}

Sha256& Sha256::operator=(Sha256&& other) noexcept {
  if (this != &other) {
    EVP_MD_CTX_free(ctx_);
    ctx_ = other.ctx_;
    other.ctx_ = nullptr;
  }
  return *this;
}

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }

void Sha256::update(const void* data, std::size_t size) {
  check(EVP_DigestUpdate(ctx_, data, size));
}

Sha256Digest Sha256::finish() {
  std::array<std::uint8_t, 32> bytes{};
  unsigned int len = 0;
  check(EVP_DigestFinal_ex(ctx_, bytes.data(), &len));
  reset();
  return Sha256Digest(bytes);
}

void Sha256::reset() { check(EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr)); }

Result<Sha256Digest> sha256OfFile(const std::string& path) {
  auto opened = openRegularFile(path);
  if (!opened) return opened.error();
  int fd = *opened;
  Sha256 hash;
  // Large reads keep the syscall count low for release-sized files without
  // holding the file in memory.
  std::array<char, 128 * 1024> buf;
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return systemError("read", path, err);
    }
    if (n == 0) break;
    hash.update(buf.data(), static_cast<std::size_t>(n));
  }
  ::close(fd);
  return hash.finish();
}

}  // namespace upgrader
