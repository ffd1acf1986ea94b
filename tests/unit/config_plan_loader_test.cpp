#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>

#include "common/file_util.hpp"
#include "config/plan_loader.hpp"
#include "support/temp_dir.hpp"

namespace upgrader {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::HasSubstr;
using testing::TempDir;

const std::string kFile = "/etc/upgrader/x.conf";
const InstanceName kInstance("x");

// The smallest valid file: discovery through SHA256SUMS, one binary from a
// tarball, one unit.
const std::string kMinimal =
    "[Source]\n"
    "URL=https://example.com/app-@v.tar.gz\n"
    "ChecksumsURL=https://example.com/SHA256SUMS\n"
    "Member=app\n"
    "[Install]\n"
    "Mode=binary\n"
    "Path=/usr/bin/app\n"
    "[Target]\n"
    "Unit=app.service\n";

const std::string kDigest =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

std::string dataFile(const std::string& name) {
  return parentDirectory(__FILE__) + "/data/" + name;
}

// Every file needs [Trust]; the tests of other sections opt out of
// signatures at the end of the file (so that line numbers do not move).
const std::string kUnsigned = "[Trust]\nAllowUnsigned=yes\n";

std::string withTrust(const std::string& text) {
  return text.find("[Trust]") == std::string::npos ? text + kUnsigned : text;
}

Plan parse(const std::string& text) {
  auto plan = parsePlan(withTrust(text), kFile, kInstance);
  EXPECT_TRUE(plan) << plan.error().message();
  return plan ? *plan : Plan{};
}

std::string errorOf(const std::string& text) {
  auto plan = parsePlan(withTrust(text), kFile, kInstance);
  EXPECT_FALSE(plan) << "parsed without error:\n" << text;
  return plan ? "" : plan.error().message();
}

// `text` without the line `line` (which must be in it).
std::string without(std::string text, const std::string& line) {
  auto at = text.find(line + "\n");
  EXPECT_NE(at, std::string::npos) << line;
  if (at != std::string::npos) text.erase(at, line.size() + 1);
  return text;
}

// The 1-based number of the line of `text` that holds `needle` (which may
// start with the newline that ends the line before).
unsigned lineOf(const std::string& text, const std::string& needle) {
  auto at = text.find(needle);
  EXPECT_NE(at, std::string::npos) << needle;
  if (at == std::string::npos) return 0;
  if (needle.front() == '\n') ++at;
  return 1 + static_cast<unsigned>(std::count(
                 text.begin(), text.begin() + static_cast<long>(at), '\n'));
}

// Asserts that parsing `text` fails with a message that names the file, the
// line holding `needle`, the section and the key, and contains `why`.
void expectErrorAt(const std::string& text, const std::string& needle,
                   const std::string& section, const std::string& key,
                   const std::string& why) {
  auto message = errorOf(text);
  EXPECT_THAT(message,
              HasSubstr(kFile + ":" + std::to_string(lineOf(text, needle)) +
                        ": [" + section + "] " + key + "=: "));
  EXPECT_THAT(message, HasSubstr(why));
}

// Asserts that `lines` appended to the minimal file in `section` are refused
// at the last of them.
void expectRefused(const std::string& section, const std::string& lines,
                   const std::string& why) {
  std::string text = kMinimal + "[" + section + "]\n" + lines + "\n";
  std::string last = lines.substr(lines.rfind('\n') + 1);
  std::string key = last.substr(0, last.find('='));
  expectErrorAt(text, "\n" + last + "\n", section, key, why);
}

// --- The complete example and every key.

TEST(ParsePlan, ReadsTheProgressDbExampleIntoTheExpectedPlan) {
  auto text = readFile(dataFile("progressdb.conf"));
  ASSERT_TRUE(text) << text.error().message();
  auto plan = parsePlan(*text, "/etc/upgrader/progressdb.conf",
                        InstanceName("progressdb"));
  ASSERT_TRUE(plan) << plan.error().message();

  EXPECT_EQ(plan->instance.str(), "progressdb");
  EXPECT_EQ(plan->configFile, "/etc/upgrader/progressdb.conf");

  const auto& source = plan->source;
  EXPECT_EQ(source.url,
            "https://releases.progressdb.example/"
            "progressdb-@v-linux-amd64.tar.gz");
  EXPECT_FALSE(source.version);
  EXPECT_EQ(source.checksumsUrl,
            "https://releases.progressdb.example/SHA256SUMS");
  EXPECT_EQ(source.pattern, "progressdb-@v-linux-amd64.tar.gz");
  EXPECT_FALSE(source.checksum);
  EXPECT_EQ(source.archive, SourceConfig::Archive::kAuto);
  EXPECT_EQ(source.member, "progressdb");
  EXPECT_EQ(source.maxSize, 256u << 20);
  EXPECT_EQ(source.connectTimeout, seconds(10));
  EXPECT_EQ(source.retries, 3u);

  const auto& install = plan->install;
  EXPECT_EQ(install.mode, InstallConfig::Mode::kBinary);
  EXPECT_EQ(install.path, "/usr/bin/progressdb");
  EXPECT_EQ(install.releasesDirectory, "");
  EXPECT_EQ(install.preflight, "@path --version");
  EXPECT_FALSE(install.allowDowngrade);

  ASSERT_EQ(plan->target.units.size(), 1u);
  EXPECT_EQ(plan->target.units[0].str(), "progressdb.service");
  EXPECT_EQ(plan->target.stopTimeout, minutes(2));
  EXPECT_EQ(plan->target.startTimeout, seconds(90));

  const auto& health = plan->health;
  EXPECT_EQ(health.httpUrls,
            std::vector<std::string>{"http://127.0.0.1:8080/healthz"});
  EXPECT_EQ(health.expectStatus, 200);
  ASSERT_EQ(health.expectJson.size(), 1u);
  EXPECT_EQ(health.expectJson[0].keyPath, "status");
  EXPECT_EQ(health.expectJson[0].value, "ok");
  EXPECT_EQ(health.settle, seconds(10));
  EXPECT_EQ(health.timeout, seconds(90));
  EXPECT_EQ(health.successes, 1u);

  EXPECT_EQ(
      plan->hooks.preStop,
      std::vector<std::string>{"/usr/bin/progressdb backup --output "
                               "/var/backups/progressdb/pre-upgrade.pdb"});
  EXPECT_TRUE(plan->hooks.migrate.empty());
  EXPECT_EQ(plan->hooks.timeout, minutes(5));

  EXPECT_EQ(plan->trust.keyFiles,
            std::vector<std::string>{"/etc/upgrader/keys/progressdb.pub"});
  EXPECT_FALSE(plan->trust.allowUnsigned);
}

TEST(ParsePlan, MapsEveryKeyToItsPlanField) {
  auto plan = parse(
      "[Source]\n"
      "URL=file:///srv/releases/app-@v.tar\n"
      "Version=1.4.2\n"
      "ChecksumsURL=https://example.com/SHA256SUMS\n"
      "Pattern=app-@v.tar\n"
      "Checksum=sha256:" +
      kDigest +
      "\n"
      "Archive=tar\n"
      "Member=app-1.4.2\n"
      "MaxSize=2G\n"
      "ConnectTimeoutSec=5s\n"
      "LowSpeedTimeoutSec=1min\n"
      "DownloadTimeoutSec=20min\n"
      "AllowedSchemes=file https\n"
      "Retries=0\n"
      "CAFile=/etc/ssl/vendor.pem\n"
      "[Install]\n"
      "Mode=symlink\n"
      "Path=/opt/app/current\n"
      "ReleasesDirectory=/opt/app/releases\n"
      "KeepReleases=5\n"
      "Preflight=@path/bin/app --check\n"
      "PreflightTimeoutSec=45\n"
      "AllowDowngrade=yes\n"
      "[Target]\n"
      "Unit=app.socket\n"
      "Unit=app@main.service\n"
      "StopTimeoutSec=20s\n"
      "StartTimeoutSec=3min\n"
      "[Health]\n"
      "HTTP=https://localhost/health\n"
      "HTTP=http://[::1]:8080/ready\n"
      "ExpectStatus=204\n"
      "ExpectJSON=status=ok\n"
      "ExpectJSON=checks.db = true\n"
      "TCP=localhost:5432\n"
      "TCP=[::1]:6379\n"
      "Exec=/usr/bin/app ping\n"
      "SettleSec=0\n"
      "IntervalSec=250ms\n"
      "TimeoutSec=2min\n"
      "RollbackTimeoutSec=5min\n"
      "Successes=3\n"
      "[Hooks]\n"
      "PreStop=stop-1\n"
      "Migrate=migrate-1\n"
      "Migrate=migrate-2\n"
      "PostUpgrade=post-upgrade-1\n"
      "PostRollback=post-rollback-1\n"
      "Restore=restore-1\n"
      "TimeoutSec=10min\n");

  const auto& s = plan.source;
  EXPECT_EQ(s.url, "file:///srv/releases/app-@v.tar");
  ASSERT_TRUE(s.version);
  EXPECT_EQ(s.version->str(), "1.4.2");
  EXPECT_EQ(s.checksumsUrl, "https://example.com/SHA256SUMS");
  EXPECT_EQ(s.pattern, "app-@v.tar");
  ASSERT_TRUE(s.checksum);
  EXPECT_EQ(s.checksum->hex(), kDigest);
  EXPECT_EQ(s.archive, SourceConfig::Archive::kTar);
  EXPECT_EQ(s.member, "app-1.4.2");
  EXPECT_EQ(s.maxSize, 2ull << 30);
  EXPECT_EQ(s.connectTimeout, seconds(5));
  EXPECT_EQ(s.lowSpeedTimeout, minutes(1));
  EXPECT_EQ(s.downloadTimeout, minutes(20));
  EXPECT_EQ(s.allowedSchemes, (UrlSchemes{UrlScheme::kFile, UrlScheme::kHttps}));
  EXPECT_EQ(s.retries, 0u);
  EXPECT_EQ(s.caFile, "/etc/ssl/vendor.pem");

  const auto& i = plan.install;
  EXPECT_EQ(i.mode, InstallConfig::Mode::kSymlink);
  EXPECT_EQ(i.path, "/opt/app/current");
  EXPECT_EQ(i.releasesDirectory, "/opt/app/releases");
  EXPECT_EQ(i.keepReleases, 5u);
  EXPECT_EQ(i.preflight, "@path/bin/app --check");
  EXPECT_EQ(i.preflightTimeout, seconds(45));
  EXPECT_TRUE(i.allowDowngrade);

  const auto& t = plan.target;
  ASSERT_EQ(t.units.size(), 2u);
  EXPECT_EQ(t.units[0].str(), "app.socket");
  EXPECT_EQ(t.units[1].str(), "app@main.service");
  EXPECT_EQ(t.stopTimeout, seconds(20));
  EXPECT_EQ(t.startTimeout, minutes(3));

  const auto& h = plan.health;
  EXPECT_EQ(h.httpUrls, (std::vector<std::string>{"https://localhost/health",
                                                  "http://[::1]:8080/ready"}));
  EXPECT_EQ(h.expectStatus, 204);
  ASSERT_EQ(h.expectJson.size(), 2u);
  EXPECT_EQ(h.expectJson[1].keyPath, "checks.db");
  EXPECT_EQ(h.expectJson[1].value, "true");
  EXPECT_EQ(h.tcp, (std::vector<TcpEndpoint>{{"localhost", 5432}, {"::1", 6379}}));
  EXPECT_EQ(h.tcp[1].text(), "[::1]:6379");
  EXPECT_EQ(h.exec, std::vector<std::string>{"/usr/bin/app ping"});
  EXPECT_EQ(h.settle, Duration::zero());
  EXPECT_EQ(h.interval, milliseconds(250));
  EXPECT_EQ(h.timeout, minutes(2));
  ASSERT_TRUE(h.rollbackTimeout);
  EXPECT_EQ(*h.rollbackTimeout, minutes(5));
  EXPECT_EQ(h.forRollback().timeout, minutes(5));
  EXPECT_EQ(h.successes, 3u);

  const auto& k = plan.hooks;
  EXPECT_EQ(k.preStop, std::vector<std::string>{"stop-1"});
  EXPECT_EQ(k.migrate, (std::vector<std::string>{"migrate-1", "migrate-2"}));
  EXPECT_EQ(k.postUpgrade, std::vector<std::string>{"post-upgrade-1"});
  EXPECT_EQ(k.postRollback, std::vector<std::string>{"post-rollback-1"});
  EXPECT_EQ(k.restore, std::vector<std::string>{"restore-1"});
  EXPECT_EQ(k.timeout, minutes(10));
}

TEST(ParsePlan, LeavesPlanDefaultsForKeysNotGiven) {
  auto plan = parse(kMinimal);
  Plan defaults;
  EXPECT_EQ(plan.source.maxSize, defaults.source.maxSize);
  EXPECT_EQ(plan.source.lowSpeedTimeout, defaults.source.lowSpeedTimeout);
  EXPECT_EQ(plan.install.keepReleases, defaults.install.keepReleases);
  EXPECT_EQ(plan.health.interval, defaults.health.interval);
  EXPECT_EQ(plan.hooks.timeout, defaults.hooks.timeout);
}

TEST(ParsePlan, GivesARollbackTheHealthTimeoutUnlessRollbackTimeoutIsSet) {
  auto plan = parse(kMinimal + "[Health]\nTimeoutSec=90s\n");
  EXPECT_FALSE(plan.health.rollbackTimeout);
  EXPECT_EQ(plan.health.forRollback().timeout, seconds(90));
}

// --- systemd's assignment semantics.

TEST(ParsePlan, TheLastAssignmentOfAScalarKeyWins) {
  auto plan = parse(kMinimal + "[Source]\nRetries=5\nRetries=7\n");
  EXPECT_EQ(plan.source.retries, 7u);
}

TEST(ParsePlan, AnEmptyAssignmentRestoresAScalarsDefault) {
  auto plan = parse(kMinimal + "[Source]\nRetries=5\nRetries=\n");
  EXPECT_EQ(plan.source.retries, Plan{}.source.retries);
}

TEST(ParsePlan, AListKeyCollectsEveryAssignmentAndAnEmptyOneResetsIt) {
  auto plan = parse(kMinimal +
                    "[Target]\nUnit=b.service\nUnit=\nUnit=c.service\n"
                    "Unit=d.service\n[Hooks]\nPreStop=one\nPreStop=\n");
  ASSERT_EQ(plan.target.units.size(), 2u);
  EXPECT_EQ(plan.target.units[0].str(), "c.service");
  EXPECT_EQ(plan.target.units[1].str(), "d.service");
  EXPECT_TRUE(plan.hooks.preStop.empty());
}

TEST(ParsePlan, KeysOfARepeatedSectionAreMerged) {
  auto plan = parse(kMinimal + "[Target]\nUnit=b.service\n");
  EXPECT_EQ(plan.target.units.size(), 2u);
}

TEST(ParsePlan, ValuesAreTakenLiterallyWithoutShellExpansion) {
  auto plan = parse(kMinimal + "[Hooks]\nPreStop=echo $HOME \"quoted\" ~\n");
  EXPECT_EQ(plan.hooks.preStop[0], "echo $HOME \"quoted\" ~");
}

TEST(ParsePlan, AContinuedLineMakesOneCommand) {
  auto plan = parse(kMinimal + "[Hooks]\nPreStop=backup \\\n--all\n");
  EXPECT_EQ(plan.hooks.preStop, std::vector<std::string>{"backup  --all"});
}

TEST(ParsePlan, PatternDefaultsToTheFileNameOfTheUrlWithoutQuery) {
  auto plan = parse(without(kMinimal, "URL=https://example.com/app-@v.tar.gz") +
                    "[Source]\nURL=https://example.com/dl/app-@v.tgz?x=1#y\n");
  EXPECT_EQ(plan.source.pattern, "app-@v.tgz");
}

TEST(ParsePlan, APinnedVersionNeedsNoVersionInTheUrl) {
  auto plan = parse(
      "[Source]\nURL=https://example.com/app\nVersion=2.0\nChecksum=sha256:" +
      kDigest +
      "\n[Install]\nMode=binary\nPath=/usr/bin/app\n[Target]\n"
      "Unit=app.service\n");
  EXPECT_EQ(plan.source.pattern, "app");
}

TEST(DefaultConfigPath, IsTheInstanceFileUnderEtcUpgrader) {
  EXPECT_EQ(defaultConfigPath(InstanceName("progressdb")),
            "/etc/upgrader/progressdb.conf");
}

// --- Errors of the file's form. Each names the file and line.

TEST(ParsePlan, RefusesPlainHttpUnlessTheSourceAllowsIt) {
  std::string http =
      "[Source]\n"
      "URL=http://example.com/app-@v\n"
      "ChecksumsURL=https://example.com/SHA256SUMS\n"
      "[Install]\nMode=binary\nPath=/usr/bin/app\n"
      "[Target]\nUnit=app.service\n";
  EXPECT_EQ(errorOf(http),
            kFile +
                ":2: [Source] URL=: uses http, which this source does not "
                "allow (AllowedSchemes=https); prefer https, or add http to "
                "AllowedSchemes= in [Source]");
  EXPECT_EQ(parse(http + "[Source]\nAllowedSchemes=https http\n")
                .source.allowedSchemes,
            (UrlSchemes{UrlScheme::kHttps, UrlScheme::kHttp}));
}

TEST(ParsePlan, RefusesAFileUrlForTheChecksumsUnlessAllowed) {
  EXPECT_THAT(errorOf(kMinimal +
                      "[Source]\nChecksumsURL=file:///srv/SHA256SUMS\n"),
              HasSubstr(":11: [Source] ChecksumsURL=: uses file, which this "
                        "source does not allow"));
}

TEST(ParsePlan, RefusesAnUnknownSchemeInAllowedSchemes) {
  EXPECT_EQ(errorOf(kMinimal + "[Source]\nAllowedSchemes=https ftp\n"),
            kFile +
                ":11: [Source] AllowedSchemes=: unknown scheme 'ftp': the "
                "schemes are https, http and file");
}

TEST(ParsePlan, RefusesABadSectionHeaderNamingFileAndLine) {
  EXPECT_THAT(errorOf(kMinimal + "[Health\n"),
              HasSubstr(kFile + ":10: invalid section header '[Health'"));
}

TEST(ParsePlan, RefusesAKeyOutsideAnySectionNamingFileLineAndKey) {
  EXPECT_EQ(errorOf("# x\nURL=https://example.com/a\n" + kMinimal),
            kFile + ":2: URL=: assignment before any [Section] header");
}

TEST(ParsePlan, RefusesALineWithoutEqualsNamingFileLineAndSection) {
  EXPECT_EQ(errorOf(kMinimal + "[Health]\nHTTP http://x\n"),
            kFile + ":11: [Health]: missing '=' in 'HTTP http://x'");
}

TEST(ParsePlan, RefusesAnUnknownSectionNamingFileAndLine) {
  EXPECT_THAT(errorOf(kMinimal + "[Service]\nExecStart=/bin/true\n"),
              HasSubstr(kFile + ":10: unknown section [Service]"));
}

TEST(ParsePlan, RefusesAnUnknownKeyNamingFileLineSectionAndKey) {
  EXPECT_EQ(
      errorOf(kMinimal + "[Source]\nFoo=bar\n"),
      kFile + ":11: [Source] Foo=: unknown key 'Foo' in section [Source]");
}

TEST(ParsePlan, KeysAreCaseSensitiveLikeSystemd) {
  expectRefused("Source", "url=https://example.com/a", "unknown key 'url'");
}

TEST(ParsePlan, RefusesAKeyOfAnotherSection) {
  expectRefused("Health", "Unit=a.service",
                "unknown key 'Unit' in section [Health]");
}

TEST(ParsePlan, RefusesControlCharactersInValues) {
  expectRefused("Hooks", std::string("PreStop=a\x01", 10) + "b",
                "contains a control character");
}

// --- Errors of single values, each at its file, line, section and key.

TEST(ParsePlan, ReportsABadTimeSpanInTheDocumentedFormat) {
  std::string text = kMinimal +
                     "[Health]\nHTTP=http://localhost/\n"
                     "TimeoutSec=abc\n";
  EXPECT_EQ(errorOf(text), kFile +
                               ":12: [Health] TimeoutSec=: invalid time span "
                               "'abc': unknown unit 'abc'");
}

TEST(ParsePlan, RefusesBadTimeSpansInEveryTimeKey) {
  for (auto [section, key] : std::vector<std::pair<std::string, std::string>>{
           {"Source", "ConnectTimeoutSec"},
           {"Source", "LowSpeedTimeoutSec"},
           {"Install", "PreflightTimeoutSec"},
           {"Target", "StopTimeoutSec"},
           {"Target", "StartTimeoutSec"},
           {"Health", "SettleSec"},
           {"Health", "IntervalSec"},
           {"Health", "TimeoutSec"},
           {"Health", "RollbackTimeoutSec"},
           {"Hooks", "TimeoutSec"}}) {
    SCOPED_TRACE(key);
    expectRefused(section, key + "=infinity", "must be finite");
    expectRefused(section, key + "=-1s", "must not be negative");
  }
}

TEST(ParsePlan, RefusesZeroForTimeoutsAndTheIntervalButNotForSettle) {
  for (auto [section, key] : std::vector<std::pair<std::string, std::string>>{
           {"Source", "ConnectTimeoutSec"},
           {"Source", "LowSpeedTimeoutSec"},
           {"Install", "PreflightTimeoutSec"},
           {"Target", "StopTimeoutSec"},
           {"Target", "StartTimeoutSec"},
           {"Health", "IntervalSec"},
           {"Health", "TimeoutSec"},
           {"Health", "RollbackTimeoutSec"},
           {"Hooks", "TimeoutSec"}}) {
    SCOPED_TRACE(key);
    expectRefused(section, key + "=0", "must be greater than 0");
  }
  EXPECT_EQ(parse(kMinimal + "[Health]\nSettleSec=0\n").health.settle,
            Duration::zero());
}

TEST(ParsePlan, RefusesABadBoolean) {
  expectRefused("Install", "AllowDowngrade=maybe", "invalid boolean 'maybe'");
}

TEST(ParsePlan, RefusesABadOrZeroSize) {
  expectRefused("Source", "MaxSize=12X", "invalid size '12X'");
  expectRefused("Source", "MaxSize=0", "must be at least 1 byte");
}

TEST(ParsePlan, RefusesNumbersOutsideTheirRanges) {
  expectRefused("Source", "Retries=11", "must be between 0 and 10");
  expectRefused("Source", "Retries=many", "expected a whole number");
  expectRefused("Install", "KeepReleases=1", "must be at least 2");
  expectRefused("Health", "Successes=0", "must be at least 1");
  expectRefused("Health", "ExpectStatus=99", "must be between 100 and 599");
  expectRefused("Health", "ExpectStatus=600", "must be between 100 and 599");
}

TEST(ParsePlan, RefusesUrlsWithABadScheme) {
  expectRefused("Source", "URL=ftp://example.com/app-@v",
                "invalid URL 'ftp://example.com/app-@v': scheme must be http, "
                "https or file");
  expectRefused("Source", "ChecksumsURL=gopher://example.com/S",
                "scheme must be http, https or file");
  expectRefused("Health", "HTTP=file:///tmp/health",
                "scheme must be http or https");
}

TEST(ParsePlan, RefusesMalformedUrls) {
  expectRefused("Source", "URL=example.com/app", "expected SCHEME://");
  expectRefused("Source", "URL=https:///app", "has no host");
  expectRefused("Source", "URL=file://relative/app",
                "a file URL names an absolute path");
  expectRefused("Source", "URL=https://example.com/dir/", "has no file name");
  // The same rule as the fetcher's: a bare host names no file.
  expectRefused("Source", "URL=https://example.com", "has no file name");
  expectRefused("Health", "HTTP=http://a b/", "contains whitespace");
}

TEST(ParsePlan, RefusesABadUnitName) {
  expectRefused("Target", "Unit=app.bar",
                "unit name 'app.bar' has unknown type");
  expectRefused("Target", "Unit=getty@.service", "is a template");
}

TEST(ParsePlan, RefusesRelativePathsAndDotDot) {
  expectRefused("Install", "Path=usr/bin/app",
                "invalid path 'usr/bin/app': "
                "must be absolute");
  expectRefused("Install", "Path=/usr/bin/../app", "must not contain '..'");
  expectRefused("Install", "ReleasesDirectory=/opt/..",
                "must not contain '..'");
  expectRefused("Source", "CAFile=ca.pem", "must be absolute");
}

TEST(ParsePlan, RefusesAnInstallPathThatNamesADirectory) {
  expectRefused("Install", "Path=/", "must name a file");
  expectRefused("Install", "Path=/usr/bin/", "must name a file");
  expectRefused("Install", "Path=/usr/bin/.", "must name a file");
}

TEST(ParsePlan, AcceptsDotsThatAreNotDotDotComponents) {
  auto plan = parse(without(kMinimal, "Path=/usr/bin/app") +
                    "[Install]\nPath=/opt/app..d/.bin/x..y\n");
  EXPECT_EQ(plan.install.path, "/opt/app..d/.bin/x..y");
}

TEST(ParsePlan, RefusesABadChecksum) {
  expectRefused("Source", "Checksum=md5:abc", "expected 'sha256:'");
  expectRefused("Source", "Checksum=sha256:abc", "64 hex digits");
  expectRefused("Source", "Checksum=sha256:" + std::string(64, 'g'),
                "not a hex digit");
}

TEST(ParsePlan, RefusesAVersionThatCouldEscapeAPath) {
  expectRefused("Source", "Version=../1", "invalid version '../1'");
  expectRefused("Source", "Version=-1", "starting with a letter or digit");
  expectRefused("Source", "Version=1 2", "invalid version");
}

TEST(ParsePlan, RefusesAPatternWithoutExactlyOneVersionMarker) {
  expectRefused("Source", "Pattern=app.tar.gz",
                "must contain '@v' exactly once");
  expectRefused("Source", "Pattern=app-@v-@v.tar.gz", "exactly once");
}

TEST(ParsePlan, RefusesAMemberOutsideTheArchive) {
  expectRefused("Source", "Member=/bin/app", "must be relative");
  expectRefused("Source", "Member=../app", "must not contain '..'");
}

TEST(ParsePlan, RefusesUnknownChoicesListingTheValidOnes) {
  expectRefused("Source", "Archive=rar",
                "invalid value 'rar': expected one of auto, none, tar, zip");
  expectRefused("Install", "Mode=chroot",
                "invalid value 'chroot': expected one of binary, symlink, container");
}

TEST(ParsePlan, RefusesBadTcpEndpoints) {
  expectRefused("Health", "TCP=localhost", "expected HOST:PORT");
  expectRefused("Health", "TCP=localhost:0", "not a number in 1..65535");
  expectRefused("Health", "TCP=localhost:65536", "not a number in 1..65535");
  expectRefused("Health", "TCP=:80", "empty host");
  expectRefused("Health", "TCP=::1:80", "IPv6 address goes in brackets");
  expectRefused("Health", "TCP=[::1:80", "missing ']'");
  expectRefused("Health", "TCP=[::1]80", "expected ':PORT'");
}

TEST(ParsePlan, RefusesBadJsonExpectations) {
  std::string http = "HTTP=http://localhost/\n";
  expectRefused("Health", http + "ExpectJSON=status",
                "expected KEY.PATH=VALUE");
  expectRefused("Health", http + "ExpectJSON==ok", "empty key path");
  expectRefused("Health", http + "ExpectJSON=a..b=ok", "empty component");
  expectRefused("Health", http + "ExpectJSON=.a=ok", "empty component");
}

// --- Missing keys: the file and the key, no line.

TEST(ParsePlan, RequiresUrl) {
  EXPECT_EQ(errorOf(without(kMinimal, "URL=https://example.com/app-@v.tar.gz")),
            kFile + ": [Source] URL= is required");
}

TEST(ParsePlan, AnEmptyAssignmentOfARequiredKeyLeavesItMissing) {
  EXPECT_EQ(errorOf(kMinimal + "[Source]\nURL=\n"),
            kFile + ": [Source] URL= is required");
}

TEST(ParsePlan, RequiresModeAndPath) {
  EXPECT_EQ(errorOf(without(kMinimal, "Mode=binary")),
            kFile + ": [Install] Mode= is required: binary, symlink, container or compose");
  EXPECT_EQ(errorOf(without(kMinimal, "Path=/usr/bin/app")),
            kFile + ": [Install] Path= is required");
}

TEST(ParsePlan, RequiresAtLeastOneUnit) {
  EXPECT_EQ(errorOf(without(kMinimal, "Unit=app.service")),
            kFile + ": [Target] Unit= is required");
  EXPECT_EQ(errorOf(kMinimal + "[Target]\nUnit=\n"),
            kFile + ": [Target] Unit= is required");
}

TEST(ParsePlan, AnEmptyFileNamesTheFirstMissingKey) {
  // The mode decides which keys are needed, so it is the first.
  EXPECT_EQ(errorOf(""),
            kFile + ": [Install] Mode= is required: binary, symlink, container or compose");
}

// --- Rules across keys.

TEST(ParsePlan, RequiresAWayToVerifyTheRelease) {
  auto message = errorOf(
      "[Source]\nURL=https://example.com/app\nVersion=1.0\n"
      "[Install]\nMode=binary\nPath=/usr/bin/app\n[Target]\nUnit=a.service\n");
  EXPECT_EQ(message, kFile +
                         ": [Source] Checksum= or ChecksumsURL= is required: a "
                         "release is verified before it is installed");
}

TEST(ParsePlan, RequiresAPinnedVersionOrAListingToDiscoverOneFrom) {
  auto message = errorOf(
      "[Source]\nURL=https://example.com/app\nChecksum=sha256:" + kDigest +
      "\n[Install]\nMode=binary\nPath=/usr/bin/app\n"
      "[Target]\nUnit=a.service\n");
  EXPECT_THAT(message,
              HasSubstr(kFile + ": [Source] Version= or ChecksumsURL= is "
                                "required"));
}

TEST(ParsePlan, RefusesAPinnedChecksumWithoutAPinnedVersion) {
  std::string text = kMinimal + "[Source]\nChecksum=sha256:" + kDigest + "\n";
  expectErrorAt(text, "Checksum=", "Source", "Checksum", "requires Version=");
}

TEST(ParsePlan, RefusesAVersionMarkerInTheListingWhileDiscovering) {
  std::string text =
      without(kMinimal, "ChecksumsURL=https://example.com/SHA256SUMS") +
      "[Source]\nChecksumsURL=https://example.com/@v/SUMS\n";
  expectErrorAt(text, "ChecksumsURL=", "Source", "ChecksumsURL",
                "contains '@v' but Version= is not set");
}

TEST(ParsePlan, RefusesDiscoveryWhenTheUrlsFileNameHasNoVersionMarker) {
  std::string text =
      without(kMinimal, "URL=https://example.com/app-@v.tar.gz") +
      "[Source]\nURL=https://example.com/@v/app.tar.gz\n";
  expectErrorAt(text, "\nURL=", "Source", "URL",
                "file name 'app.tar.gz' has no '@v' and Version= is not set");
  // An explicit Pattern= is what such a URL needs.
  auto plan = parse(text + "Pattern=app-@v.tar.gz\n");
  EXPECT_EQ(plan.source.pattern, "app-@v.tar.gz");
}

TEST(ParsePlan, SymlinkModeRequiresAReleasesDirectory) {
  std::string text =
      without(kMinimal, "Mode=binary") + "[Install]\nMode=symlink\n";
  EXPECT_THAT(errorOf(text),
              HasSubstr(kFile + ": [Install] ReleasesDirectory= is required: "
                                "Mode=symlink"));
}

TEST(ParsePlan, BinaryModeRefusesAReleasesDirectory) {
  std::string text = kMinimal + "[Install]\nReleasesDirectory=/opt/app\n";
  expectErrorAt(text, "ReleasesDirectory=", "Install", "ReleasesDirectory",
                "only valid with Mode=symlink");
}

TEST(ParsePlan, BinaryModeFromAnArchiveRequiresAMember) {
  // By the URL's suffix...
  EXPECT_THAT(errorOf(without(kMinimal, "Member=app")),
              HasSubstr(kFile + ": [Source] Member= is required: Mode=binary "
                                "installs one file and the release is an "
                                "archive (by the suffix of URL=)"));
  // ...or said outright.
  std::string plain = without(without(kMinimal, "Member=app"),
                              "URL=https://example.com/app-@v.tar.gz") +
                      "[Source]\nURL=https://example.com/app-@v\nArchive=zip\n";
  EXPECT_THAT(errorOf(plain), HasSubstr("Member= is required"));
  // A plain binary needs none.
  EXPECT_TRUE(
      parsePlan(withTrust(without(plain, "Archive=zip")), kFile, kInstance));
}

TEST(ParsePlan, SymlinkModeNeedsNoMember) {
  auto plan = parse(without(without(kMinimal, "Member=app"), "Mode=binary") +
                    "[Install]\nMode=symlink\nReleasesDirectory=/opt/app\n");
  EXPECT_EQ(plan.install.mode, InstallConfig::Mode::kSymlink);
}

TEST(ParsePlan, RefusesAMemberWhenTheReleaseIsNoArchive) {
  std::string text = kMinimal + "[Source]\nArchive=none\n";
  expectErrorAt(text, "Member=", "Source", "Member",
                "the release is not an archive");
}

TEST(ParsePlan, RefusesHttpExpectationsWithoutAnHttpCheck) {
  expectErrorAt(kMinimal + "[Health]\nExpectJSON=status=ok\n",
                "ExpectJSON=", "Health", "ExpectJSON", "requires HTTP=");
  expectErrorAt(kMinimal + "[Health]\nExpectStatus=204\n",
                "ExpectStatus=", "Health", "ExpectStatus", "requires HTTP=");
}

// --- Reading the file.

// --- Mode=container: its own keys, and none of the file modes'.

const std::string kContainer =
    "[Install]\n"
    "Mode=container\n"
    "[Container]\n"
    "Engine=podman\n"
    "Image=registry.example.com:5000/progressdb:@v\n"
    "[Target]\n"
    "Unit=progressdb.service\n";

TEST(ParsePlan, AContainerNeedsNoUrlChecksumOrPath) {
  Plan plan = parse(kContainer);
  EXPECT_EQ(plan.install.mode, InstallConfig::Mode::kContainer);
  EXPECT_EQ(plan.container.engine, ContainerConfig::Engine::kPodman);
  EXPECT_EQ(plan.container.image, "registry.example.com:5000/progressdb:@v");
  EXPECT_FALSE(plan.container.version);
  EXPECT_EQ(plan.container.keepImages, 3u);
  EXPECT_EQ(plan.container.pullTimeout, minutes(10));
  EXPECT_TRUE(plan.source.url.empty());
}

TEST(ParsePlan, MapsEveryContainerKey) {
  Plan plan = parse(
      "[Install]\nMode=container\nPreflight=podman run --rm @image --version\n"
      "AllowDowngrade=yes\n"
      "[Container]\nEngine=docker\nImage=nocobase/nocobase:@v-full\nVersion=1.7.14\n"
      "Digest=sha256:" + kDigest + "\nKeepImages=4\nSocket=/run/docker.sock\n"
      "AuthFile=/root/.docker/config.json\nCAFile=/etc/ssl/registry.pem\n"
      "EnvironmentFile=/etc/nocobase/image.env\nPullTimeoutSec=30min\n"
      "[Target]\nUnit=nocobase.service\n");
  const auto& c = plan.container;
  EXPECT_EQ(c.engine, ContainerConfig::Engine::kDocker);
  EXPECT_EQ(c.image, "nocobase/nocobase:@v-full");
  EXPECT_EQ(c.version, Version("1.7.14"));
  EXPECT_EQ(c.digest, "sha256:" + kDigest);
  EXPECT_EQ(c.keepImages, 4u);
  EXPECT_EQ(c.socket, "/run/docker.sock");
  EXPECT_EQ(c.authFile, "/root/.docker/config.json");
  EXPECT_EQ(c.caFile, "/etc/ssl/registry.pem");
  EXPECT_EQ(c.environmentFile, "/etc/nocobase/image.env");
  EXPECT_EQ(c.pullTimeout, minutes(30));
  EXPECT_EQ(plan.install.preflight, "podman run --rm @image --version");
  EXPECT_TRUE(plan.install.allowDowngrade);
}

TEST(ParsePlan, AcceptsAFixedTagThatFollowsDigests) {
  Plan plan = parse(without(kContainer, "Image=registry.example.com:5000/progressdb:@v") +
                    "[Container]\nImage=nocobase/nocobase:latest-full\n");
  EXPECT_EQ(plan.container.image, "nocobase/nocobase:latest-full");
}

TEST(ParsePlan, RefusesFileModeKeysInAContainersFileAtTheirLine) {
  EXPECT_EQ(errorOf(kContainer + "[Source]\nURL=https://example.com/app-@v\n"),
            kFile + ":9: [Source] URL=: only valid with Mode=binary, "
                    "Mode=symlink or Mode=compose, not with Mode=container");
  EXPECT_EQ(errorOf(kContainer + "[Install]\nPath=/usr/bin/app\n"),
            kFile + ":9: [Install] Path=: only valid with Mode=binary, "
                    "Mode=symlink or Mode=compose, not with Mode=container");
}

TEST(ParsePlan, RefusesContainerKeysInABinarysFile) {
  EXPECT_EQ(errorOf(kMinimal + "[Container]\nImage=app:@v\n"),
            kFile + ":11: [Container] Image=: only valid with "
                    "Mode=container or Mode=compose, not with Mode=binary");
}

TEST(ParsePlan, AContainerRequiresAnEngineAndAnImage) {
  EXPECT_EQ(errorOf(without(kContainer, "Engine=podman")),
            kFile + ": [Container] Engine= is required: podman or docker, the "
                    "engine the service's unit runs");
  EXPECT_EQ(errorOf(without(kContainer, "Image=registry.example.com:5000/progressdb:@v")),
            kFile + ": [Container] Image= is required");
}

TEST(ParsePlan, RefusesBadImagesAndDigests) {
  expectRefused("Container", "Image=registry.example.com/app", "no tag");
  expectRefused("Container", "Image=app:1@sha256:" + kDigest, "pin one with Digest=");
  expectRefused("Container", "Image=Registry/App:1", "must be lowercase");
  expectRefused("Container", "Image=app:@v-@v", "only once");
  expectRefused("Container", "Image=app:a/b", "no tag");
  expectRefused("Container", "Image=app:bad$tag", "characters a tag cannot have");
  expectRefused("Container", "Digest=sha256:ABC", "64 lowercase hex digits");
  expectRefused("Container", "Engine=rkt", "expected one of podman, docker");
  expectRefused("Container", "KeepImages=1", "must be at least 2");
}

TEST(ParsePlan, APinnedContainerVersionNeedsAVersionTag) {
  EXPECT_EQ(errorOf(without(kContainer, "Image=registry.example.com:5000/progressdb:@v") +
                    "[Container]\nImage=app:latest\nVersion=2\n"),
            kFile + ":9: [Container] Version=: requires '@v' in the tag of "
                    "Image= (app:latest): the version names a tag");
  EXPECT_EQ(errorOf(kContainer + "[Container]\nDigest=sha256:" + kDigest + "\n"),
            kFile + ":9: [Container] Digest=: requires Version=: a pinned "
                    "digest fits only a pinned version or a fixed tag");
}

TEST(ParsePlan, RefusesAPlaceholderOfAnotherMode) {
  EXPECT_EQ(errorOf(kContainer + "[Install]\nPreflight=@path --version\n"),
            kFile + ":9: [Install] Preflight=: '@path' means nothing with "
                    "Mode=container; the pulled image is '@image'");
  EXPECT_THAT(errorOf(kMinimal + "[Install]\nPreflight=podman run @image\n"),
              HasSubstr("'@image' means something with Mode=container only"));
}

// --- [Trust]: signatures are on unless a file opts out in so many words.

// The public key of tests/unit/data/minisign/key.pub, id 5B633A8847992B48.
const std::string kKey = "RWRIK5lHiDpjWzbo3lMrY7LpOHk66NSy7h+/4Y8tJ6QkOAc4zwc2V2l1";

std::string rawErrorOf(const std::string& text) {
  auto plan = parsePlan(text, kFile, kInstance);
  EXPECT_FALSE(plan) << "parsed without error:\n" << text;
  return plan ? "" : plan.error().message();
}

TEST(ParsePlan, RefusesAFileThatNeitherNamesAKeyNorOptsOutOfSignatures) {
  EXPECT_THAT(rawErrorOf(kMinimal),
              HasSubstr(kFile + ": [Trust] TrustedKey= (or AllowUnsigned=yes) "
                                "is required"));
}

TEST(ParsePlan, TakesKeysInlineByFileNameAndByPathInOrder) {
  Plan plan = parse(kMinimal + "[Trust]\nTrustedKey=" + kKey +
                    "\nTrustedKey=vendor-2026.pub\n"
                    "TrustedKey=/srv/keys/old.pub\nMaxAge=30d\n");
  ASSERT_EQ(plan.trust.keys.size(), 1u);
  EXPECT_EQ(minisignKeyIdHex(plan.trust.keys[0].id), "5B633A8847992B48");
  EXPECT_EQ(plan.trust.keyFiles,
            (std::vector<std::string>{"/etc/upgrader/keys/vendor-2026.pub",
                                      "/srv/keys/old.pub"}));
  EXPECT_EQ(plan.trust.maxAge, std::chrono::hours(24 * 30));
  EXPECT_TRUE(plan.trust.hasKeys());
}

TEST(ParsePlan, AnEmptyTrustedKeyForgetsTheKeysBeforeIt) {
  Plan plan = parse(kMinimal + "[Trust]\nTrustedKey=a.pub\nTrustedKey=" +
                    kKey + "\nTrustedKey=\nTrustedKey=b.pub\n");
  EXPECT_TRUE(plan.trust.keys.empty());
  EXPECT_EQ(plan.trust.keyFiles,
            std::vector<std::string>{"/etc/upgrader/keys/b.pub"});
}

TEST(ParsePlan, RefusesATrustedKeyThatIsNeitherAFileNorAKeyAtItsLine) {
  expectRefused("Trust", "TrustedKey=../keys/a.pub",
                "neither a key file (an absolute path, or a file name in "
                "/etc/upgrader/keys/) nor a minisign public key");
  // A key cut short in copying is named as a bad key.
  expectRefused("Trust", "TrustedKey=" + kKey.substr(0, 30) + "+",
                "nor a minisign public key:");
}

TEST(ParsePlan, RefusesAllowUnsignedBesideAKey) {
  EXPECT_THAT(rawErrorOf(kMinimal + "[Trust]\nTrustedKey=a.pub\n"
                                    "AllowUnsigned=yes\n"),
              HasSubstr("[Trust] AllowUnsigned=: contradicts TrustedKey="));
}

TEST(ParsePlan, RefusesSignatureKeysThatWouldBeIgnoredWithoutAKey) {
  EXPECT_THAT(errorOf(kMinimal + "[Trust]\nAllowUnsigned=yes\nMaxAge=1w\n"),
              HasSubstr("[Trust] MaxAge=: needs TrustedKey="));
  EXPECT_THAT(
      errorOf(kMinimal +
              "[Source]\nSignatureURL=https://example.com/S.minisig\n"),
      HasSubstr("[Source] SignatureURL=: is only read to verify a "
                "signature: set [Trust] TrustedKey="));
}

TEST(ParsePlan, ASignedContainerNeedsASignedListingOfDigests) {
  std::string signedContainer = kContainer + "[Trust]\nTrustedKey=a.pub\n";
  EXPECT_THAT(rawErrorOf(signedContainer),
              HasSubstr("[Container] DigestsURL= is required"));
  Plan plan = parse(signedContainer +
                    "[Container]\nDigestsURL=https://example.com/DIGESTS\n"
                    "SignatureURL=https://example.com/DIGESTS.sig\n");
  EXPECT_EQ(plan.container.digestsUrl, "https://example.com/DIGESTS");
  EXPECT_EQ(plan.container.signatureUrl, "https://example.com/DIGESTS.sig");
}

TEST(ParsePlan, ASignedListingOfDigestsIsHttpsUnlessTheContainerAllowsMore) {
  std::string text = kContainer +
                     "[Trust]\nTrustedKey=a.pub\n"
                     "[Container]\nDigestsURL=file:///srv/DIGESTS\n";
  EXPECT_THAT(rawErrorOf(text),
              HasSubstr("[Container] DigestsURL=: uses file, which this "
                        "source does not allow"));
  EXPECT_TRUE(parsePlan(text + "AllowedSchemes=https file\n", kFile,
                        kInstance));
}

TEST(ConfigurationKeys, ListsEveryKeyOnceIncludingTheContainerKeys) {
  auto keys = configurationKeys();
  auto has = [&](const std::string& section, const std::string& key) {
    return std::count_if(keys.begin(), keys.end(), [&](const ConfigKey& k) {
             return k.section == section && k.key == key;
           }) == 1;
  };
  EXPECT_TRUE(has("Source", "URL"));
  EXPECT_TRUE(has("Container", "Image"));
  EXPECT_TRUE(has("Container", "KeepImages"));
  EXPECT_TRUE(has("Hooks", "Restore"));
}

TEST(LoadPlan, ReadsAFileAndRemembersItsPath) {
  TempDir dir;
  ASSERT_TRUE(writeFileAtomically(dir / "x.conf", kMinimal + kUnsigned, 0644));
  auto plan = loadPlan(dir / "x.conf", kInstance);
  ASSERT_TRUE(plan) << plan.error().message();
  EXPECT_EQ(plan->configFile, dir / "x.conf");
  EXPECT_EQ(plan->instance, kInstance);
}

TEST(LoadPlan, NamesTheFileInParseErrors) {
  TempDir dir;
  ASSERT_TRUE(writeFileAtomically(dir / "x.conf", kMinimal + "[Foo]\n" + kUnsigned, 0644));
  auto plan = loadPlan(dir / "x.conf", kInstance);
  ASSERT_FALSE(plan);
  EXPECT_THAT(plan.error().message(),
              HasSubstr(dir / "x.conf" + ":10: unknown section [Foo]"));
}

TEST(LoadPlan, ReportsAMissingFileWithTheSystemsReason) {
  TempDir dir;
  auto plan = loadPlan(dir / "missing.conf", kInstance);
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().message(), "cannot read '" + dir / "missing.conf" +
                                        "': No such file or directory");
}

