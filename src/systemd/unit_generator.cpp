#include "systemd/unit_generator.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/filesystem.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/file_util.hpp"
#include "config/modes.hpp"
#include "config/names.hpp"
#include "config/plan_loader.hpp"

namespace upgrader {

namespace {

constexpr std::string_view kPathsDropIn = "50-upgrader-paths.conf";
constexpr std::string_view kEngineDropIn = "50-upgrader-engine.conf";
// The templates that run the upgrader in its sandbox: the upgrade, and the
// fetch ahead (upgrade-fetch@.service, made from upgrade@.service). Both
// write where the instance installs, and both talk to its engine.
constexpr std::string_view kTemplates[] = {"upgrade", "upgrade-fetch"};

// Whether `inner` is `outer` or lies below it.
bool isWithin(const std::string& inner, const std::string& outer) {
  if (outer == "/") return true;
  return inner == outer || (inner.size() > outer.size() &&
                            inner.compare(0, outer.size(), outer) == 0 &&
                            inner[outer.size()] == '/');
}

// Writes `text` as the new file `name` in the directory `dirFd`, never
// through a link someone left there (O_NOFOLLOW, O_EXCL: systemd hands a
// generator empty directories, so any entry already there is refused).
Status writeNewFile(int dirFd, const std::string& name, const std::string& text,
                    const std::string& shownPath) {
  int fd = ::openat(dirFd, name.c_str(),
                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return systemError("create", shownPath, errno);
  std::string_view rest(text);
  Status status;
  while (!rest.empty()) {
    ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status = systemError("write", shownPath, errno);
      break;
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  if (::close(fd) < 0 && status)
    status = systemError("close", shownPath, errno);
  return status;
}

Status writeDropIn(const std::string& normalDir, std::string_view unitTemplate,
                   const InstanceName& instance, std::string_view fileName,
                   const std::string& text) {
  const std::string dirName =
      std::string(unitTemplate) + "@" + instance.str() + ".service.d";
  const std::string dirPath = normalDir + "/" + dirName;
  int base = ::open(normalDir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (base < 0) return systemError("open directory", normalDir, errno);
  Status status;
  if (::mkdirat(base, dirName.c_str(), 0755) < 0 && errno != EEXIST) {
    status = systemError("create directory", dirPath, errno);
  }
  int dir = -1;
  if (status) {
    // O_NOFOLLOW: an entry of that name that is a symlink is refused.
    dir = ::openat(base, dirName.c_str(),
                   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dir < 0) status = systemError("open directory", dirPath, errno);
  }
  ::close(base);
  if (!status) return status;
  status = writeNewFile(dir, std::string(fileName), text,
                        dirPath + "/" + std::string(fileName));
  ::close(dir);
  return status;
}

// The instances configured in `configDir`, by file name, sorted.
Result<std::vector<std::string>> configFiles(const std::string& configDir) {
  std::vector<std::string> names;
  DIR* dir = ::opendir(configDir.c_str());
  if (dir == nullptr) {
    if (errno == ENOENT) return names;
    return systemError("list", configDir, errno);
  }
  while (const dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name.size() > 5 && name.compare(name.size() - 5, 5, ".conf") == 0) {
      names.push_back(name);
    }
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

Result<std::vector<std::string>> writablePaths(const Plan& plan) {
  const std::vector<std::string> wanted = modeInfo(plan.install.mode).writable(plan);
  std::vector<std::string> paths;
  for (const auto& raw : wanted) {
    if (raw.empty() || raw[0] != '/') {
      return Error("'" + raw + "' is not an absolute path");
    }
    std::string path = boost::filesystem::path(raw).lexically_normal().string();
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    if (path == "/") {
      return Error("refusing to make all of '/' writable (for '" + raw +
                   "')");
    }
    paths.push_back(path);
  }
  std::sort(paths.begin(), paths.end());
  std::vector<std::string> kept;
  for (const auto& p : paths) {
    bool inside =
        std::any_of(kept.begin(), kept.end(),
                    [&](const std::string& k) { return isWithin(p, k); });
    if (!inside) kept.push_back(p);
  }
  return kept;
}

std::string unitFileWord(std::string_view path, bool optional) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  if (optional) out += '-';
  for (char c : path) {
    auto b = static_cast<unsigned char>(c);
    if (c == '%') {
      out += "%%";
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (b < 0x20 || b >= 0x7f) {
      out += "\\x";
      out += kHex[b >> 4];
      out += kHex[b & 0xf];
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

std::string sourcePathLine(std::string_view path) {
  // systemd takes SourcePath= as the rest of the line, unquoted, with
  // specifiers: quotes would make it "not absolute" (a warning on every
  // run), so the path goes as it is, % doubled. A path a unit file cannot
  // hold that way is left out: the line is only informative.
  if (path.empty() || path[0] != '/') return "";
  std::string out = "SourcePath=";
  for (char c : path) {
    auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b >= 0x7f || c == '\\' || c == '"' || c == '\'') {
      return "";
    }
    if (c == '%') out += '%';
    out += c;
  }
  return out + "\n";
}

std::string pathsDropIn(const Plan& plan,
                        const std::vector<std::string>& paths) {
  std::string text =
      "# Written by upgrader-generator (upgrader generate-units) from\n"
      "# " +
      unitFileWord(plan.configFile, false) + ": what upgrade@" +
      plan.instance.str() +
      ".service may change under\n"
      "# ProtectSystem=strict. After changing that file: systemctl "
      "daemon-reload\n"
      "[Unit]\n" +
      sourcePathLine(plan.configFile) +
      "\n"
      "[Service]\n";
  for (const auto& p : paths)
    text += "ReadWritePaths=" + unitFileWord(p) + "\n";
  return text;
}

std::string engineServiceFor(const Plan& plan) {
  if (plan.install.mode != InstallConfig::Mode::kContainer) return "";
  if (!plan.container.socket.empty()) return "";
  return plan.container.engine == ContainerConfig::Engine::kPodman
             ? "podman.service"
             : "docker.service";
}

std::string engineDropIn(const Plan& plan, const std::string& service) {
  // Wants= without After=: systemd starts the engine's service at the same
  // time as the upgrader's sandbox is set up, and the upgrader asks the
  // registry what to pull meanwhile. Podman's service exits when idle (5 s),
  // so without this every run waits for it to start at its first request.
  // A service already running is left as it is; one that fails to start
  // fails nothing here: the upgrader then reports the engine's socket.
  return "# Written by upgrader-generator (upgrader generate-units) from\n"
         "# " +
         unitFileWord(plan.configFile, false) + ": upgrade@" +
         plan.instance.str() +
         ".service starts the engine's API\n"
         "# service along with itself. After changing that file: systemctl "
         "daemon-reload\n"
         "[Unit]\n" +
         sourcePathLine(plan.configFile) + "Wants=" + service + "\n";
}

void generateUnits(const std::string& configDir, const std::string& normalDir,
                   const std::function<void(const std::string&)>& warn) {
  auto files = configFiles(configDir);
  if (!files) {
    warn(files.error().message() + "; no instance gets writable paths");
    return;
  }
  for (const auto& file : *files) {
    const std::string path = configDir + "/" + file;
    auto skip = [&](const std::string& why) {
      warn(path + ": upgrade@" + file.substr(0, file.size() - 5) +
           ".service gets no writable paths: " + why);
    };
    // Only a regular file, not followed through a link: what an instance
    // may write is decided by a file root put here, nothing it points to.
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
      skip(std::strerror(errno));
      continue;
    }
    if (!S_ISREG(st.st_mode)) {
      skip("not a regular file");
      continue;
    }
    auto instance = parseInstanceName(file.substr(0, file.size() - 5));
    if (!instance) {
      skip(instance.error().message());
      continue;
    }
    auto plan = loadPlan(path, *instance);
    if (!plan) {
      skip(plan.error().message());
      continue;
    }
    auto paths = writablePaths(*plan);
    if (!paths) {
      skip(paths.error().message());
      continue;
    }
    for (std::string_view unitTemplate : kTemplates) {
      const std::string unit =
          std::string(unitTemplate) + "@" + instance->str() + ".service";
      if (!paths->empty()) {
        if (auto st = writeDropIn(normalDir, unitTemplate, *instance,
                                  kPathsDropIn, pathsDropIn(*plan, *paths));
            !st) {
          warn(path + ": " + unit +
               " gets no writable paths: " + st.error().message());
          continue;
        }
      }
      // Only a matter of speed: a failure to write it is said, not more.
      if (std::string engine = engineServiceFor(*plan); !engine.empty()) {
        if (auto st = writeDropIn(normalDir, unitTemplate, *instance,
                                  kEngineDropIn, engineDropIn(*plan, engine));
            !st) {
          warn(path + ": " + unit + " does not start " + engine +
               " along with itself: " + st.error().message());
        }
      }
    }
  }
}

}  // namespace upgrader
