#include "exec/command_runner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "common/duration_text.hpp"
#include "common/shown_text.hpp"

extern char** environ;

namespace upgrader {

namespace {

using SteadyClock = std::chrono::steady_clock;

// Enough for the last lines of a failing command, small enough for the
// journal and a terminal.
constexpr std::size_t kOutputTail = 4096;
// SIGTERM first so the command can clean up; SIGKILL after this.
constexpr auto kKillGrace = std::chrono::seconds(2);
// Without a pidfd the child's exit is noticed by polling this often.
constexpr auto kExitPollTick = std::chrono::milliseconds(20);

std::string errnoText(int err) { return std::strerror(err); }

// The process group of the command running now (0: none). If upgrader is
// interrupted (Ctrl-C, a lost ssh session, kill), that group dies with it:
// a Migrate= must not go on writing while the next run, which then holds
// the lock, restores the data under it.
std::atomic<pid_t> runningGroup{0};

extern "C" void killRunningGroupAndDie(int sig) {
  pid_t group = runningGroup.load();
  if (group > 0) ::kill(-group, SIGKILL);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void killCommandsWhenInterrupted() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
      struct sigaction old {};
      // A signal someone chose to ignore (nohup) stays ignored.
      if (::sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN) {
        continue;
      }
      struct sigaction action {};
      action.sa_handler = killRunningGroupAndDie;
      sigemptyset(&action.sa_mask);
      ::sigaction(sig, &action, nullptr);
    }
  });
}

// Publishes the running command's group for the signal handler.
class GroupRegistration {
 public:
  explicit GroupRegistration(pid_t group) { runningGroup.store(group); }
  ~GroupRegistration() { runningGroup.store(0); }
  GroupRegistration(const GroupRegistration&) = delete;
  GroupRegistration& operator=(const GroupRegistration&) = delete;
};

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// The child's dup2() onto 0/1/2 must always create a new descriptor (dup2
// of an fd onto itself would keep its close-on-exec flag), so nothing we
// hand over may itself be 0, 1 or 2 - which happens when our caller runs
// with a standard stream closed.
int moveAboveStdio(int fd) {
  if (fd < 0 || fd > STDERR_FILENO) return fd;
  int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
  int err = errno;
  ::close(fd);
  errno = err;
  return moved;
}

// Our environment with `env` laid over it; built before fork() because the
// child may not allocate.
std::vector<std::string> buildEnvironment(const Environment& env) {
  std::vector<std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    std::string_view name = entry.substr(0, entry.find('='));
    if (env.count(std::string(name)) == 0) out.emplace_back(entry);
  }
  for (const auto& [name, value] : env) out.push_back(name + "=" + value);
  return out;
}

// The kept tail of what the command printed, trimmed, starting at a line
// boundary when it had to be cut.
std::string outputTail(const std::string& buffer, bool truncated) {
  std::string_view text(buffer);
  if (text.size() > kOutputTail) {
    text.remove_prefix(text.size() - kOutputTail);
    truncated = true;
  }
  if (truncated) {
    if (auto nl = text.find('\n'); nl != std::string_view::npos) {
      text.remove_prefix(nl + 1);
    }
  }
  auto isSpace = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
  };
  while (!text.empty() && isSpace(text.front())) text.remove_prefix(1);
  while (!text.empty() && isSpace(text.back())) text.remove_suffix(1);
  std::string out(text);
  if (truncated && !out.empty()) out = "..." + out;
  return out;
}

// One running command: the child, its process group, and the read ends of
// its output pipes (standard error may share the first).
class RunningCommand {
 public:
  RunningCommand(pid_t pid, Fd output, Fd errors, bool capture,
                 std::size_t maxOutput)
      : pid_(pid), capture_(capture), maxOutput_(maxOutput) {
    pipes_[0] = std::move(output);
    pipes_[1] = std::move(errors);
    // A pidfd makes the child's exit a poll() event; kernels before 5.3
    // lack it and we poll waitpid() on a tick instead.
    // (A pidfd is always close-on-exec.)
    long fd = ::syscall(SYS_pidfd_open, pid_, 0);
    if (fd >= 0) pidfd_ = Fd(static_cast<int>(fd));
  }