TEST(LoadPlan, RefusesAWorldWritableFile) {
  TempDir dir;
  ASSERT_TRUE(writeFileAtomically(dir / "x.conf", kMinimal + kUnsigned, 0644));
  ASSERT_EQ(::chmod((dir / "x.conf").c_str(), 0666), 0);
  auto plan = loadPlan(dir / "x.conf", kInstance);
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().message(),
            "refusing to use '" + dir / "x.conf" + "': '" + dir / "x.conf" +
                "' is writable by everyone, so others could make upgrader run "
                "commands as root");
}

TEST(LoadPlan, RefusesAGroupWritableFileOrOneOwnedBySomeoneElse) {
  TempDir dir;
  ASSERT_TRUE(writeFileAtomically(dir / "x.conf", kMinimal + kUnsigned, 0644));
  ASSERT_EQ(::chmod((dir / "x.conf").c_str(), 0664), 0);
  auto plan = loadPlan(dir / "x.conf", kInstance);
  ASSERT_FALSE(plan);
  EXPECT_THAT(plan.error().message(), HasSubstr("is writable by its group"));
  if (::geteuid() != 0) GTEST_SKIP() << "giving a file away needs root";
  ASSERT_EQ(::chmod((dir / "x.conf").c_str(), 0644), 0);
  ASSERT_EQ(::chown((dir / "x.conf").c_str(), 65534, 65534), 0);
  plan = loadPlan(dir / "x.conf", kInstance);
  ASSERT_FALSE(plan);
  EXPECT_THAT(plan.error().message(), HasSubstr("is owned by uid 65534"));
}

