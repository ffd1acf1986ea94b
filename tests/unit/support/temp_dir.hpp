// A directory under /tmp that lives as long as the test.
#pragma once

#include <cstdlib>
#include <string>
#include <vector>

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

/// The names in directory `path`, in the order the directory lists them.
inline std::vector<std::string> entriesIn(const std::string& path) {
  std::vector<std::string> names;
  for (auto it = boost::filesystem::directory_iterator(path);
       it != boost::filesystem::directory_iterator(); ++it) {
    names.push_back(it->path().filename().string());
  }
  return names;
}

}  // namespace upgrader::testing
