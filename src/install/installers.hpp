// The strategies behind makeInstaller(), and what they share. Internal to
// src/install/.
#pragma once

#include <memory>
#include <string>

#include "install/installer.hpp"

namespace upgrader {

std::unique_ptr<Installer> makeBinaryInstaller(const Plan& plan);
std::unique_ptr<Installer> makeSymlinkInstaller(const Plan& plan);

/// Removes downloads of this source's releases that a killed run left in
/// `dir` (see isPartialDownloadName()); other files are not touched, as
/// `dir` may be shared (/usr/bin).
Status removeStalePartialDownloads(const std::string& dir,
                                   const SourceConfig& source);

}  // namespace upgrader