TEST(LoadPlan, RefusesAFileInADirectoryOthersCanWrite) {
  // They could replace the file between two runs, whatever its own mode.
  TempDir dir;
  ASSERT_EQ(::mkdir((dir / "conf.d").c_str(), 0755), 0);
  ASSERT_EQ(::chmod((dir / "conf.d").c_str(), 0777), 0);
  ASSERT_TRUE(writeFileAtomically(dir / "conf.d/x.conf", kMinimal + kUnsigned, 0644));
  auto plan = loadPlan(dir / "conf.d/x.conf", kInstance);
  ASSERT_FALSE(plan);
  EXPECT_THAT(plan.error().message(),
              HasSubstr("'" + dir / "conf.d" + "' is writable by everyone"));
  // Sticky, as /tmp is: no one can replace what others own in it.
  ASSERT_EQ(::chmod((dir / "conf.d").c_str(), 01777), 0);
  EXPECT_TRUE(loadPlan(dir / "conf.d/x.conf", kInstance));
}

TEST(LoadPlan, RefusesSomethingThatIsNotARegularFile) {
  TempDir dir;
  auto plan = loadPlan(dir.path(), kInstance);
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().message(),
            "refusing to use '" + dir.path() + "': not a regular file");

  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0644), 0);
  auto fifo = loadPlan(dir / "fifo", kInstance);
  ASSERT_FALSE(fifo);
  EXPECT_THAT(fifo.error().message(), HasSubstr("not a regular file"));
}

