#include "compose/compose_tool.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>

#include "common/file_util.hpp"
#include "common/image_reference.hpp"
#include "common/shown_text.hpp"

namespace upgrader {

namespace {

// A rendered project is a few KiB; a release cannot make us keep more.
constexpr std::size_t kMaxRendered = 1024 * 1024;
constexpr std::size_t kMaxEnvFile = 64 * 1024;
constexpr std::size_t kMaxServices = 1000;
constexpr auto kRenderTimeout = std::chrono::seconds(120);

class DockerComposeTool final : public ComposeTool {
 public:
  DockerComposeTool(CommandRunner& runner, std::string command,
                    std::string dockerHost)
      : runner_(runner),
        command_(std::move(command)),
        dockerHost_(std::move(dockerHost)) {}

  Result<ComposeModel> render(const ComposeInvocation& in) override {
    // env -i: the process environment beats the env file in compose, so
    // a variable the upgrader happened to inherit would change the
    // release. Only what the tool itself needs is passed.
    CommandLine line;
    line.argv = {"/usr/bin/env",
                 "-i",
                 "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                 "LC_ALL=C.UTF-8",
                 "DOCKER_HOST=" + dockerHost_,
                 command_,
                 "--ansi",
                 "never",
                 "-p",
                 in.project,
                 "-f",
                 in.file};
    if (!in.envFile.empty()) {
      line.argv.push_back("--env-file");
      line.argv.push_back(in.envFile);
    }
    line.argv.push_back("config");
    line.timeout = kRenderTimeout;
    line.maxOutput = kMaxRendered;
    const std::string what = "rendering the compose project '" + in.project +
                             "' from '" + in.file + "'" +
                             (in.envFile.empty()
                                  ? std::string()
                                  : " with '" + in.envFile + "'");
    auto result = runner_.run(line);
    if (!result) return result.error().withContext(what);
    if (result->exitStatus != 0) {
      return Error(what + ": " + command_ + " exited with status " +
                   std::to_string(result->exitStatus) + ": " + result->tail);
    }
    // An unset variable is only a warning to compose, and the image would
    // be "repo:" or "repo:-full": never what the release meant.
    if (auto at = result->tail.find("variable is not set");
        at != std::string::npos) {
      auto start = result->tail.rfind('\n', at);
      start = start == std::string::npos ? 0 : start + 1;
      auto end = result->tail.find('\n', at);
      return Error(what + ": " +
                   result->tail.substr(start, end == std::string::npos
                                                  ? std::string::npos
                                                  : end - start));
    }
    return parseRenderedConfig(result->output, what);
  }

 private:
  CommandRunner& runner_;
  std::string command_;
  std::string dockerHost_;
};

bool isServiceName(const std::string& name) {
  if (name.empty() || name.size() > 255) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
  });
}

}  // namespace

std::unique_ptr<ComposeTool> makeComposeTool(CommandRunner& runner,
                                             std::string command,
                                             std::string dockerHost) {
  return std::make_unique<DockerComposeTool>(runner, std::move(command),
                                             std::move(dockerHost));
}

