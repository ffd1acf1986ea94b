// The systemd generator behind upgrade@.service's ProtectSystem=strict:
// upgrade@.service is a template, so what each instance may write is not
// known when the unit is written. At boot and at every `systemctl
// daemon-reload`, systemd runs /usr/lib/systemd/system-generators/
// upgrader-generator (`upgrader generate-units DIR...`), which reads
// /etc/upgrader/*.conf and writes, for each instance, a drop-in
// upgrade@NAME.service.d/50-upgrader-paths.conf with ReadWritePaths= for
// exactly the directories that instance changes (see writablePaths()), and
// for a container instance 50-upgrader-engine.conf, which starts the
// engine's API service along with the unit (see engineServiceFor()).
// Nothing it meets may fail the boot: a bad configuration only costs its own
// instance its drop-in, with a message in the kernel log.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "config/plan.hpp"

namespace upgrader {

/// The directories an upgrade of `plan` writes besides its state and run
/// directories (which the unit itself grants): binary, the directory of
/// Path= (the staged file, PATH.old, the rename); symlink, that of the
/// `current` link and ReleasesDirectory=; container, none. Lexically
/// normal, absolute, a directory inside another left out (one bind mount:
/// a rename between them stays on one mount). Error for a path that would
/// make everything writable ("/") or is not absolute.
Result<std::vector<std::string>> writablePaths(const Plan& plan);

/// `path` as one quoted word of a unit file setting, prefixed with '-' (a
/// directory missing when the unit starts is no reason for it not to: the
/// upgrader then says what is missing): '%' doubled (specifiers), '"' and
/// '\' escaped, bytes outside printable ASCII as \xNN.
std::string unitFileWord(std::string_view path, bool optional = true);

/// "SourcePath=PATH\n" as systemd reads it (unquoted, '%' doubled), or ""
/// for a path that cannot be written so (blanks, quotes, backslashes,
/// bytes outside printable ASCII): the setting is only informative.
std::string sourcePathLine(std::string_view path);

/// The text of the drop-in for `plan` that grants `paths`.
std::string pathsDropIn(const Plan& plan,
                        const std::vector<std::string>& paths);

/// The container engine's API service that upgrade@NAME.service starts
/// beside itself: "podman.service" or "docker.service" for Mode=container
/// on the engine's usual socket, "" otherwise (another socket: whatever
/// serves it is not known here).
std::string engineServiceFor(const Plan& plan);

/// The text of the drop-in that makes upgrade@NAME.service want `service`.
std::string engineDropIn(const Plan& plan, const std::string& service);

/// One generator run: a drop-in in `normalDir` for every valid instance in
/// `configDir` (a regular file NAME.conf, not a link); `warn` gets a line
/// for each one skipped and why. Never fails: the boot goes on whatever is
/// in /etc/upgrader.
void generateUnits(const std::string& configDir, const std::string& normalDir,
                   const std::function<void(const std::string&)>& warn);

}  // namespace upgrader