TEST(LoadPlan, RefusesAnOversizedFile) {
  TempDir dir;
  ASSERT_TRUE(writeFileAtomically(
      dir / "x.conf", kMinimal + "#" + std::string(1024 * 1024, 'x') + "\n",
      0644));
  auto plan = loadPlan(dir / "x.conf", kInstance);
  ASSERT_FALSE(plan);
  EXPECT_THAT(plan.error().message(), HasSubstr("larger than 1 MiB"));
}

TEST(LoadPlan, ReadsTheKeyFilesItNames) {
  TempDir dir;
  ASSERT_TRUE(writeFileAtomically(
      dir / "x.conf",
      kMinimal + "[Trust]\nTrustedKey=" + dataFile("minisign/key.pub") + "\n",
      0644));
  auto plan = loadPlan(dir / "x.conf", kInstance);
  ASSERT_TRUE(plan) << plan.error().message();
  ASSERT_EQ(plan->trust.keys.size(), 1u);
  EXPECT_EQ(minisignKeyIdHex(plan->trust.keys[0].id), "5B633A8847992B48");
}

TEST(LoadPlan, RefusesAKeyFileOthersCanChangeOrThatHoldsNoKey) {
  TempDir dir;
  ASSERT_TRUE(writeFileAtomically(dir / "k.pub", "not a key\n", 0644));
  ASSERT_TRUE(writeFileAtomically(
      dir / "x.conf", kMinimal + "[Trust]\nTrustedKey=" + dir / "k.pub" + "\n",
      0644));
  auto plan = loadPlan(dir / "x.conf", kInstance);
  ASSERT_FALSE(plan);
  EXPECT_THAT(plan.error().message(),
              HasSubstr(dir / "x.conf" + ": [Trust] TrustedKey=" + dir / "k.pub" +
                        ": "));

  ASSERT_EQ(::chmod((dir / "k.pub").c_str(), 0666), 0);
  plan = loadPlan(dir / "x.conf", kInstance);
  ASSERT_FALSE(plan);
  EXPECT_THAT(plan.error().message(),
              HasSubstr("is writable by everyone, so others could make "
                        "upgrader trust their releases"));
}

