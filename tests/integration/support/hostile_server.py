#!/usr/bin/env python3
"""A release server that misbehaves on purpose, for the hostile-input corpus.

Python 3 standard library only. Serves the files of --root over https (and
plain http), each listening address with its own certificate, and behaves
according to the first component of the request path:

  /plain/FILE          the file, as a well-behaved server would
  /swap/FILE           the file with its last byte changed (checksum mismatch)
  /truncated/FILE      half the file, no Content-Length, then a clean close
  /long-length/FILE    the whole file, but a Content-Length 4096 bytes longer
  /short-length/FILE   a Content-Length half the file's size (and only that)
  /stall/FILE          headers and 1000 bytes, then nothing (never closes)
  /stall-headers/FILE  reads the request, then never answers
  /drip/FILE           2048 bytes every 0.5 s: 4 KiB/s, above curl's
                       low-speed limit (1 KiB/s) but endless in practice
  /loop/N              302 to /loop/N+1, for ever
  /to-file/FILE        302 to file://ROOT/FILE (the very file, unchanged)
  /to-http/FILE        302 to --http-target/FILE (the same file, plain http)
  /status/CODE/FILE    an empty answer with that HTTP status
  /v2/REPO/tags/list   a registry's tag listing without end: each page one
                       tag and a Link to the next, answered after 1.5 s
                       (in time for any per-request timeout)

The targets of /to-file and /to-http are the genuine files: a client that
followed the redirect would succeed, so only a refusal of the redirect
itself passes a test.

  hostile_server.py --root DIR --http-target URL \
      --listen PORT[:CERT:KEY] [--listen ...]

Every request is logged to stderr (the journal of its unit).
"""
import argparse
import http.server
import os
import socket
import ssl
import sys
import threading
import time


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hostile/1"
    sys_version = ""
    timeout = 30  # a client that sends nothing is dropped

    def log_message(self, fmt, *args):
        sys.stderr.write("%s:%d %s\n" % (self.server.scheme,
                                          self.server.server_port, fmt % args))

    # -- helpers --------------------------------------------------------
    def file_bytes(self, name):
        if "/" in name or name in ("", ".", ".."):
            return None
        try:
            with open(os.path.join(self.server.root, name), "rb") as f:
                return f.read()
        except OSError:
            return None

    def head(self, status, length=None, extra=()):
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        if length is not None:
            self.send_header("Content-Length", str(length))
        for k, v in extra:
            self.send_header(k, v)
        if length is None:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()

    def redirect(self, location):
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def hang(self, seconds=600):
        # Holds the connection open without sending anything; the client is
        # the one expected to give up.
        self.close_connection = True
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(0.5)

    def slow_tag_page(self):
        query = self.path.split("?", 1)[1] if "?" in self.path else ""
        last = 0
        for pair in query.split("&"):
            if pair.startswith("last=") and pair[5:].isdigit():
                last = int(pair[5:])
        time.sleep(1.5)
        body = ('{"tags":["%d"]}' % (last + 1)).encode()
        path = self.path.split("?", 1)[0]
        self.head(200, len(body),
                  [("Link", '<%s?last=%d&n=1000>; rel="next"' % (path, last + 1))])
        self.wfile.write(body)

    # -- behaviours -----------------------------------------------------
    def do_GET(self):
        try:
            self.route()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError,
                socket.timeout):
            self.close_connection = True

    def route(self):
        parts = self.path.split("?", 1)[0].lstrip("/").split("/")
        kind, rest = parts[0], parts[1:]
        if kind == "loop":
            n = int(rest[0]) if rest and rest[0].isdigit() else 0
            return self.redirect("/loop/%d" % (n + 1))
        if kind == "v2" and rest[-2:] == ["tags", "list"]:
            return self.slow_tag_page()
        if kind == "status" and len(rest) >= 1 and rest[0].isdigit():
            self.head(int(rest[0]), 0)
            return
        name = "/".join(rest)
        if kind == "to-file":
            return self.redirect("file://%s/%s" % (self.server.root, name))
        if kind == "to-http":
            return self.redirect("%s/%s" % (self.server.http_target, name))
        if kind == "stall-headers":
            return self.hang()
        if kind == "endless":
            self.head(200, None)
            zeros = bytes(64 * 1024)
            while True:
                self.wfile.write(zeros)
        data = self.file_bytes(name)
        if data is None:
            self.head(404, 0)
            return
        if kind == "plain":
            self.head(200, len(data))
            self.wfile.write(data)
        elif kind == "swap":
            changed = data[:-1] + bytes([data[-1] ^ 0xFF]) if data else b"x"
            self.head(200, len(changed))
            self.wfile.write(changed)
        elif kind == "truncated":
            self.head(200, None)
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
        elif kind == "long-length":
            self.head(200, len(data) + 4096)
            self.wfile.write(data)
            self.wfile.flush()
            self.close_connection = True
        elif kind == "short-length":
            half = len(data) // 2
            self.head(200, half)
            self.wfile.write(data[:half])
        elif kind == "huge-length":
            self.head(200, 1 << 50)
            self.wfile.write(data)
            self.wfile.flush()
            self.close_connection = True
        elif kind == "stall":
            self.head(200, len(data))
            self.wfile.write(data[:1000])
            self.wfile.flush()
            self.hang()
        elif kind == "drip":
            self.head(200, len(data))
            self.close_connection = True
            for i in range(0, len(data), 2048):
                self.wfile.write(data[i:i + 2048])
                self.wfile.flush()
                time.sleep(0.5)
        else:
            self.head(404, 0)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # A client that refuses the certificate or hangs up is what half
        # the cases are about: one line, not a traceback.
        sys.stderr.write("%s:%d %s: %s\n" % (self.scheme, self.server_port,
                                              client_address[0],
                                              sys.exc_info()[1]))


def serve(port, cert, key, root, http_target):
    httpd = Server(("127.0.0.1", port), Handler)
    httpd.root = root
    httpd.http_target = http_target
    httpd.scheme = "http"
    if cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        # The handshake then runs in the request's thread: a client that
        # never finishes it cannot block the accept loop.
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True,
                                       do_handshake_on_connect=False)
        httpd.scheme = "https"
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    return t


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--root", required=True)
    p.add_argument("--http-target", required=True)
    p.add_argument("--listen", action="append", required=True,
                   help="PORT or PORT:CERT:KEY")
    a = p.parse_args()
    threads = []
    for spec in a.listen:
        port, _, tls = spec.partition(":")
        cert, _, key = tls.partition(":")
        threads.append(serve(int(port), cert or None, key or None,
                             os.path.realpath(a.root), a.http_target))
    sys.stderr.write("hostile server listening on %s\n" % ", ".join(a.listen))
    sys.stderr.flush()
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
