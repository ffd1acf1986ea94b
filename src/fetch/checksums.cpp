#include "fetch/checksums.hpp"

#include <unordered_map>

namespace upgrader {

namespace {

Error lineError(const std::string& source, std::size_t line,
                const std::string& why) {
  return Error(source + ":" + std::to_string(line) + ": " + why);
}

}  // namespace

Result<std::vector<ChecksumEntry>> parseSha256Sums(std::string_view text,
                                                   const std::string& source) {
  std::vector<ChecksumEntry> entries;
  // Name -> index in `entries`, to catch a name listed twice: which of two
  // different digests is "the" checksum would otherwise be arbitrary.
  std::unordered_map<std::string, std::size_t> seen;
  std::size_t lineNo = 0;
  while (!text.empty()) {
    ++lineNo;
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    // Files edited or generated on Windows end lines in "\r\n"; coreutils
    // accepts those too.
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    if (line.front() == '#') continue;
    if (line.front() == '\\') {
      return lineError(source, lineNo, "escaped file names are not supported");
    }
    if (line.size() < 66 || (line[64] != ' ') ||
        (line[65] != ' ' && line[65] != '*')) {
      return lineError(source, lineNo,
                       "expected '<64 hex digits>  <file name>' or "
                       "'<64 hex digits> *<file name>'");
    }
    auto digest = Sha256Digest::fromHex(line.substr(0, 64));
    if (!digest) return lineError(source, lineNo, digest.error().message());
    std::string_view name = line.substr(66);
    if (name.substr(0, 2) == "./") name.remove_prefix(2);
    if (name.empty() || name == "." || name == "..") {
      return lineError(source, lineNo, "no file name");
    }
    // Names are matched against the last component of a URL; a path here
    // could never match and may be an attempt to name something elsewhere.
    if (name.find('/') != std::string_view::npos) {
      return lineError(
          source, lineNo,
          "'" + std::string(name) + "' is a path, expected a file name");
    }
    if (name.find('\0') != std::string_view::npos) {
      return lineError(source, lineNo, "NUL byte in file name");
    }
    std::string fileName(name);
    if (auto it = seen.find(fileName); it != seen.end()) {
      if (entries[it->second].digest != *digest) {
        return lineError(
            source, lineNo,
            "'" + fileName + "' is listed again with a different digest");
      }
      continue;
    }
    seen.emplace(fileName, entries.size());
    entries.push_back({*digest, std::move(fileName)});
  }
  return entries;
}

const ChecksumEntry* findChecksum(const std::vector<ChecksumEntry>& entries,
                                  std::string_view fileName) {
  for (const auto& entry : entries) {
    if (entry.fileName == fileName) return &entry;
  }
  return nullptr;
}

}  // namespace upgrader
