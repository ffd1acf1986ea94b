// An HttpClient that answers from a script: each request is recorded and
// matched, in order, against the queued answers for its method and URL
// (a failure to connect is an answer too). Streaming requests get their
// body line by line, as the real client hands it over.
#pragma once

#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "fetch/http_client.hpp"

namespace upgrader::testing {

class FakeHttpClient : public HttpClient {
 public:
  /// Queues `response` for the next `method` request to `url`.
  void answer(const std::string& method, const std::string& url,
              HttpResponse response) {
    queued_[{method, url}].push_back(std::move(response));
  }
  /// Shorthand: status, body and headers ("name", "value" pairs).
  void answer(const std::string& method, const std::string& url, long status,
              std::string body = "",
              std::map<std::string, std::string> headers = {}) {
    answer(method, url,
           HttpResponse{status, std::move(headers), std::move(body)});
  }
  /// Queues a failure to reach `url` at all.
  void unreachable(const std::string& method, const std::string& url,
                   std::string message = "Couldn't connect to server") {
    failures_[{method, url}].push_back(std::move(message));
  }

  Result<HttpResponse> send(const HttpRequest& request) override {
    requests.push_back(request);
    auto key = std::make_pair(request.method, request.url);
    if (auto f = failures_.find(key);
        f != failures_.end() && !f->second.empty()) {
      std::string message = f->second.front();
      f->second.pop_front();
      return Error("Failed to reach '" + request.url + "': " + message);
    }
    auto q = queued_.find(key);
    if (q == queued_.end() || q->second.empty()) {
      return Error("unexpected request " + request.method + " " + request.url);
    }
    HttpResponse response = q->second.front();
    q->second.pop_front();
    if (request.onLine) {
      std::string_view body = response.body;
      while (!body.empty()) {
        auto nl = body.find('\n');
        if (auto st = request.onLine(body.substr(0, nl)); !st) {
          return st.error().withContext("Failed to read '" + request.url + "'");
        }
        body.remove_prefix(nl == std::string_view::npos ? body.size() : nl + 1);
      }
      response.body.clear();
    }
    return response;
  }

  /// Whether every queued answer was asked for.
  bool allAnswered() const {
    for (const auto& [key, q] : queued_) {
      if (!q.empty()) return false;
    }
    return true;
  }

  /// The value of header `name` in request `i` ("" if absent).
  std::string headerOf(std::size_t i, const std::string& name) const {
    for (const auto& h : requests.at(i).headers) {
      if (h.rfind(name + ": ", 0) == 0) return h.substr(name.size() + 2);
    }
    return "";
  }

  std::vector<HttpRequest> requests;

 private:
  std::map<std::pair<std::string, std::string>, std::deque<HttpResponse>>
      queued_;
  std::map<std::pair<std::string, std::string>, std::deque<std::string>>
      failures_;
};

}  // namespace upgrader::testing
