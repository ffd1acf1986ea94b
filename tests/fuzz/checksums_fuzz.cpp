// Fuzz entry for the SHA256SUMS parser (fetch/checksums.hpp): the file comes
// from the release server. Any bytes must give a list or an error, never a
// crash; a list must keep the header's promises (plain, unique, non-empty
// names, each found by findChecksum), and written out again it must read
// back as the same list, so nothing in a name is silently changed.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fetch/checksums.hpp"
#include "fuzz_check.hpp"

using upgrader::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto entries = upgrader::parseSha256Sums(text, "SHA256SUMS");
  if (!entries) {
    check(!entries.error().message().empty(), "an error says why");
    return 0;
  }
  std::string again;
  for (const auto& entry : *entries) {
    const std::string& name = entry.fileName;
    check(!name.empty() && name != "." && name != "..", "a name names a file");
    check(name.find('/') == std::string::npos, "a name has no '/'");
    check(name.find('\0') == std::string::npos, "a name has no NUL");
    check(name.find('\n') == std::string::npos, "a name has no newline");
    check(upgrader::findChecksum(*entries, name) == &entry,
          "each name is listed once and found");
    // "\r\n" endings: the parser drops one '\r', so a name that itself
    // ends in '\r' survives the trip.
    again += entry.digest.hex() + "  " + name + "\r\n";
  }
  auto reread = upgrader::parseSha256Sums(again, "again");
  check(static_cast<bool>(reread), "a parsed list parses again");
  check(reread->size() == entries->size(), "re-reading keeps every entry");
  for (std::size_t i = 0; i < reread->size(); ++i) {
    check((*reread)[i].fileName == (*entries)[i].fileName &&
              (*reread)[i].digest == (*entries)[i].digest,
          "re-reading keeps names and digests");
  }
  return 0;  // libFuzzer reserves other values
}