TEST(LoadPlan, NamesAMissingKeyFile) {
  TempDir dir;
  ASSERT_TRUE(writeFileAtomically(
      dir / "x.conf", kMinimal + "[Trust]\nTrustedKey=" + dir / "gone.pub" + "\n",
      0644));
  auto plan = loadPlan(dir / "x.conf", kInstance);
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().message(),
            dir / "x.conf" + ": [Trust] TrustedKey=" + dir / "gone.pub" +
                ": cannot read '" + dir / "gone.pub" +
                "': No such file or directory");
}

// --- Mode=compose: a version variable, or a directory per release.

const std::string kComposeVariable =
    "[Install]\n"
    "Mode=compose\n"
    "Path=/srv/nocobase/release.env\n"
    "[Compose]\n"
    "Project=nocobase\n"
    "File=/srv/nocobase/docker-compose.yml\n"
    "Variable=NOCOBASE_VERSION\n"
    "[Container]\n"
    "Engine=docker\n"
    "Image=127.0.0.1:5000/nocobase:@v-full\n"
    "[Target]\n"
    "Unit=nocobase.service\n";

const std::string kComposeDirectory =
    "[Source]\n"
    "URL=https://example.com/cvat-@v.tar.gz\n"
    "ChecksumsURL=https://example.com/SHA256SUMS\n"
    "[Install]\n"
    "Mode=compose\n"
    "Path=/srv/cvat/current\n"
    "ReleasesDirectory=/srv/cvat/releases\n"
    "[Compose]\n"
    "Project=cvat\n"
    "[Container]\n"
    "Engine=docker\n"
    "[Target]\n"
    "Unit=cvat.service\n";

