#include "common/url.hpp"

#include <algorithm>

namespace upgrader {

std::string fileNameOfUrl(std::string_view url) {
  url = url.substr(0, url.find_first_of("?#"));
  // "https://host" has no path, so no file name; a bare path is all path.
  if (auto schemeEnd = url.find("://");
      schemeEnd != std::string_view::npos &&
      url.find('/', schemeEnd + 3) == std::string_view::npos) {
    return "";
  }
  return std::string(url.substr(url.find_last_of('/') + 1));
}

bool looksLikeArchive(std::string_view url) {
  std::string name = fileNameOfUrl(url);
  std::transform(name.begin(), name.end(), name.begin(), [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  });
  for (std::string_view suffix :
       {".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.zst", ".zip"}) {
    if (name.size() > suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return true;
    }
  }
  return false;
}

}  // namespace upgrader
