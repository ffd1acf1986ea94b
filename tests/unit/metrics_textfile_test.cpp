// The node_exporter textfile: what the series say, that the counters
// survive a new process (metrics.json), that no text from a server can
// break the format, and that the file is replaced whole or not written.
#include "metrics/textfile.hpp"

#include <sys/stat.h>

#include <fstream>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/file_util.hpp"
#include "support/temp_dir.hpp"

namespace upgrader {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::entriesIn;
using testing::TempDir;
using namespace std::chrono_literals;

RunRecord run(const std::string& outcome, std::uint64_t atSeconds = 1000) {
  return RunRecord{outcome, atSeconds * 1000000, 2s, std::nullopt, "2.0"};
}

TEST(AMetricsHistory, CountsUpgradesRollbacksAndFailuresAcrossProcesses) {
  TempDir dir;
  ASSERT_TRUE(recordRun(dir.path(), run("upgraded", 100)));
  ASSERT_TRUE(recordRun(dir.path(), run("rolled-back", 200)));
  ASSERT_TRUE(recordRun(dir.path(), run("failed-unchanged", 300)));
  ASSERT_TRUE(recordRun(dir.path(), run("rolled-back-on-request", 400)));
  auto h = recordRun(dir.path(), run("nothing-to-do", 500));
  ASSERT_TRUE(h) << h.error().message();
  EXPECT_EQ(h->upgrades, 1u);
  EXPECT_EQ(h->rollbacks, 2u);
  EXPECT_EQ(h->failures, 2u);
  EXPECT_EQ(h->lastRunUs, 500000000u);
  EXPECT_EQ(h->lastSuccessUs, 500000000u);
  EXPECT_EQ(h->lastOutcome, "nothing-to-do");
}

TEST(AMetricsHistory, KeepsTheLastSuccessWhenARunFails) {
  TempDir dir;
  ASSERT_TRUE(recordRun(dir.path(), run("upgraded", 100)));
  auto h = recordRun(dir.path(), run("rollback-failed", 200));
  ASSERT_TRUE(h);
  EXPECT_EQ(h->lastSuccessUs, 100000000u);
  EXPECT_EQ(h->lastRunUs, 200000000u);
  EXPECT_EQ(h->failures, 1u);
  EXPECT_EQ(h->rollbacks, 1u);
}

TEST(AMetricsHistory, RemembersTheWindowOfTheLastRunThatStoppedTheService) {
  TempDir dir;
  RunRecord stopped = run("upgraded");
  stopped.unavailable = 350ms;
  ASSERT_TRUE(recordRun(dir.path(), stopped));
  auto h = recordRun(dir.path(), run("nothing-to-do"));
  ASSERT_TRUE(h);
  EXPECT_DOUBLE_EQ(h->unavailableSeconds, 0.35);
  EXPECT_DOUBLE_EQ(h->upgradeSeconds, 2.0);
}

TEST(AMetricsHistory, LeavesNothingOnDiskForAnInstanceWithoutState) {
  TempDir dir;
  auto h = recordRun(dir / "demo", run("failed-unchanged"));
  ASSERT_TRUE(h) << h.error().message();
  EXPECT_EQ(h->failures, 1u);
  EXPECT_FALSE(pathExists(dir / "demo"));
}

TEST(AMetricsHistory, StartsAgainFromACorruptFileAndSaysSo) {
  TempDir dir;
  std::ofstream(dir / "metrics.json") << "{not json";
  auto h = recordRun(dir.path(), run("upgraded"));
  ASSERT_FALSE(h);
  EXPECT_THAT(h.error().message(), HasSubstr(dir / "metrics.json"));
  EXPECT_THAT(h.error().message(), HasSubstr("start again at 0"));
  // The new history is saved: the next run counts from it.
  auto next = recordRun(dir.path(), run("upgraded"));
  ASSERT_TRUE(next) << next.error().message();
  EXPECT_EQ(next->upgrades, 2u);
}

TEST(TheMetricsText, NamesTheInstalledVersionAndEveryOutcome) {
  InstanceState s;
  s.installed = ReleaseRef{"2.1.0", "abc"};
  s.quarantined.push_back({"2.2.0", "t", "unhealthy"});
  RunHistory h;
  h.upgrades = 3;
  h.rollbacks = 1;
  h.lastRunUs = 1700000000500000;
  h.lastOutcome = "rolled-back";
  h.offered = "2.2.0";
  std::string text = renderMetrics("progressdb", s, h);
  EXPECT_THAT(text, HasSubstr("upgrader_installed_info{name=\"progressdb\",version=\"2.1.0\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("upgrader_offered_info{name=\"progressdb\",version=\"2.2.0\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("upgrader_last_outcome{name=\"progressdb\",outcome=\"rolled-back\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("upgrader_last_outcome{name=\"progressdb\",outcome=\"upgraded\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("upgrader_upgrades_total{name=\"progressdb\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("upgrader_rollbacks_total{name=\"progressdb\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("upgrader_last_run_timestamp_seconds{name=\"progressdb\"} 1700000000.500000\n"));
  EXPECT_THAT(text, HasSubstr("upgrader_quarantined_versions{name=\"progressdb\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("upgrader_quarantined_info{name=\"progressdb\",version=\"2.2.0\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE upgrader_rollbacks_total counter\n"));
  // No window before a run has stopped the service.
  EXPECT_THAT(text, Not(HasSubstr("upgrader_unavailable_seconds{")));
}

TEST(TheMetricsText, KeepsHostileTextInsideItsLabel) {
  InstanceState s;
  s.installed = ReleaseRef{"1\"} 9\nupgrader_failures_total{name=\"x\"} 0\\\xff", "id"};
  std::string text = renderMetrics("demo", s, RunHistory{});
  EXPECT_THAT(text, HasSubstr(
      "upgrader_installed_info{name=\"demo\",version=\"1\\\"} 9?upgrader_failures_total"
      "{name=\\\"x\\\"} 0\\\\?\"} 1\n"));
  // Every line is a comment or one sample.
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    ASSERT_NE(end, std::string::npos);
    std::string line = text.substr(start, end - start);
    EXPECT_TRUE(line.starts_with("# ") || line.starts_with("upgrader_")) << line;
    for (unsigned char c : line) EXPECT_LT(c, 0x80) << line;
    start = end + 1;
  }
}

TEST(ATextfile, IsNotWrittenWhereThereIsNoNodeExporterDirectory) {
  TempDir dir;
  EXPECT_TRUE(writeTextfile(dir / "absent", "demo", "x 1\n"));
  EXPECT_FALSE(pathExists(dir / "absent"));
}

TEST(ATextfile, IsReplacedWholeAndReadableByTheExporter) {
  TempDir dir;
  // As in upgrade@'s unit (UMask=0077): node_exporter runs as its own user.
  mode_t umask = ::umask(077);
  ASSERT_TRUE(writeTextfile(dir.path(), "demo", "old 1\n"));
  ASSERT_TRUE(writeTextfile(dir.path(), "demo", "new 1\n"));
  ::umask(umask);
  EXPECT_EQ(*readFile(dir / "upgrader-demo.prom"), "new 1\n");
  EXPECT_EQ(entriesIn(dir.path()), std::vector<std::string>{"upgrader-demo.prom"});
  struct stat st {};
  ASSERT_EQ(::stat((dir / "upgrader-demo.prom").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST(ATextfile, RefusesADirectoryThatIsAFile) {
  TempDir dir;
  std::ofstream(dir / "file") << "";
  auto st = writeTextfile(dir / "file", "demo", "x 1\n");
  ASSERT_FALSE(st);
  EXPECT_THAT(st.error().message(), HasSubstr("is not a directory"));
}

}  // namespace
}  // namespace upgrader