TEST(ParsePlan, ReadsAComposeProjectWithAVersionVariable) {
  Plan plan = parse(kComposeVariable);
  EXPECT_EQ(plan.install.mode, InstallConfig::Mode::kCompose);
  EXPECT_EQ(plan.compose.project, "nocobase");
  EXPECT_EQ(plan.compose.file, "/srv/nocobase/docker-compose.yml");
  EXPECT_EQ(plan.compose.variable, "NOCOBASE_VERSION");
  EXPECT_EQ(plan.compose.command, "/usr/bin/docker-compose");
  EXPECT_FALSE(plan.compose.perDirectory());
  EXPECT_EQ(plan.container.engine, ContainerConfig::Engine::kDocker);
}

TEST(ParsePlan, ReadsAComposeProjectWithADirectoryPerRelease) {
  Plan plan = parse(kComposeDirectory + "[Compose]\nFile=deploy/compose.yml\n");
  EXPECT_TRUE(plan.compose.perDirectory());
  EXPECT_EQ(plan.compose.file, "deploy/compose.yml");
  EXPECT_EQ(plan.install.releasesDirectory, "/srv/cvat/releases");
}

TEST(ParsePlan, AComposeProjectNeedsExactlyOneKindOfRelease) {
  EXPECT_THAT(errorOf(kComposeDirectory + "[Compose]\nVariable=V\n"),
              HasSubstr("needs exactly one of [Compose] Variable="));
  EXPECT_THAT(
      errorOf(without(kComposeVariable, "Variable=NOCOBASE_VERSION")),
      HasSubstr("needs exactly one of [Compose] Variable="));
}