Result<ComposeModel> parseRenderedConfig(std::string_view yaml,
                                         const std::string& what) {
  if (yaml.size() > kMaxRendered) {
    return Error(what + ": the configuration is larger than 1 MiB");
  }
  ComposeModel model;
  // yaml-cpp reports with exceptions; none leaves this function.
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    if (!root.IsMap() || !root["services"] || !root["services"].IsMap()) {
      return Error(what + ": the output has no services");
    }
    for (const auto& entry : root["services"]) {
      if (!entry.first.IsScalar()) {
        return Error(what + ": a service name is not a string");
      }
      std::string name = entry.first.Scalar();
      if (!isServiceName(name)) {
        return Error(what + ": invalid service name " + quoteValue(name));
      }
      const YAML::Node& service = entry.second;
      if (!service.IsMap() || !service["image"] ||
          !service["image"].IsScalar()) {
        return Error(what + ": service '" + name +
                     "' names no image (compose would build one here); a "
                     "release must name the images it runs");
      }
      std::string image = service["image"].Scalar();
      if (!isValidImageReference(image)) {
        return Error(what + ": service '" + name + "' names " +
                     quoteValue(image) + ", which is not an image reference");
      }
      if (model.services.size() == kMaxServices) {
        return Error(what + ": more than 1000 services");
      }
      model.services.push_back({std::move(name), std::move(image)});
    }
  } catch (const std::exception& e) {
    return Error(what + ": the output is not YAML: " + quoteValue(e.what()));
  }
  if (model.services.empty()) return Error(what + ": the project has no services");
  std::sort(model.services.begin(), model.services.end(),
            [](const ComposeService& a, const ComposeService& b) {
              return a.name < b.name;
            });
  return model;
}

std::vector<EnvAssignment> envAssignments(std::string_view text) {
  auto trim = [](std::string_view& v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) {
      v.remove_prefix(1);
    }
    while (!v.empty() &&
           (v.back() == ' ' || v.back() == '\t' || v.back() == '\r')) {
      v.remove_suffix(1);
    }
  };
  std::vector<EnvAssignment> out;
  unsigned number = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++number;
    trim(line);
    if (line.empty() || line.front() == '#') continue;
    if (line.starts_with("export ")) line.remove_prefix(7);
    auto eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    EnvAssignment a{number, line.substr(0, eq), line.substr(eq + 1)};
    trim(a.key);
    trim(a.value);
    if (a.value.size() >= 2 && (a.value.front() == '"' || a.value.front() == '\'') &&
        a.value.back() == a.value.front()) {
      a.value = a.value.substr(1, a.value.size() - 2);
    }
    out.push_back(a);
  }
  return out;
}

Status checkComposeEnvFile(const std::string& path, bool optional) {
  if (optional && !pathExists(path)) return okStatus();
  auto text = readFile(path, kMaxEnvFile);
  if (!text) return text.error();
  // No parsing: the compose tools accept spellings a parser of ours would
  // have to match exactly (python-dotenv: quoted keys, "export", blanks
  // around '=', a lone CR as a line break; compose-go: others again). Any
  // mention of a steering variable is refused, comments and values
  // included: no parser reads a key that is not spelt out in the bytes.
  auto lineAt = [&](std::size_t offset) {
    return 1 + std::count(text->begin(),
                          text->begin() + static_cast<std::ptrdiff_t>(offset),
                          '\n');
  };
  if (auto nul = text->find('\0'); nul != std::string::npos) {
    return Error("'" + path + "' line " + std::to_string(lineAt(nul)) +
                 ": a NUL byte; an env file is text");
  }
  for (std::string_view prefix : {"DOCKER_", "COMPOSE_"}) {
    auto at = text->find(prefix);
    if (at == std::string::npos) continue;
    auto end = at;
    while (end < text->size() &&
           (std::isalnum(static_cast<unsigned char>((*text)[end])) != 0 ||
            (*text)[end] == '_')) {
      ++end;
    }
    return Error("'" + path + "' line " + std::to_string(lineAt(at)) + ": " +
                 quoteValue(text->substr(at, end - at)) +
                 " steers docker-compose itself (its engine, project or "
                 "files); a release's env file may not set it, nor mention "
                 "it at all (not even in a comment), since the compose tools "
                 "read spellings a check could miss");
  }
  return okStatus();
}

ComposeInvocation composeInvocation(const Plan& plan,
                                    const std::string& place) {
  ComposeInvocation in;
  in.project = plan.compose.project;
  if (plan.compose.perDirectory()) {
    in.file = place + "/" + plan.compose.file;
  } else {
    in.file = plan.compose.file;
    in.envFile = place;
  }
  return in;
}

}  // namespace upgrader
