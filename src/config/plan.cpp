#include "config/plan.hpp"

#include "common/url.hpp"

namespace upgrader {

bool isArchiveRelease(const SourceConfig& source) {
  using A = SourceConfig::Archive;
  switch (source.archive) {
    case A::kTar:
    case A::kZip:
      return true;
    case A::kNone:
      return false;
    case A::kAuto:
      break;
  }
  return looksLikeArchive(source.url);
}

std::string TcpEndpoint::text() const {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace upgrader
