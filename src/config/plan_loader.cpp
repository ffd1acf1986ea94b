#include "config/plan_loader.hpp"

#include <string>
#include <vector>

#include "common/file_util.hpp"
#include "common/url.hpp"
#include "config/cross_key_check.hpp"
#include "config/ini_file.hpp"
#include "config/key_table.hpp"
#include "config/values.hpp"
#include "trust/minisign.hpp"

namespace upgrader {

namespace {

constexpr std::size_t kMaxConfigBytes = 1024 * 1024;

bool isControl(char c) {
  auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

}  // namespace

std::vector<ConfigKey> configurationKeys() {
  std::vector<ConfigKey> keys;
  for (const auto& spec : keySpecs()) {
    keys.push_back({std::string(spec.section), std::string(spec.key)});
  }
  return keys;
}

std::string defaultConfigPath(const InstanceName& instance) {
  return "/etc/upgrader/" + instance.str() + ".conf";
}

Result<Plan> parsePlan(std::string_view text, const std::string& fileName,
                       const InstanceName& instance) {
  auto ini = parseIniFile(text, fileName);
  if (!ini) return ini.error();

  Plan plan;
  plan.instance = instance;
  plan.configFile = fileName;
  KeyLines lines;
  for (const auto& section : ini->sections) {
    if (!isKnownSection(section.name)) {
      return Error(fileName + ":" + std::to_string(section.line) +
                   ": unknown section [" + section.name +
                   "] (expected [Source], [Install], [Container], [Target], "
                   "[Health], [Hooks] or [Trust])");
    }
    for (const auto& entry : section.entries) {
      std::string where = fileName + ":" + std::to_string(entry.line) + ": [" +
                          section.name + "] " + entry.key + "=: ";
      const KeySpec* spec = findKey(section.name, entry.key);
      if (spec == nullptr) {
        return Error(where + "unknown key " + quoteValue(entry.key) +
                     " in section [" + section.name + "]");
      }
      // No value has a use for control characters, and a NUL would cut a
      // path or a command short where it is finally used.
      for (char c : entry.value) {
        if (isControl(c) && c != '\t') {
          return Error(where + "value " + quoteValue(entry.value) +
                       " contains a control character");
        }
      }
      if (auto st = spec->set(plan, entry.value); !st) {
        return Error(where + st.error().message());
      }
      if (entry.value.empty()) {
        lines.erase({spec->section, spec->key});
      } else {
        lines[{spec->section, spec->key}] = entry.line;
      }
    }
  }
  if (plan.source.pattern.empty()) {
    plan.source.pattern = fileNameOfUrl(plan.source.url);
  }
  if (auto st = checkAcrossKeys(plan, fileName, lines); !st) {
    return st.error();
  }
  return plan;
}

Result<Plan> loadPlan(const std::string& path, const InstanceName& instance) {
  auto text = readTrustedFile(path, kMaxConfigBytes,
                              "make upgrader run commands as root");
  if (!text) return text.error();
  auto plan = parsePlan(*text, path, instance);
  if (!plan) return plan;
  for (const std::string& file : plan->trust.keyFiles) {
    auto where = [&] { return path + ": [Trust] TrustedKey=" + file + ": "; };
    auto keyText = readTrustedFile(file, kMinisignMaxKeyTextBytes,
                                   "make upgrader trust their releases");
    if (!keyText) return Error(where() + keyText.error().message());
    auto key = parseMinisignKey(*keyText);
    if (!key) return Error(where() + key.error().message());
    plan->trust.keys.push_back(*key);
  }
  return plan;
}

}  // namespace upgrader