  // Reads output until the child exits or `deadline`. Returns the wait
  // status once reaped, nullopt on timeout or once the output outgrew its
  // bound (overflowed()).
  Result<std::optional<int>> waitUntil(SteadyClock::time_point deadline) {
    for (;;) {
      if (auto reaped = tryReap(); !reaped) {
        return reaped.error();
      } else if (*reaped) {
        drainAvailable();
        return std::optional<int>(waitStatus_);
      }
      if (overflowed_ && !killing_) return std::optional<int>();
      auto now = SteadyClock::now();
      if (now >= deadline) return std::optional<int>();
      auto wait = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
      if (pidfd_.get() < 0) {
        wait = std::min<std::chrono::milliseconds>(wait, kExitPollTick);
      }
      // int milliseconds for poll(): a timeout of days is waited in parts.
      wait = std::min<std::chrono::milliseconds>(wait, std::chrono::hours(1));
      pollfd fds[3];
      int which[3];
      nfds_t n = 0;
      for (int i = 0; i < 2; ++i) {
        if (pipes_[i].get() < 0) continue;
        which[n] = i;
        fds[n++] = {pipes_[i].get(), POLLIN, 0};
      }
      nfds_t pidIndex = n;
      if (pidfd_.get() >= 0) fds[n++] = {pidfd_.get(), POLLIN, 0};
      int ready = ::poll(fds, n, static_cast<int>(wait.count()));
      if (ready < 0 && errno != EINTR) {
        return Error("poll failed: " + errnoText(errno));
      }
      // Without a pidfd and with the pipes at EOF, poll() above was a
      // plain sleep of one tick.
      if (ready > 0) {
        for (nfds_t i = 0; i < pidIndex; ++i) {
          if (fds[i].revents != 0) readOnce(which[i]);
        }
      }
    }
  }

  // Kills the whole process group: SIGTERM, then SIGKILL for whatever is
  // left after the grace period, and reaps the child. Members that left
  // the group (setsid) are beyond reach, as with systemd's KillMode=.
  void killGroup() {
    // From here on the output's bound no longer ends a wait: the wait is
    // for the group to go.
    killing_ = true;
    ::kill(-pid_, SIGTERM);
    auto graceEnd = SteadyClock::now() + kKillGrace;
    while (SteadyClock::now() < graceEnd) {
      if (!reaped_) {
        auto now = SteadyClock::now();
        if (!waitUntil(std::min<SteadyClock::time_point>(
                graceEnd, now + kExitPollTick))) {
          break;
        }
      } else {
        // The group outlives its leader while a grandchild holds on.
        if (::kill(-pid_, 0) < 0 && errno == ESRCH) return;
        drainAvailable();
        ::poll(nullptr, 0, static_cast<int>(kExitPollTick.count()));
      }
    }
    ::kill(-pid_, SIGKILL);
    if (!reaped_) {
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      reaped_ = true;
    }
    drainAvailable();
  }

  std::string tail() const { return outputTail(tail_, tailTruncated_); }
  std::string takeOutput() { return std::move(output_); }
  bool overflowed() const { return overflowed_; }

