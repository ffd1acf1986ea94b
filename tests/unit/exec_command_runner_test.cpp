// The real process runner against real /bin/sh processes.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "common/duration_text.hpp"
#include "common/file_util.hpp"
#include "exec/command_runner.hpp"
#include "support/temp_dir.hpp"

namespace upgrader {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::TempDir;
using SteadyClock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Whether `pid` is gone: no such process, or a zombie waiting for a reaper
// that is not us (a container's PID 1 may never reap).
bool processGone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  std::string line;
  std::getline(stat, line);
  auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() &&
         line[close + 2] == 'Z';
}

pid_t readPid(const std::string& path) {
  auto text = readFile(path);
  if (!text || text->empty()) return 0;
  return static_cast<pid_t>(std::stol(*text));
}

// Waits up to 10 s: the grandchild dies from our signal asynchronously,
// and a loaded machine may take a while to get round to it.
bool becomesGone(pid_t pid) {
  for (int i = 0; i < 1000; ++i) {
    if (processGone(pid)) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

// A run of SCRIPT that its timeout ends, and how long it took.
struct TimedOutRun {
  Status status;
  std::chrono::milliseconds timeout{};
  SteadyClock::duration elapsed{};
};

// The timeout runs whatever the machine is doing: on a loaded one (the
// suite runs these tests at nice 19 beside two test beds) the shell may
// not have got to writing PID_FILE, the point the test is about, before
// it ends. Such a try shows nothing either way, so it is made again with
// a longer timeout; the first try that got there is returned.
TimedOutRun timeOutOnceStarted(const std::string& script,
                               const std::string& pidFile) {
  auto runner = makeProcessRunner();
  TimedOutRun run;
  for (auto timeout : {300ms, 1000ms, 3000ms, 10000ms}) {
    ::unlink(pidFile.c_str());
    auto start = SteadyClock::now();
    run.status = runner->runShell(script, {}, timeout);
    run.elapsed = SteadyClock::now() - start;
    run.timeout = timeout;
    if (readPid(pidFile) > 0) break;
  }
  return run;
}

TEST(ACommandRunner, SucceedsWhenTheCommandExitsZero) {
  auto runner = makeProcessRunner();
  Status s = runner->runShell("true", {}, 5s);
  EXPECT_TRUE(s) << s.error().message();
}

TEST(ACommandRunner, ReportsTheExitStatusWithTheOutputOfBothStreams) {
  auto runner = makeProcessRunner();
  Status s = runner->runShell("echo out; echo err >&2; exit 3", {}, 5s);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(),
            "command 'echo out; echo err >&2; exit 3' exited with status 3: "
            "out\nerr");
}

TEST(ACommandRunner, LeavesOutTheOutputPartWhenThereWasNone) {
  auto runner = makeProcessRunner();
  Status s = runner->runShell("exit 1", {}, 5s);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(), "command 'exit 1' exited with status 1");
}

TEST(ACommandRunner, ReportsTheSignalThatKilledTheCommand) {
  auto runner = makeProcessRunner();
  Status s = runner->runShell("kill -9 $$", {}, 5s);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(), "command 'kill -9 $$' killed by signal 9");
}

TEST(ACommandRunner, KeepsOnlyTheLastPartOfLongOutput) {
  auto runner = makeProcessRunner();
  Status s = runner->runShell(
      "i=0; while [ $i -lt 3000 ]; do echo line $i; i=$((i+1)); done; exit 2",
      {}, 10s);
  ASSERT_FALSE(s);
  const std::string& m = s.error().message();
  EXPECT_THAT(m, EndsWith("line 2999"));
  EXPECT_THAT(m, HasSubstr("exited with status 2: ...line "));
  EXPECT_THAT(m, ::testing::Not(HasSubstr("line 1000\n")));
  EXPECT_LT(m.size(), 4096u + 200u);
}

TEST(ACommandRunner, PassesTheGivenVariablesAlongWithTheInheritedOnes) {
  ASSERT_EQ(::setenv("UPGRADER_TEST_INHERITED", "kept", 1), 0);
  ASSERT_EQ(::setenv("UPGRADER_TEST_OVERRIDDEN", "old", 1), 0);
  auto runner = makeProcessRunner();
  Status s = runner->runShell(
      "test \"$UPGRADER_TEST_INHERITED\" = kept && "
      "test \"$UPGRADER_TEST_OVERRIDDEN\" = new && "
      "test \"$UPGRADER_VERSION\" = '1.2 3' || { env; exit 1; }",
      {{"UPGRADER_TEST_OVERRIDDEN", "new"}, {"UPGRADER_VERSION", "1.2 3"}}, 5s);
  EXPECT_TRUE(s) << s.error().message();
  ::unsetenv("UPGRADER_TEST_INHERITED");
  ::unsetenv("UPGRADER_TEST_OVERRIDDEN");
}