TEST(ParsePlan, RefusesComposeKeysThatContradictTheKindOfRelease) {
  EXPECT_THAT(errorOf(without(kComposeVariable, "Project=nocobase")),
              HasSubstr("[Compose] Project= is required"));
  EXPECT_THAT(errorOf(kComposeVariable + "[Compose]\nFile=compose.yml\n"),
              HasSubstr("[Compose] File=: must be absolute with Variable="));
  EXPECT_THAT(errorOf(kComposeVariable +
                      "[Source]\nURL=https://example.com/x-@v.tar.gz\n"),
              HasSubstr("[Source] URL=: means nothing with [Compose] "
                        "Variable="));
  EXPECT_THAT(errorOf(kComposeVariable + "[Container]\nImage=x/y:1-full\n"),
              HasSubstr("needs '@v' in its tag"));
  EXPECT_THAT(errorOf(kComposeDirectory + "[Container]\nImage=x/y:@v\n"),
              HasSubstr("[Container] Image=: means nothing with a project "
                        "directory per release"));
  EXPECT_THAT(errorOf(kComposeDirectory + "[Compose]\nFile=/abs.yml\n"),
              HasSubstr("must be a path inside the release directory"));
  EXPECT_THAT(errorOf(kComposeDirectory + "[Compose]\nFile=../x.yml\n"),
              HasSubstr("must stay inside the release directory"));
  EXPECT_THAT(errorOf(kComposeDirectory + "[Compose]\nProject=My App\n"),
              HasSubstr("invalid project name"));
  EXPECT_THAT(errorOf(kComposeVariable + "[Compose]\nVariable=1X\n"),
              HasSubstr("invalid variable name"));
  EXPECT_THAT(errorOf(kComposeVariable + "[Container]\nEnvironmentFile=/x\n"),
              HasSubstr("only valid with Mode=container, not with "
                        "Mode=compose"));
}