 private:
  Result<bool> tryReap() {
    if (reaped_) return true;
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r < 0) {
      if (errno == EINTR) return false;
      return Error("waitpid failed: " + errnoText(errno));
    }
    if (r == 0) return false;
    reaped_ = true;
    waitStatus_ = status;
    return true;
  }

  void readOnce(int i) {
    char chunk[4096];
    ssize_t n = ::read(pipes_[i].get(), chunk, sizeof chunk);
    if (n > 0) {
      append(i, chunk, static_cast<std::size_t>(n));
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
      pipes_[i].reset();
    }
  }

  // After the child is gone a backgrounded grandchild may still hold a
  // pipe open, so read only what is there now rather than until EOF.
  void drainAvailable() {
    for (int i = 0; i < 2; ++i) {
      while (pipes_[i].get() >= 0) {
        pollfd fd{pipes_[i].get(), POLLIN, 0};
        if (::poll(&fd, 1, 0) <= 0) break;
        readOnce(i);
      }
    }
  }

  void append(int pipe, const char* data, std::size_t n) {
    if (pipe == 0 && capture_) {
      if (output_.size() + n > maxOutput_) {
        overflowed_ = true;
      } else {
        output_.append(data, n);
      }
    }
    tail_.append(data, n);
    // Keep memory bounded for chatty commands; the twice-size slack saves
    // moving the buffer on every read.
    if (tail_.size() > 2 * kOutputTail) {
      tail_.erase(0, tail_.size() - kOutputTail);
      tailTruncated_ = true;
    }
  }

  pid_t pid_;
  Fd pipes_[2];
  Fd pidfd_;
  bool capture_;
  std::size_t maxOutput_;
  bool reaped_ = false;
  int waitStatus_ = 0;
  std::string output_;
  bool overflowed_ = false;
  bool killing_ = false;
  std::string tail_;
  bool tailTruncated_ = false;
};

std::string withTail(std::string message, const std::string& tail) {
  if (!tail.empty()) message += ": " + tail;
  return message;
}

// Whether a word can be shown in a command line without quotes.
bool isPlainWord(const std::string& word) {
  if (word.empty()) return false;
  for (char c : word) {
    bool plain =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9') ||
        std::string_view("-_./:=@+,%").find(c) != std::string_view::npos;
    if (!plain) return false;
  }
  return true;
}

// Creates a pipe whose ends are both above the standard descriptors.
Status makePipe(Fd& readEnd, Fd& writeEnd) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) return Error("pipe: " + errnoText(errno));
  readEnd = Fd(moveAboveStdio(fds[0]));
  writeEnd = Fd(moveAboveStdio(fds[1]));
  if (readEnd.get() < 0 || writeEnd.get() < 0) {
    return Error("pipe: " + errnoText(errno));
  }
  return okStatus();
}

