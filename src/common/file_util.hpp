// Crash-safe file-system primitives shared by the installers and the state
// store. Each either completes or leaves the file system as it found it
// (no temp file behind), and each message names the path and errno's text.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace upgrader {

/// What follows "Read-only file system" in messages: upgrade@.service may
/// write only the directories its configuration names, as of the last
/// `systemctl daemon-reload` (see units/upgrader-generator).
inline constexpr std::string_view kReadOnlyHint =
    " (upgrade@.service may write only the directories its configuration "
    "names: after adding or changing /etc/upgrader/NAME.conf, run "
    "'systemctl daemon-reload')";

/// "Failed to VERB 'PATH': strerror(errno)", and for EROFS kReadOnlyHint.
Error systemError(std::string_view verb, const std::string& path, int err);

/// The directory part of `path` ("." if none).
std::string parentDirectory(const std::string& path);
/// The last component of `path`.
std::string baseName(const std::string& path);

/// fsync()s a directory so that renames and links in it are durable.
Status fsyncDirectory(const std::string& dir);

/// Opens `path` for reading if it is a regular file: a FIFO, a device or a
/// directory is refused at once (it could block a read forever or never
/// end). The descriptor is close-on-exec; the caller closes it.
Result<int> openRegularFile(const std::string& path);

/// Reads a file whose writer decides what root does (a configuration that
/// names commands, a key that decides which releases are trusted): a
/// regular file, at most `maxBytes`, that only root can change
/// (checkOnlyTrustedCanWrite()). A refusal says "refusing to use 'PATH':
/// WHY, so others could CONSEQUENCE".
Result<std::string> readTrustedFile(const std::string& path,
                                    std::size_t maxBytes,
                                    const std::string& consequence);

/// Reads a whole regular file of at most `maxBytes`.
Result<std::string> readFile(const std::string& path,
                             std::size_t maxBytes = 16 * 1024 * 1024);

/// Replaces `path` with `content`: a temp file in the same directory, of
/// exactly `mode` whatever the umask, written, fsynced, renamed over
/// `path`, directory fsynced. Readers see the old or the new content, never
/// a mix; on failure the temp file is gone.
Status writeFileAtomically(const std::string& path, std::string_view content,
                           mode_t mode = 0644);

/// Makes `linkPath` another name of `existing` (a hard link), replacing what
/// `linkPath` was atomically: link to a temp name, rename over, fsync dir.
Status hardLinkAtomically(const std::string& existing,
                          const std::string& linkPath);

/// rename(2) followed by an fsync of the target's directory.
Status renameDurably(const std::string& from, const std::string& to);

/// Creates a symlink `linkPath` -> `target`, replacing an existing link
/// atomically (temp name, rename over, fsync dir).
Status symlinkAtomically(const std::string& target,
                         const std::string& linkPath);

/// Removes a file if it exists. Ok if it did not.
Status removeIfExists(const std::string& path);

/// Removes a directory tree if it exists. Ok if it did not.
Status removeTreeIfExists(const std::string& path);

/// Copies the regular file `from` to the new file `to` (O_EXCL, mode 0600,
/// fsynced). On failure `to` does not exist.
Status copyFile(const std::string& from, const std::string& to);

/// Removes the temp names that the atomic operations above use for `path`
/// (".NAME.upgrader-tmp-*" beside it; one dot for a NAME that starts with
/// one), left behind only by a crash.
Status removeStaleTempFiles(const std::string& path);

/// Creates the directory `dir` (mode 0700, its parent must exist) unless
/// it exists, and makes its entry durable. Ok if it exists.
Status ensureDirectory(const std::string& dir);

/// Ok if only root (or the user running the upgrader) can change `path`:
/// the file it resolves to is owned by one of them and not writable by
/// group or others, and so is every directory above it, but that a sticky
/// directory (/tmp) may be writable by all (no one can replace what others
/// own there). Otherwise the error says who could: "'/x/y' is writable by
/// its group", "'/home/u' is owned by uid 1000".
Status checkOnlyTrustedCanWrite(const std::string& path);

/// The room in the file system that holds `dir`. A release is never
/// allowed to fill it (the service's own data may live there): `margin`,
/// the smaller of 64 MiB and 5% of the file system, stays free, and
/// `usable` is what may be written beyond that.
struct FreeSpace {
  std::string dir;
  std::uint64_t available = 0;  ///< free to unprivileged writers (f_bavail)
  std::uint64_t margin = 0;
  std::uint64_t usable = 0;     ///< available - margin, or 0
};
Result<FreeSpace> freeSpaceIn(const std::string& dir);

/// "the file system of '/usr/bin' has 120 MiB free, of which 64 MiB stay
/// free".
std::string describe(const FreeSpace& space);

/// Whether `path` exists (without following a final symlink).
bool pathExists(const std::string& path);

}  // namespace upgrader
