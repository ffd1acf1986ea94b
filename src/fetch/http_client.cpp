#include "fetch/http_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>

#include "common/url.hpp"
#include "fetch/curl_handle.hpp"

#ifndef CURL_WRITEFUNC_ERROR
#define CURL_WRITEFUNC_ERROR 0xFFFFFFFF
#endif

namespace upgrader {

namespace {

constexpr std::size_t kMaxHeaderBytes = 64 * 1024;
constexpr std::size_t kMaxLine = 1024 * 1024;

struct Exchange {
  const HttpRequest* request = nullptr;
  HttpResponse response;
  std::size_t headerBytes = 0;
  std::size_t bodyBytes = 0;
  std::string pendingLine;
  std::optional<Error> failure;  // why a callback stopped the transfer
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' ||
                        s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

extern "C" std::size_t onHeader(char* data, std::size_t size, std::size_t n,
                                void* user) {
  auto& x = *static_cast<Exchange*>(user);
  std::size_t bytes = size * n;
  x.headerBytes += bytes;
  if (x.headerBytes > kMaxHeaderBytes) {
    x.failure = Error("response headers larger than " +
                      std::to_string(kMaxHeaderBytes) + " bytes");
    return 0;
  }
  std::string_view line(data, bytes);
  // A new status line starts a new response (after a 100 Continue): its
  // headers replace the earlier ones.
  if (line.substr(0, 5) == "HTTP/") {
    x.response.headers.clear();
    return bytes;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return bytes;
  x.response.headers[asciiLowercase(trim(line.substr(0, colon)))] =
      std::string(trim(line.substr(colon + 1)));
  return bytes;
}

Status deliverLine(Exchange& x, std::string_view line) {
  try {
    return x.request->onLine(line);
  } catch (const std::exception& e) {
    return Error(std::string("reading the answer failed: ") + e.what());
  }
}

extern "C" std::size_t onBody(char* data, std::size_t size, std::size_t n,
                              void* user) {
  auto& x = *static_cast<Exchange*>(user);
  std::size_t bytes = size * n;
  x.bodyBytes += bytes;
  if (x.bodyBytes > x.request->maxBody) {
    x.failure = Error("answer larger than " +
                      std::to_string(x.request->maxBody) + " bytes");
    return CURL_WRITEFUNC_ERROR;
  }
  try {
    if (!x.request->onLine) {
      x.response.body.append(data, bytes);
      return bytes;
    }
    std::string_view chunk(data, bytes);
    while (!chunk.empty()) {
      auto nl = chunk.find('\n');
      if (nl == std::string_view::npos) {
        x.pendingLine.append(chunk);
        break;
      }
      x.pendingLine.append(chunk.substr(0, nl));
      chunk.remove_prefix(nl + 1);
      if (Status st = deliverLine(x, trim(x.pendingLine)); !st) {
        x.failure = st.error();
        return CURL_WRITEFUNC_ERROR;
      }
      x.pendingLine.clear();
    }
    if (x.pendingLine.size() > kMaxLine) {
      x.failure = Error("a line of the answer is longer than " +
                        std::to_string(kMaxLine) + " bytes");
      return CURL_WRITEFUNC_ERROR;
    }
  } catch (const std::exception& e) {
    x.failure = Error(std::string("reading the answer failed: ") + e.what());
    return CURL_WRITEFUNC_ERROR;
  }
  return bytes;
}

long milliseconds(Duration d) {
  // libcurl reads 0 as "no limit": a spent budget still gets 1 ms. Long
  // spans are capped where a long can hold them.
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(d).count();
  return static_cast<long>(std::clamp<long long>(ms, 1, 1LL << 40));
}

class CurlHttpClient final : public HttpClient {
 public:
  ~CurlHttpClient() override {
    if (share_ != nullptr) curl_share_cleanup(share_);
  }

  Result<HttpResponse> send(const HttpRequest& request) override {
    const std::string where =
        "'" + request.url + "'" +
        (request.unixSocket.empty() ? "" : " on '" + request.unixSocket + "'");
    static const CURLcode init = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (init != CURLE_OK) {
      return Error(std::string("libcurl failed to initialise: ") +
                   curl_easy_strerror(init));
    }
    CurlHandle curl(curl_easy_init());
    if (!curl) return Error("could not create a libcurl handle");
    // One connection (and TLS session) per server for all the requests of
    // a run: a registry is asked for tags, a digest and a token in a row.
    if (share_ == nullptr && (share_ = curl_share_init()) != nullptr) {
      curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
      curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    }
    CurlSlist headers;
    for (const auto& h : request.headers) {
      curl_slist* next = curl_slist_append(headers.get(), h.c_str());
      if (next == nullptr) return Error("out of memory for headers");
      (void)headers.release();
      headers.reset(next);
    }
    Exchange x;
    x.request = &request;
    char errorBuffer[CURL_ERROR_SIZE] = {};
    CURLcode rc = CURLE_OK;
    auto set = [&](CURLoption option, auto value) {
      if (rc == CURLE_OK) rc = curl_easy_setopt(curl.get(), option, value);
    };
    set(CURLOPT_URL, request.url.c_str());
    set(CURLOPT_ERRORBUFFER, errorBuffer);
    set(CURLOPT_NOSIGNAL, 1L);
    set(CURLOPT_PROTOCOLS_STR, "http,https");
    // Credentials and tokens are for the host they were meant for: a
    // redirect elsewhere is an answer, never followed.
    set(CURLOPT_FOLLOWLOCATION, 0L);
    set(CURLOPT_SSL_VERIFYPEER, 1L);
    set(CURLOPT_SSL_VERIFYHOST, 2L);
    if (!request.caFile.empty()) set(CURLOPT_CAINFO, request.caFile.c_str());
    if (!request.unixSocket.empty()) {
      set(CURLOPT_UNIX_SOCKET_PATH, request.unixSocket.c_str());
    }
    if (!request.user.empty()) {
      set(CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
      set(CURLOPT_USERNAME, request.user.c_str());
      set(CURLOPT_PASSWORD, request.password.c_str());
    }
    set(CURLOPT_CUSTOMREQUEST, request.method.c_str());
    if (request.method == "HEAD") set(CURLOPT_NOBODY, 1L);
    if (request.method == "POST") {
      set(CURLOPT_POSTFIELDS, "");
      set(CURLOPT_POSTFIELDSIZE, 0L);
    }
    set(CURLOPT_HTTPHEADER, headers.get());
    set(CURLOPT_CONNECTTIMEOUT_MS, milliseconds(request.connectTimeout));
    set(CURLOPT_TIMEOUT_MS, milliseconds(request.timeout));
    set(CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(request.maxBody));
    set(CURLOPT_HEADERFUNCTION, &onHeader);
    set(CURLOPT_HEADERDATA, static_cast<void*>(&x));
    set(CURLOPT_WRITEFUNCTION, &onBody);
    set(CURLOPT_WRITEDATA, static_cast<void*>(&x));
    set(CURLOPT_USERAGENT, "upgrader/" UPGRADER_VERSION);
    if (rc == CURLE_OK && share_ != nullptr) {
      rc = curl_easy_setopt(curl.get(), CURLOPT_SHARE, share_);
    }
    if (rc != CURLE_OK) {
      return Error(std::string("libcurl refused a required option: ") +
                   curl_easy_strerror(rc));
    }
    rc = curl_easy_perform(curl.get());
    if (x.failure) return x.failure->withContext("Failed to read " + where);
    if (rc == CURLE_FILESIZE_EXCEEDED) {
      return Error("Failed to read " + where + ": answer larger than " +
                   std::to_string(request.maxBody) + " bytes");
    }
    if (rc != CURLE_OK) {
      std::string text = curl_easy_strerror(rc);
      std::string detail = errorBuffer;
      while (!detail.empty() && detail.back() == '\n') detail.pop_back();
      if (!detail.empty() && detail != text) text += " (" + detail + ")";
      return Error("Failed to reach " + where + ": " + text);
    }
    // A last line without a newline is a line too.
    if (request.onLine && !trim(x.pendingLine).empty()) {
      if (Status st = deliverLine(x, trim(x.pendingLine)); !st) {
        return st.error().withContext("Failed to read " + where);
      }
    }
    curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &x.response.status);
    return std::move(x.response);
  }
 private:
  CURLSH* share_ = nullptr;  // one thread: no locks needed
};

constexpr char kAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string encode(std::string_view text, bool urlSafe) {
  auto symbol = [urlSafe](std::uint32_t sextet) {
    char c = kAlphabet[sextet & 0x3f];
    if (urlSafe && c == '+') return '-';
    if (urlSafe && c == '/') return '_';
    return c;
  };
  std::string out;
  out.reserve((text.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < text.size(); i += 3) {
    std::size_t n = std::min<std::size_t>(3, text.size() - i);
    std::uint32_t chunk =
        static_cast<std::uint32_t>(static_cast<unsigned char>(text[i])) << 16;
    if (n > 1)
      chunk |=
          static_cast<std::uint32_t>(static_cast<unsigned char>(text[i + 1]))
          << 8;
    if (n > 2) chunk |= static_cast<unsigned char>(text[i + 2]);
    out += symbol(chunk >> 18);
    out += symbol(chunk >> 12);
    out += n > 1 ? symbol(chunk >> 6) : '=';
    out += n > 2 ? symbol(chunk) : '=';
  }
  return out;
}

}  // namespace

std::string HttpResponse::header(const std::string& lowercaseName) const {
  auto it = headers.find(lowercaseName);
  return it == headers.end() ? "" : it->second;
}

std::unique_ptr<HttpClient> makeCurlHttpClient() {
  return std::make_unique<CurlHttpClient>();
}

std::string base64UrlEncode(std::string_view text) {
  return encode(text, true);
}
std::string base64Encode(std::string_view text) { return encode(text, false); }

Result<std::string> base64Decode(std::string_view text) {
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  std::size_t padding = 0;
  for (char c : text) {
    if (c == '=') {
      ++padding;
      continue;
    }
    if (padding > 0) return Error("invalid base64: data after '='");
    const char* at = std::strchr(kAlphabet, c);
    if (c == '\0' || at == nullptr) return Error("invalid base64");
    buffer = (buffer << 6) | static_cast<std::uint32_t>(at - kAlphabet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  if (padding > 2) return Error("invalid base64: too much padding");
  return out;
}

}  // namespace upgrader