TEST(ACommandRunner, GivesTheCommandDevNullAsStdin) {
  auto runner = makeProcessRunner();
  Status s = runner->runShell(
      "test \"$(readlink /proc/self/fd/0)\" = /dev/null && "
      "test -z \"$(cat)\"",
      {}, 5s);
  EXPECT_TRUE(s) << s.error().message();
}

TEST(ACommandRunner, LeaksNoDescriptorBeyondTheStandardThree) {
  // Opened without O_CLOEXEC, as careless code elsewhere in the process
  // might.
  int stray = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(stray, 0);
  auto runner = makeProcessRunner();
  Status s = runner->runShell("ls /proc/$$/fd; exit 1", {}, 5s);
  ::close(stray);
  ASSERT_FALSE(s);
  EXPECT_THAT(s.error().message(), EndsWith("status 1: 0\n1\n2"));
}

TEST(ACommandRunner, RunsTheCommandInItsOwnProcessGroup) {
  auto runner = makeProcessRunner();
  Status s = runner->runShell(
      // Field 5 of stat is the process group ("(sh)" has no space).
      "test \"$(cut -d' ' -f5 /proc/$$/stat)\" = $$", {}, 5s);
  EXPECT_TRUE(s) << s.error().message();
}

TEST(ACommandRunner, KillsTheWholeProcessGroupOnTimeout) {
  TempDir dir;
  TimedOutRun run = timeOutOnceStarted(
      "echo started; sleep 30 & echo $! > " + (dir / "pid") + "; wait",
      dir / "pid");
  const Status& s = run.status;
  ASSERT_FALSE(s);
  EXPECT_THAT(s.error().message(), StartsWith("command 'echo started; "));
  EXPECT_THAT(s.error().message(),
              EndsWith("timed out after " + durationText(run.timeout) +
                       ": started"));
  // Not the sleep's 30 s: the group was killed. (The 2 s grace may pass
  // before the run returns: the group counts as alive while the dead
  // grandchild waits for PID 1 to reap it, which some container inits
  // do lazily; a loaded machine adds its own delay.)
  EXPECT_LT(run.elapsed, run.timeout + 10s);
  pid_t grandchild = readPid(dir / "pid");
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(becomesGone(grandchild)) << "sleep " << grandchild << " lives";
}

TEST(ACommandRunner, TakesTheRunningCommandAlongWhenUpgraderIsKilled) {
  TempDir dir;
  std::string pidFile = dir / "pid";
  pid_t upgrader = ::fork();
  ASSERT_GE(upgrader, 0);
  if (upgrader == 0) {  // stands in for an upgrader running a Migrate= hook
    auto runner = makeProcessRunner();
    (void)runner->runShell("sleep 30 & echo $! > " + pidFile + "; wait", {}, 60s);
    ::_exit(0);
  }
  pid_t grandchild = 0;
  for (int i = 0; i < 500 && grandchild == 0; ++i) {
    grandchild = readPid(pidFile);
    if (grandchild == 0) std::this_thread::sleep_for(10ms);
  }
  ASSERT_GT(grandchild, 0);
  ::kill(upgrader, SIGTERM);
  int status = 0;
  ASSERT_EQ(::waitpid(upgrader, &status, 0), upgrader);
  // It died of the signal, as it would have without the handler...
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
  // ...and took the hook's whole process group with it.
  EXPECT_TRUE(becomesGone(grandchild)) << "sleep " << grandchild << " lives";
}

TEST(ACommandRunner, KillsWithSigkillWhatIgnoresSigterm) {
  TempDir dir;
  // The pid is written after the trap is set: a try that got there
  // ignores SIGTERM.
  TimedOutRun run = timeOutOnceStarted(
      "trap '' TERM; sleep 30 & echo $! > " + (dir / "pid") + "; wait",
      dir / "pid");
  const Status& s = run.status;
  ASSERT_FALSE(s);
  EXPECT_THAT(s.error().message(),
              EndsWith("timed out after " + durationText(run.timeout)));
  // SIGTERM, the 2 s grace, then SIGKILL: not the sleep's 30 s.
  EXPECT_GE(run.elapsed, run.timeout + 2s);
  EXPECT_LT(run.elapsed, run.timeout + 10s);
  pid_t grandchild = readPid(dir / "pid");
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(becomesGone(grandchild)) << "sleep " << grandchild << " lives";
}

