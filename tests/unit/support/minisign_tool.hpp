// Debian's real minisign, run by tests to make keys and signatures the way
// a vendor would (scripts/install-deps installs it). Tests that need it
// skip when it is missing.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/file_util.hpp"
#include "exec/command_runner.hpp"

namespace upgrader::testing {

class MinisignTool {
 public:
  /// The installed minisign, or nothing.
  static std::optional<std::string> find() {
    for (const char* candidate :
         {"/usr/bin/minisign", "/usr/local/bin/minisign"}) {
      if (::access(candidate, X_OK) == 0) return std::string(candidate);
    }
    return std::nullopt;
  }

  static constexpr const char* kMissing =
      "minisign is not installed (scripts/install-deps installs it)";

  /// Keys and signatures go to `dir`.
  MinisignTool(std::string tool, std::string dir)
      : tool_(std::move(tool)), dir_(std::move(dir)),
        runner_(makeProcessRunner()) {}

  /// Runs minisign with `args`; fails the test if it fails.
  void run(std::vector<std::string> args) {
    args.insert(args.begin(), tool_);
    CommandLine command;
    command.argv = args;
    auto result = runner_->run(command);
    ASSERT_TRUE(result) << result.error().message();
    ASSERT_EQ(result->exitStatus, 0)
        << describeArgv(args) << ": " << result->tail;
  }

  /// A new key pair DIR/NAME.pub + DIR/NAME.key (no password); the text
  /// of the public key file.
  std::string generate(const std::string& name) {
    run({"-G", "-W", "-p", pub(name), "-s", dir_ + "/" + name + ".key"});
    return read(pub(name));
  }

  std::string pub(const std::string& name) const {
    return dir_ + "/" + name + ".pub";
  }

  /// Signs `file` with key NAME into FILE.minisig: prehashed (minisign
  /// 0.11's default) or legacy (-l), with minisign's default trusted
  /// comment unless one is given. Returns the signature file's text.
  std::string sign(const std::string& name, const std::string& file,
                   bool legacy = false,
                   std::optional<std::string> trustedComment = {}) {
    std::vector<std::string> args = {"-S", "-s", dir_ + "/" + name + ".key",
                                     "-m", file, "-x", file + ".minisig"};
    if (legacy) args.push_back("-l");
    if (trustedComment) {
      args.push_back("-t");
      args.push_back(*trustedComment);
    }
    run(args);
    return read(file + ".minisig");
  }

  /// Writes `content` to DIR/NAME and signs it; the signature's text.
  std::string signText(const std::string& name, const std::string& fileName,
                       const std::string& content) {
    EXPECT_TRUE(writeFileAtomically(dir_ + "/" + fileName, content));
    return sign(name, dir_ + "/" + fileName);
  }

 private:
  static std::string read(const std::string& path) {
    auto text = readFile(path);
    EXPECT_TRUE(text) << text.error().message();
    return text ? *text : "";
  }

  std::string tool_;
  std::string dir_;
  std::unique_ptr<CommandRunner> runner_;
};

}  // namespace upgrader::testing