TEST(ParsePlan, AComposeDirectoryReleaseIsAnArchive) {
  std::string text = kComposeDirectory;
  text.replace(text.find("cvat-@v.tar.gz"), 14, "cvat-@v.yml");
  EXPECT_THAT(errorOf(text), HasSubstr("an archive of its directory"));
}

TEST(ParsePlan, ASignedComposeVariableReleaseNeedsTheDigestListing) {
  EXPECT_THAT(errorOf(kComposeVariable + "[Trust]\nTrustedKey=demo.pub\n"),
              HasSubstr("[Container] DigestsURL= is required"));
}

// --- The shipped examples (examples/*/): each parses as what it says.

TEST(ParsePlan, ReadsEveryShippedExample) {
  const std::string examples = parentDirectory(__FILE__) + "/../../examples";
  const std::vector<std::pair<std::string, InstallConfig::Mode>> files = {
      // Also what the packages install as /etc/upgrader/example.conf.sample.
      {"progressdb/progressdb.conf", InstallConfig::Mode::kBinary},
      {"progressdb-container/progressdb.conf", InstallConfig::Mode::kContainer},
      {"quadlet/progressdb.conf", InstallConfig::Mode::kContainer},
      {"proget/proget.conf", InstallConfig::Mode::kContainer},
      {"quay/quay.conf", InstallConfig::Mode::kContainer},
      {"nocobase/nocobase.conf", InstallConfig::Mode::kCompose},
      {"cvat/cvat.conf", InstallConfig::Mode::kCompose},
  };
  for (const auto& [name, mode] : files) {
    auto text = readFile(examples + "/" + name);
    ASSERT_TRUE(text) << text.error().message();
    auto plan = parsePlan(*text, examples + "/" + name, kInstance);
    ASSERT_TRUE(plan) << plan.error().message();
    EXPECT_EQ(plan->install.mode, mode) << name;
    EXPECT_TRUE(plan->trust.hasKeys() || plan->trust.allowUnsigned) << name;
  }
}

}  // namespace
}  // namespace upgrader
