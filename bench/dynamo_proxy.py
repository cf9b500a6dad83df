"""A counting HTTP proxy between the app and the DynamoDB emulator (standard library only).

Every request the app sends to DynamoDB is a POST whose `X-Amz-Target` header names the
operation (`DynamoDB_20120810.Query`); the proxy counts them by operation and forwards them
unchanged. `GET /__counts` returns the counts as JSON and `GET /__reset` zeroes them: the
benchmark reads them around single requests and around each load run, so the number of
DynamoDB requests per page or per create is counted, not assumed.

It also keeps the emulator's successful answers. After `GET /__replay` it stops forwarding and
answers each request at once with the answer the emulator gave to the same request (same
operation and body), or else to the last request of the same operation: the app then speaks
DynamoDB's protocol to a server that answers in well under a millisecond, as the benchmark's
second set of DynamoDB figures needs (see the README). `GET /__replay?delay_ms=N` answers after
N milliseconds instead, and `GET /__replay?delay_ms=N&jitter=1` after a random time between
N/2 and 3N/2 milliseconds, as a real store's latency varies.

Usage: python dynamo_proxy.py LISTEN_PORT UPSTREAM_URL
"""

import http.client
import json
import random
import socket
import sys
import threading
import time
import urllib.parse
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "content-length",
    # send_response writes its own; a replayed Date would drift ever further into the past.
    "date",
    "server",
}

counts = Counter()
counts_lock = threading.Lock()
# Successful answers, (status, reason, headers, body), by (operation, request body) and by
# operation alone (the last one).
answers = {}
last_answers = {}


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm and
    # the client's delayed ACK stall every response by tens of milliseconds.
    disable_nagle_algorithm = True
    upstream = None  # (host, port), set in main
    replay_delay_s = None  # seconds before a replayed answer; None while forwarding
    replay_jitter = False  # whether that delay varies, from half to one and a half times

    def log_message(self, *args):
        pass

    def _reply(self, status, body, headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/__counts":
            with counts_lock:
                body = json.dumps(dict(counts)).encode()
            self._reply(200, body, [("Content-Type", "application/json")])
        elif self.path == "/__reset":
            with counts_lock:
                counts.clear()
            self._reply(204, b"")
        elif self.path.startswith("/__replay"):
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            Proxy.replay_delay_s = float(query.get("delay_ms", ["0"])[0]) / 1000
            Proxy.replay_jitter = query.get("jitter", ["0"])[0] == "1"
            self._reply(204, b"")
        else:
            self._forward()

    def do_POST(self):
        self._forward()

    def _forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        target = self.headers.get("X-Amz-Target", "")
        operation = target.rsplit(".", 1)[-1] if target else f"(no target) {self.command}"
        with counts_lock:
            counts[operation] += 1
        if self.replay_delay_s is not None:
            answer = answers.get((operation, body)) or last_answers.get(operation)
            if answer is None:
                self._reply(502, f"no recorded answer to {operation}".encode())
                return
            spread = random.uniform(0.5, 1.5) if self.replay_jitter else 1.0
            time.sleep(self.replay_delay_s * spread)
        else:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            answer = self._upstream(body, headers)
            if answer[0] == 200:
                answers[(operation, body)] = last_answers[operation] = answer
        status, reason, response_headers, response_body = answer
        self.send_response(status, reason)
        for name, value in response_headers:
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response_body)))
        self.end_headers()
        self.wfile.write(response_body)

    def _upstream(self, body, headers):
        # One kept-alive upstream connection per client connection (per handler thread);
        # reconnect once if the emulator closed it.
        for attempt in (1, 2):
            conn = getattr(self, "_conn", None)
            if conn is None:
                conn = self._conn = http.client.HTTPConnection(*self.upstream, timeout=30)
                conn.connect()
                conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                conn.request(self.command, self.path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                return response.status, response.reason, response.getheaders(), data
            except (http.client.HTTPException, OSError):
                conn.close()
                self._conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def main():
    port = int(sys.argv[1])
    upstream = urllib.parse.urlsplit(sys.argv[2])
    Proxy.upstream = (upstream.hostname, upstream.port or 80)
    server = ThreadingHTTPServer(("127.0.0.1", port), Proxy)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