class ProcessRunner final : public CommandRunner {
 public:
  Result<CommandResult> run(const CommandLine& command) override {
    const std::string name =
        "command " + quoteValue(describeArgv(command.argv));
    if (command.argv.empty() || command.argv[0].empty() ||
        command.argv[0][0] != '/') {
      return Error(name +
                   " could not be started: the program must be an "
                   "absolute path");
    }
    auto deadline = saturatingAdd(SteadyClock::now(), command.timeout);

    // Everything the child needs is prepared here: between fork() and
    // exec() only async-signal-safe calls are allowed (other threads may
    // hold the allocator's lock at the moment of the fork).
    std::vector<std::string> envStrings;
    std::vector<char*> envp;
    std::vector<std::string> argStrings;
    std::vector<char*> argv;
    try {
      envStrings = buildEnvironment(command.env);
      for (auto& s : envStrings) envp.push_back(s.data());
      envp.push_back(nullptr);
      argStrings = command.argv;
      for (auto& s : argStrings) argv.push_back(s.data());
      argv.push_back(nullptr);
    } catch (const std::exception& e) {
      return Error(name + " could not be started: " + e.what());
    }

    Fd outRead, outWrite, errRead, errWrite;
    if (auto st = makePipe(outRead, outWrite); !st) {
      return st.error().withContext(name + " could not be started");
    }
    if (!command.mergeStderr) {
      if (auto st = makePipe(errRead, errWrite); !st) {
        return st.error().withContext(name + " could not be started");
      }
    }
    Fd devNull(moveAboveStdio(::open("/dev/null", O_RDONLY | O_CLOEXEC)));
    if (devNull.get() < 0) {
      return Error(name +
                   " could not be started: /dev/null: " + errnoText(errno));
    }
    const int childErr = command.mergeStderr ? outWrite.get() : errWrite.get();
    sigset_t noSignals;
    sigemptyset(&noSignals);
    struct sigaction defaultAction {};
    defaultAction.sa_handler = SIG_DFL;
    sigemptyset(&defaultAction.sa_mask);

    pid_t pid = ::fork();
    if (pid < 0) {
      return Error(name + " could not be started: fork: " + errnoText(errno));
    }
    if (pid == 0) {
      // Child: async-signal-safe calls only.
      ::setpgid(0, 0);
      // Ignored signals and the signal mask survive exec(); a command must
      // not start with SIGTERM blocked or SIGPIPE ignored just because we
      // run that way.
      for (int sig = 1; sig < NSIG; ++sig) {
        ::sigaction(sig, &defaultAction, nullptr);
      }
      ::sigprocmask(SIG_SETMASK, &noSignals, nullptr);
      if (::dup2(devNull.get(), STDIN_FILENO) < 0 ||
          ::dup2(outWrite.get(), STDOUT_FILENO) < 0 ||
          ::dup2(childErr, STDERR_FILENO) < 0) {
        ::_exit(127);
      }
      // Descriptors opened elsewhere without O_CLOEXEC (other threads,
      // libraries) must not reach the command either.
      if (::syscall(SYS_close_range, 3U, ~0U, 0U) < 0) {
        for (int fd = 3; fd < 4096; ++fd) ::close(fd);
      }
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    // Also in the parent, so the group exists before kill(-pid) could be
    // needed, whichever process runs first.
    ::setpgid(pid, pid);
    GroupRegistration registered(pid);
    outWrite.reset();
    errWrite.reset();
    devNull.reset();
    ::fcntl(outRead.get(), F_SETFL, O_NONBLOCK);
    if (errRead.get() >= 0) ::fcntl(errRead.get(), F_SETFL, O_NONBLOCK);

    RunningCommand child(pid, std::move(outRead), std::move(errRead),
                         command.captureOutput, command.maxOutput);
    auto waited = child.waitUntil(deadline);
    if (!waited) {
      child.killGroup();
      return waited.error().withContext(name);
    }
    if (!waited.value()) {
      child.killGroup();
      if (child.overflowed()) {
        return Error(name + " printed more than " +
                     std::to_string(command.maxOutput) +
                     " bytes and was stopped");
      }
      return Error(
          withTail(name + " timed out after " + durationText(command.timeout),
                   child.tail()));
    }
    int status = **waited;
    if (WIFEXITED(status)) {
      return CommandResult{WEXITSTATUS(status), child.takeOutput(),
                           child.tail()};
    }
    if (WIFSIGNALED(status)) {
      return Error(withTail(
          name + " killed by signal " + std::to_string(WTERMSIG(status)),
          child.tail()));
    }
    return Error(name + " ended with wait status " + std::to_string(status));
  }
};

}  // namespace

Status CommandRunner::runShell(const std::string& script,
                               const Environment& env, Duration timeout) {
  CommandLine command;
  command.argv = {"/bin/sh", "-c", script};
  command.env = env;
  command.timeout = timeout;
  command.mergeStderr = true;
  // Only the tail is ever shown; the output itself is not kept.
  command.captureOutput = false;
  auto result = run(command);
  const std::string name = "command " + quoteValue(script);
  if (!result) {
    // Reworded so the operator sees the command as configured, not the
    // shell that ran it.
    std::string message = result.error().message();
    const std::string prefix =
        "command " + quoteValue(describeArgv(command.argv));
    if (message.rfind(prefix, 0) == 0)
      message = name + message.substr(prefix.size());
    return Error(message);
  }
  if (result->exitStatus == 0) return okStatus();
  return Error(withTail(
      name + " exited with status " + std::to_string(result->exitStatus),
      result->tail));
}

std::string describeArgv(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& word : argv) {
    if (!out.empty()) out += ' ';
    if (isPlainWord(word)) {
      out += word;
      continue;
    }
    out += '\'';
    for (char c : word) {
      if (c == '\'') {
        out += "'\\''";
      } else {
        out += c;
      }
    }
    out += '\'';
  }
  return out;
}

std::unique_ptr<CommandRunner> makeProcessRunner() {
  killCommandsWhenInterrupted();
  return std::make_unique<ProcessRunner>();
}

}  // namespace upgrader
