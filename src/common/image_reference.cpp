#include "common/image_reference.hpp"

#include <algorithm>

namespace upgrader {

namespace {

constexpr std::string_view kVersionMarker = "@v";

bool isLowerAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool isTagChar(char c) {
  return isLowerAlnum(c) || (c >= 'A' && c <= 'Z') || c == '_' || c == '.' ||
         c == '-';
}

// A path component of a repository: lowercase letters and digits, with
// single '.', '_', '-' (or "__") between them.
bool isValidComponent(std::string_view c) {
  if (c.empty() || !isLowerAlnum(c.front()) || !isLowerAlnum(c.back())) {
    return false;
  }
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (isLowerAlnum(c[i])) continue;
    if (c[i] != '.' && c[i] != '_' && c[i] != '-') return false;
    bool doubleUnderscore = c[i] == '_' && i + 1 < c.size() && c[i + 1] == '_';
    if (doubleUnderscore) ++i;
    if (i + 1 < c.size() && !isLowerAlnum(c[i + 1])) return false;
  }
  return true;
}

// A registry host: letters, digits, '.', '-', an optional :port.
bool isValidRegistry(std::string_view r) {
  auto colon = r.rfind(':');
  std::string_view host = r.substr(0, colon);
  if (host.empty()) return false;
  for (char c : host) {
    bool ok = isLowerAlnum(c) || (c >= 'A' && c <= 'Z') || c == '.' || c == '-';
    if (!ok) return false;
  }
  if (colon != std::string_view::npos) {
    std::string_view port = r.substr(colon + 1);
    if (port.empty() || port.size() > 5) return false;
    for (char c : port) {
      if (c < '0' || c > '9') return false;
    }
  }
  return true;
}

}  // namespace

bool isValidTag(std::string_view tag) {
  if (tag.empty() || tag.size() > 128 || tag.front() == '.' ||
      tag.front() == '-') {
    return false;
  }
  return std::all_of(tag.begin(), tag.end(), isTagChar);
}

bool isValidImageDigest(std::string_view digest) {
  constexpr std::string_view kPrefix = "sha256:";
  if (digest.substr(0, kPrefix.size()) != kPrefix) return false;
  std::string_view hex = digest.substr(kPrefix.size());
  return hex.size() == 64 && std::all_of(hex.begin(), hex.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool isValidImageReference(std::string_view text) {
  auto at = text.find('@');
  std::string_view name = text.substr(0, at);
  if (at != std::string_view::npos &&
      !isValidImageDigest(text.substr(at + 1))) {
    return false;
  }
  auto slash = name.rfind('/');
  auto colon = name.rfind(':');
  bool hasTag = colon != std::string_view::npos &&
                (slash == std::string_view::npos || colon > slash);
  // A bare name is neither pinned nor tagged: not something that runs.
  if (!hasTag && at == std::string_view::npos) return false;
  auto parsed =
      parseImageName(hasTag ? std::string(name) : std::string(name) + ":x");
  return parsed && !parsed->followsVersions();
}

bool ImageName::followsVersions() const {
  return tag.find(kVersionMarker) != std::string::npos;
}

std::string ImageName::name() const { return registry + "/" + repository; }

std::string ImageName::tagFor(std::string_view version) const {
  auto at = tag.find(kVersionMarker);
  if (at == std::string::npos) return tag;
  return tag.substr(0, at) + std::string(version) +
         tag.substr(at + kVersionMarker.size());
}

std::string ImageName::versionOfTag(std::string_view candidate) const {
  auto at = tag.find(kVersionMarker);
  if (at == std::string::npos) return "";
  std::string_view prefix = std::string_view(tag).substr(0, at);
  std::string_view suffix =
      std::string_view(tag).substr(at + kVersionMarker.size());
  if (candidate.size() <= prefix.size() + suffix.size() ||
      candidate.substr(0, prefix.size()) != prefix ||
      candidate.substr(candidate.size() - suffix.size()) != suffix) {
    return "";
  }
  return std::string(candidate.substr(
      prefix.size(), candidate.size() - prefix.size() - suffix.size()));
}

std::string ImageName::apiHost() const {
  return registry == "docker.io" ? "registry-1.docker.io" : registry;
}

Result<ImageName> parseImageName(std::string_view text) {
  auto invalid = [&](const std::string& why) {
    // The name is the operator's own text from a file we already checked
    // for control characters; quoted as it is.
    return Error("invalid image '" + std::string(text) + "': " + why);
  };
  if (text.empty()) return invalid("empty");
  std::string withoutMarkers(text);
  for (auto at = withoutMarkers.find(kVersionMarker); at != std::string::npos;
       at = withoutMarkers.find(kVersionMarker)) {
    withoutMarkers.erase(at, kVersionMarker.size());
  }
  if (withoutMarkers.find('@') != std::string::npos) {
    return invalid("a digest does not belong in Image=; pin one with Digest=");
  }
  // The tag follows the last ':' after the last '/' (a ':' before it is a
  // registry's port).
  auto slash = text.rfind('/');
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos ||
      (slash != std::string_view::npos && colon < slash)) {
    return invalid(
        "no tag; name one (\":1.4.2\", \":@v\" to follow versions, "
        "\":latest\" to follow a fixed tag)");
  }
  ImageName image;
  image.tag = std::string(text.substr(colon + 1));
  std::string_view path = text.substr(0, colon);

  auto first = image.tag.find(kVersionMarker);
  if (first != std::string::npos &&
      image.tag.find(kVersionMarker, first + 1) != std::string::npos) {
    return invalid("the tag may contain '@v' only once");
  }
  // A pattern is checked as the tag of a plain version would be.
  if (!isValidTag(image.tagFor("1"))) {
    return invalid("tag '" + image.tag +
                   "' has characters a tag cannot have (letters, digits, _ . "
                   "- only, at most 128)");
  }

  auto firstSlash = path.find('/');
  std::string_view head = path.substr(0, firstSlash);
  bool hasRegistry =
      firstSlash != std::string_view::npos &&
      (head.find('.') != std::string_view::npos ||
       head.find(':') != std::string_view::npos || head == "localhost");
  std::string repository;
  if (hasRegistry) {
    if (!isValidRegistry(head))
      return invalid("bad registry '" + std::string(head) + "'");
    image.registry = std::string(head);
    repository = std::string(path.substr(firstSlash + 1));
  } else {
    image.registry = "docker.io";
    repository = std::string(path);
    // Docker Hub's official images live under library/.
    if (repository.find('/') == std::string::npos)
      repository = "library/" + repository;
  }
  if (repository.empty()) return invalid("no repository");
  std::string_view rest = repository;
  while (!rest.empty()) {
    auto next = rest.find('/');
    if (!isValidComponent(rest.substr(0, next))) {
      return invalid("repository '" + repository +
                     "' must be lowercase letters and digits separated by "
                     "'/', '.', '_' or '-'");
    }
    if (next == std::string_view::npos) break;
    rest.remove_prefix(next + 1);
    if (rest.empty()) return invalid("repository ends in '/'");
  }
  image.repository = repository;
  if (image.name().size() > 255)
    return invalid("name longer than 255 characters");
  return image;
}

}  // namespace upgrader
