#include "upgrade/state_store.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "common/file_util.hpp"
#include "support/temp_dir.hpp"

namespace upgrader {
namespace {

using testing::TempDir;

TEST(FileStateStore, LoadsAnEmptyStateWhenNothingWasSaved) {
  TempDir dir;
  auto state = makeFileStateStore(dir / "demo")->load();
  ASSERT_TRUE(state);
  EXPECT_FALSE(state->installed);
  EXPECT_FALSE(state->transaction);
}

TEST(FileStateStore, RemovesTheTempFileOfASaveThatWasCutShort) {
  TempDir dir;
  auto store = makeFileStateStore(dir / "demo");
  ASSERT_TRUE(store->save(InstanceState{}));
  // Killed (or the power lost) between the temp file's write and its rename.
  std::ofstream(dir / "demo/.state.json.upgrader-tmp-0123456789abcdef") << "{\"half";
  ASSERT_TRUE(store->save(InstanceState{}));
  EXPECT_FALSE(pathExists(dir / "demo/.state.json.upgrader-tmp-0123456789abcdef"));
  EXPECT_TRUE(store->load());
}

TEST(FileStateStore, SavesMessagesThatAreNotUtf8) {
  // A hook's output is any bytes; it reaches the state through messages.
  TempDir dir;
  auto store = makeFileStateStore(dir / "demo");
  InstanceState s;
  s.last = LastResult{"rolled-back", "T", "2", "3", "Migrate= said \xff\xfe"};
  ASSERT_TRUE(store->save(s));
  auto back = store->load();
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->last->message.rfind("Migrate= said ", 0), 0u);
}

TEST(FileStateStore, NeverSavesThePasswordOfAUrl) {
  // A failure names the URL it fetched; the state file is world-readable.
  TempDir dir;
  auto store = makeFileStateStore(dir / "demo");
  InstanceState s;
  s.last = LastResult{"failed", "T", "2", "3",
                      "download of https://ci:hunter2@host/r.tar failed"};
  ASSERT_TRUE(store->save(s));
  auto text = readFile(dir / "demo/state.json");
  ASSERT_TRUE(text) << text.error().message();
  EXPECT_EQ(text->find("hunter2"), std::string::npos);
  EXPECT_NE(text->find("https://ci:***@host/r.tar"), std::string::npos);
}

TEST(FileStateStore, RoundTripsEveryField) {
  TempDir dir;
  auto store = makeFileStateStore(dir / "demo");
  InstanceState s;
  s.installed = ReleaseRef{"2", "abc"};
  s.previous = ReleaseRef{"1", "def"};
  s.last = LastResult{"rolled-back", "T", "2", "3", "health"};
  s.quarantined.push_back({"3", "T", "health check failed"});
  Transaction t;
  t.kind = TransactionKind::kRollback;
  t.step = Step::kMigrating;
  t.from = {"2", "abc"};
  t.to = {"3", "fff"};
  t.migrated = true;
  t.newStarted = true;
  t.blameNew = true;
  t.failure = "boom";
  s.transaction = t;
  s.highestVerified = "3";
  ASSERT_TRUE(store->save(s));

  auto back = store->load();
  ASSERT_TRUE(back);
  EXPECT_EQ(back->installed, s.installed);
  EXPECT_EQ(back->previous, s.previous);
  EXPECT_EQ(back->highestVerified, "3");
  ASSERT_TRUE(back->last);
  EXPECT_EQ(back->last->message, "health");
  ASSERT_EQ(back->quarantined.size(), 1u);
  EXPECT_TRUE(back->isQuarantined("3"));
  EXPECT_FALSE(back->isQuarantined("2"));
  ASSERT_TRUE(back->transaction);
  EXPECT_EQ(back->transaction->kind, TransactionKind::kRollback);
  EXPECT_EQ(back->transaction->step, Step::kMigrating);
  EXPECT_TRUE(back->transaction->migrated);
  EXPECT_TRUE(back->transaction->newStarted);
  EXPECT_TRUE(back->transaction->blameNew);
  EXPECT_EQ(back->transaction->to, (ReleaseRef{"3", "fff"}));
  EXPECT_EQ(back->transaction->failure, "boom");
}

TEST(FileStateStore, ReportsACorruptFileByName) {
  TempDir dir;
  ASSERT_TRUE(writeFileAtomically(dir / "state.json", "{not json"));
  auto state = makeFileStateStore(dir.path())->load();
  ASSERT_FALSE(state);
  EXPECT_NE(state.error().message().find(dir / "state.json"),
            std::string::npos);
}

TEST(FileStateStore, RejectsAnUnknownStep) {
  auto state = stateFromJson(R"({"transaction":{"step":"dancing"}})", "f");
  ASSERT_FALSE(state);
  EXPECT_NE(state.error().message().find("dancing"), std::string::npos);
}

TEST(FileStateStore, RejectsAnUnknownKindOfTransaction) {
  auto state = stateFromJson(
      R"({"transaction":{"kind":"sidegrade","step":"staged"}})", "f");
  ASSERT_FALSE(state);
  EXPECT_NE(state.error().message().find("sidegrade"), std::string::npos);
}

TEST(FileStateStore, ReadsAStateFileOfTheVersionBeforeStrategies) {
  // Written before the transaction stopped recording a staged path.
  auto state = stateFromJson(
      R"({"transaction":{"kind":"upgrade","step":"stopping",)"
      R"("staged":"/usr/bin/.x.upgrader-staged","from":{"version":"1","id":"a"},)"
      R"("to":{"version":"2","id":"b"}}})",
      "f");
  ASSERT_TRUE(state) << state.error().message();
  EXPECT_EQ(state->transaction->kind, TransactionKind::kUpgrade);
  EXPECT_EQ(state->transaction->to, (ReleaseRef{"2", "b"}));
}

TEST(StepNames, RoundTrip) {
  for (Step s : {Step::kStaged, Step::kStopping,
                 Step::kMigrating, Step::kChecking,
                 Step::kRollingBack}) {
    EXPECT_EQ(stepFromName(stepName(s)), s);
  }
}

}  // namespace
}  // namespace upgrader
