#pragma once
// Owners of libcurl's handles, for the two modules that drive libcurl
// (fetcher.cpp for release downloads, http_client.cpp for short requests).

#include <curl/curl.h>

#include <memory>

namespace upgrader {

struct CurlEasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
using CurlHandle = std::unique_ptr<CURL, CurlEasyDeleter>;

struct CurlSlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using CurlSlist = std::unique_ptr<curl_slist, CurlSlistDeleter>;

}  // namespace upgrader