TEST(ACommandRunner,
     ReturnsWhenTheCommandExitsEvenIfABackgroundChildKeepsTheOutputOpen) {
  TempDir dir;
  auto runner = makeProcessRunner();
  auto start = SteadyClock::now();
  Status s =
      runner->runShell("sleep 5 & echo $! > " + (dir / "pid") + "; exit 0", {}, 10s);
  EXPECT_TRUE(s) << s.error().message();
  EXPECT_LT(SteadyClock::now() - start, 2s);
  if (pid_t pid = readPid(dir / "pid"); pid > 0) ::kill(pid, SIGKILL);
}

TEST(ACommandRunner, NamesACommandWithControlCharactersSafely) {
  auto runner = makeProcessRunner();
  Status s = runner->runShell("exit 4\n", {}, 5s);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(), "command 'exit 4\\x0a' exited with status 4");
}

TEST(ACommandRunner, TakesATimeoutOfCenturiesAsALongTimeNotAsPast) {
  // 20000 weeks overflowed the deadline arithmetic: the command timed out
  // at once. Deadlines saturate now.
  auto runner = makeProcessRunner();
  Status s = runner->runShell("true", {}, std::chrono::hours(24 * 7 * 20000));
  EXPECT_TRUE(s) << s.error().message();
}

// ---- argv commands: no shell, output captured ----------------------------

CommandLine argvCommand(std::vector<std::string> argv) {
  CommandLine c;
  c.argv = std::move(argv);
  c.timeout = 5s;
  return c;
}

TEST(AnArgvCommand, RunsWithoutAShellAndCapturesStandardOutput) {
  auto runner = makeProcessRunner();
  // A shell would expand these; the program gets them as they are.
  auto result = runner->run(argvCommand({"/bin/echo", "$HOME", "a;b", "*"}));
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(result->exitStatus, 0);
  EXPECT_EQ(result->output, "$HOME a;b *\n");
}

TEST(AnArgvCommand, KeepsStandardErrorOutOfTheOutputButInTheTail) {
  auto runner = makeProcessRunner();
  auto result = runner->run(
      argvCommand({"/bin/sh", "-c", "echo '{\"a\":1}'; echo warning >&2; exit 3"}));
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(result->exitStatus, 3);
  EXPECT_EQ(result->output, "{\"a\":1}\n");
  EXPECT_THAT(result->tail, HasSubstr("warning"));
}

TEST(AnArgvCommand, IsStoppedWhenItPrintsMoreThanItsBound) {
  auto runner = makeProcessRunner();
  CommandLine c = argvCommand({"/bin/cat", "/dev/zero"});
  c.maxOutput = 64 * 1024;
  auto start = SteadyClock::now();
  auto result = runner->run(c);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message(),
            "command '/bin/cat /dev/zero' printed more than 65536 bytes and "
            "was stopped");
  EXPECT_LT(SteadyClock::now() - start, 4s);  // stopped, not run to the timeout
}

TEST(AnArgvCommand, NeedsAnAbsoluteProgramPath) {
  auto runner = makeProcessRunner();
  auto result = runner->run(argvCommand({"echo", "hi"}));
  ASSERT_FALSE(result);
  EXPECT_THAT(result.error().message(), HasSubstr("must be an absolute path"));
}

TEST(AnArgvCommand, ReportsAProgramThatDoesNotExistAsExitStatus127) {
  auto runner = makeProcessRunner();
  auto result = runner->run(argvCommand({"/nonexistent/tool", "x"}));
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(result->exitStatus, 127);
}

TEST(AnArgvCommand, TimesOutAndKillsItsProcessGroup) {
  auto runner = makeProcessRunner();
  CommandLine c = argvCommand({"/bin/sleep", "30"});
  c.timeout = 100ms;
  auto result = runner->run(c);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message(),
            "command '/bin/sleep 30' timed out after 100ms");
}

TEST(DescribeArgv, QuotesWordsThatNeedIt) {
  EXPECT_EQ(describeArgv({"/usr/bin/podman", "pull", "reg:5000/app@sha256:ab"}),
            "/usr/bin/podman pull reg:5000/app@sha256:ab");
  EXPECT_EQ(describeArgv({"/bin/sh", "-c", "echo it's"}),
            "/bin/sh -c 'echo it'\\''s'");
  EXPECT_EQ(describeArgv({"/bin/true", ""}), "/bin/true ''");
}

}  // namespace
}  // namespace upgrader
