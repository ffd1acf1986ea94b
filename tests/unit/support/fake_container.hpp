// A registry and an engine in memory, for the image strategy's tests: the
// registry serves tags and digests as set; the engine holds what was
// pulled (or put there) and records every call.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "container/engine_client.hpp"
#include "container/registry_client.hpp"

namespace upgrader::testing {

/// The repository the image strategies' tests pull from, and a digest
/// made of one repeated hex digit.
inline const std::string kTestImage = "127.0.0.1:5000/svc";
// append(), not "…" + std::string(…): g++ 14 -O2 warns falsely on the
// latter (-Wstringop-overread, GCC bug 105651).
inline std::string fakeDigest(char c) {
  return std::string("sha256:").append(64, c);
}

class FakeRegistry : public Registry {
 public:
  /// tag -> digest.
  std::map<std::string, std::string> tags;
  std::string failure;  ///< non-empty: every call fails with this
  int calls = 0;

  Result<std::vector<std::string>> listTags(const ImageName&) override {
    ++calls;
    if (!failure.empty()) return Error(failure);
    std::vector<std::string> out;
    for (const auto& [tag, digest] : tags) out.push_back(tag);
    return out;
  }
  Result<std::string> manifestDigest(const ImageName& image,
                                     const std::string& tag) override {
    ++calls;
    if (!failure.empty()) return Error(failure);
    auto it = tags.find(tag);
    if (it == tags.end()) {
      return Error("no tag '" + tag + "' in '" + image.name() + "'");
    }
    return it->second;
  }
  /// Non-empty: timeLeft() fails with this (the run's deadline passed).
  std::string deadlinePassed;
  Result<Duration> timeLeft() override {
    if (!deadlinePassed.empty()) return Error(deadlinePassed);
    return Duration::max();
  }
};

class FakeEngine : public ContainerEngine {
 public:
  /// Pull reference -> what the engine then holds for it.
  std::map<std::string, LocalImage> held;
  /// What a pull of a reference yields (by default: the reference itself
  /// as its repo digest); set to make an engine "pull" something else.
  std::map<std::string, LocalImage> pullYields;
  std::string pullFailure;
  std::set<std::string> inUse;  ///< removing these fails
  std::vector<std::string> calls;
  std::vector<std::optional<Credentials>> credentialsSeen;

  std::string name() const override { return "podman"; }
  void warmUp() override {}

  Status pull(const std::string& reference,
              const std::optional<Credentials>& credentials, const std::string&,
              Duration) override {
    calls.push_back("pull " + reference);
    credentialsSeen.push_back(credentials);
    if (!pullFailure.empty()) {
      return Error("podman could not pull '" + reference + "': " + pullFailure);
    }
    auto yields = pullYields.find(reference);
    held[reference] =
        yields != pullYields.end()
            ? yields->second
            : LocalImage{"sha256:id-of-" + reference, {reference}};
    return okStatus();
  }
  Result<std::optional<LocalImage>> inspect(
      const std::string& reference) override {
    calls.push_back("inspect " + reference);
    if (!engineFailure.empty()) return Error(engineFailure);
    auto it = held.find(reference);
    if (it == held.end()) return std::optional<LocalImage>();
    return std::optional<LocalImage>(it->second);
  }
  Status remove(const std::string& reference) override {
    calls.push_back("remove " + reference);
    if (inUse.count(reference) != 0) {
      return Error("podman could not remove '" + reference + "': it is in use");
    }
    held.erase(reference);
    return okStatus();
  }

  /// Running containers: id -> image ID.
  std::map<std::string, std::string> running;
  std::string engineFailure;  ///< non-empty: inspect fails with this

  Result<std::vector<std::string>> runningContainersOf(
      const std::string& imageId) override {
    calls.push_back("list");
    std::vector<std::string> out;
    for (const auto& [id, image] : running) {
      if (image == imageId) out.push_back(id);
    }
    return out;
  }
  /// Compose projects: project -> its containers.
  std::map<std::string, std::vector<ProjectContainer>> projects;

  Result<std::vector<ProjectContainer>> projectContainers(
      const std::string& project) override {
    calls.push_back("project " + project);
    if (!engineFailure.empty()) return Error(engineFailure);
    return projects[project];
  }
  Status killContainer(const std::string& id, Duration) override {
    calls.push_back("kill " + id);
    running.erase(id);
    for (auto& [name, containers] : projects) {
      for (auto& c : containers) {
        if (c.id == id) c.running = false;
      }
    }
    return okStatus();
  }

  /// Whether the engine holds `reference`.
  bool holds(const std::string& reference) const {
    return held.count(reference) != 0;
  }
  /// How many calls started with `prefix`.
  std::size_t count(const std::string& prefix) const {
    std::size_t n = 0;
    for (const auto& c : calls) n += c.rfind(prefix, 0) == 0;
    return n;
  }
};

}  // namespace upgrader::testing
