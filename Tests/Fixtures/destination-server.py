#!/usr/bin/env python3
"""A small HTTP/1.1 server for meshsim's CLI tests, on 127.0.0.1 port 0.

Prints its port on the first line of stdout, then serves until stdin closes (so it never
outlives the test that started it). Modes:
  pattern EVERY   request n (1-based) names subset v2 when n % EVERY == 0, else v1
  usergroup EVERY like configs/header-routing: x-user-group: beta -> v2, others as `pattern`
  close-mid       sends a head promising 100 bytes, 7 of them, and closes
"""
import http.server
import os
import sys
import threading

mode = sys.argv[1]
every = int(sys.argv[2]) if len(sys.argv) > 2 else 20
lock = threading.Lock()
counters = {"all": 0, "plain": 0}


def count(name):
    with lock:
        counters[name] += 1
        return counters[name]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes

    def log_message(self, *args):
        pass

    def answer(self, subset):
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-meshsim-destination", "reviews.default.svc.cluster.local|" + subset)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        n = count("all")
        if mode == "pattern":
            self.answer("v2" if n % every == 0 else "v1")
        elif mode == "usergroup":
            if self.headers.get("x-user-group") == "beta":
                self.answer("v2")
            else:
                self.answer("v2" if count("plain") % every == 0 else "v1")
        elif mode == "close-mid":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
            self.wfile.flush()
            self.close_connection = True


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


server = Server(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)


def stop_when_stdin_closes():
    sys.stdin.read()
    os._exit(0)


threading.Thread(target=stop_when_stdin_closes, daemon=True).start()
server.serve_forever()
