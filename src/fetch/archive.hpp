// Unpacking a verified release archive (tar, tar.gz, tar.xz, tar.zst, zip:
// whatever libarchive recognises). The archive's digest was checked before,
// but its content is still treated as hostile: nothing in it may land
// outside the destination, become a device, or gain setuid.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace upgrader {

/// Writes the regular-file member `member` of the archive (names compared
/// after stripping a leading "./") to `destFile`, which must not exist:
/// created with O_EXCL, mode 0700 (the caller sets the final mode),
/// fsynced, at most `maxBytes` (holes of a sparse member count as what
/// they become). Error if there is no such member, it is not a regular
/// file, it is larger, or the archive holds it twice (what it is would
/// depend on the tool); on any error `destFile` does not exist afterwards.
Status extractMember(const std::string& archivePath, const std::string& member,
                     const std::string& destFile, std::uint64_t maxBytes);

/// Extracts the entries under `subtree` ("" for all) into the existing,
/// empty directory `destDir`, with `subtree/` stripped from their names.
/// Regular files, directories, symlinks and hard links only; refuses (with
/// an error naming the entry) absolute names or ".." components anywhere
/// in the archive, symlinks that are absolute or lead outside the tree,
/// hard links to anything not extracted before, devices, FIFOs, sockets,
/// setuid/setgid bits, entries that would be written through a symlink,
/// a name that appears twice (but for a directory), more than 100000
/// entries, and data beyond `maxBytes` in all. Group and world write bits
/// are dropped. Files and directories are fsynced; ownership is not
/// restored (everything belongs to the caller). On any error `destDir` is
/// emptied again.
Status extractTree(const std::string& archivePath, const std::string& subtree,
                   const std::string& destDir, std::uint64_t maxBytes);

}  // namespace upgrader
