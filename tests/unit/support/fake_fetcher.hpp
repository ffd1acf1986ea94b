// A Fetcher that serves text resources and files from maps, and records
// what was asked for: for the logic that decides what to fetch and what to
// believe, without a network.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/file_util.hpp"
#include "fetch/fetcher.hpp"
#include "fetch/sha256.hpp"

namespace upgrader {

class FakeFetcher : public Fetcher {
 public:
  /// URL -> body, for fetchText() and fetchToFile(); a URL not here is a
  /// 404.
  std::map<std::string, std::string> texts;
  std::vector<std::string> requested;
  std::uint64_t lastMaxBytes = 0;

  Result<FetchedFile> fetchToFile(const std::string& url,
                                  const std::string& dir, const FetchOptions&,
                                  const ProgressFn&) override {
    requested.push_back(url);
    auto it = texts.find(url);
    if (it == texts.end()) {
      return Error("Failed to fetch '" + url + "': HTTP 404");
    }
    std::string path = dir + "/.download." + std::to_string(++files_) +
                       ".XXXXXX.partial";
    if (auto st = writeFileAtomically(path, it->second, 0600); !st) {
      return st.error();
    }
    Sha256 hash;
    hash.update(it->second.data(), it->second.size());
    return FetchedFile{path, hash.finish(), it->second.size()};
  }

  Result<std::string> fetchText(const std::string& url, const FetchOptions&,
                                std::uint64_t maxBytes) override {
    requested.push_back(url);
    lastMaxBytes = maxBytes;
    auto it = texts.find(url);
    if (it == texts.end()) {
      return Error("Failed to fetch '" + url + "': HTTP 404");
    }
    if (it->second.size() > maxBytes) {
      return Error("Failed to fetch '" + url + "': larger than " +
                   std::to_string(maxBytes) + " bytes");
    }
    return it->second;
  }

 private:
  int files_ = 0;
};

}  // namespace upgrader
