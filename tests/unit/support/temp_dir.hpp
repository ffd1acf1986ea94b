// A directory under /tmp that lives as long as the test.
#pragma once

#include <cstdlib>
#include <string>

#include <boost/filesystem.hpp>

namespace upgrader::testing {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/upgrader-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    boost::system::error_code ec;
    boost::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const {
    return path_ + "/" + name;
  }

 private:
  std::string path_;
};

}  // namespace upgrader::testing
