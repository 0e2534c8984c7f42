"""A de-duplicating CloudEvents receiver on loopback, with faults on demand, for export tests.

It accepts structured-mode POSTs (application/cloudevents+json), parses each body with the
`cloudevents` SDK (so what it stores is a valid CloudEvent), checks the bearer token and the
HMAC signature when it was given them, and keeps the events by id: a second delivery of the
same id is counted in `duplicates` and acknowledged, never stored twice.

`faults` is a list consumed one per request: "ok", "500", "503-retry-after", "drop" (close the
connection without an answer), "slow" (store, then answer only once the sender has given up on
the answer: its next request has come, or the receiver stops; at most `slow_seconds`), "crash" (store,
answer 200, then stop listening: a receiver that acknowledges and dies), "401", "garbage"
(answer 200 without storing: should never happen, used to prove the sender trusts only 2xx).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cloudevents.core.bindings.http import HTTPMessage, from_structured
from cloudevents.core.formats.json import JSONFormat


@dataclass
class Receiver:
    token: str | None = None
    hmac_key: bytes | None = None
    faults: list[str] = field(default_factory=list)
    slow_seconds: float = 30.0  # the longest a slow answer waits for the sender to give up
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    posts: int = 0
    duplicates: int = 0
    rejected: list[str] = field(default_factory=list)
    port: int = 0
    server: ThreadingHTTPServer | None = None
    # guards the counts; notified on each request and on stop (a slow answer waits for those)
    lock: threading.Condition = field(default_factory=threading.Condition)
    dead: bool = False  # after a "crash": no request is answered any more, as from a dead process
    stopping: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/events"

    def start(self) -> Receiver:
        receiver = self
        self.stopping = False

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                receiver.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        # stopping waits for the serving loop's next look at its flag: 0.5 s by default
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.005},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        with self.lock:
            self.stopping = True
            self.lock.notify_all()
        if self.server is not None:
            server, self.server = self.server, None
            server.shutdown()
            server.server_close()

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length", "0"))
        body = request.rfile.read(length)
        with self.lock:
            if self.dead:  # the server thread may still accept a connection while it stops
                request.close_connection = True
                request.connection.close()
                return
            self.posts += 1
            arrival = self.posts
            fault = self.faults.pop(0) if self.faults else "ok"
            self.lock.notify_all()
        if fault == "drop":
            request.close_connection = True
            request.connection.close()
            return
        if fault in ("500", "401"):
            return self.answer(request, int(fault))
        if fault == "503-retry-after":
            return self.answer(request, 503, {"Retry-After": "0"})
        if fault == "garbage":
            return self.answer(request, 200)
        problem = self.check(request, body)
        if problem:
            self.rejected.append(problem)
            return self.answer(request, 400)
        self.store(body, request)
        if fault == "slow":  # answered only once the sender has sent again: it gave up on it
            with self.lock:
                self.lock.wait_for(lambda: self.posts > arrival or self.stopping,
                                   timeout=self.slow_seconds)
        if fault == "crash":
            with self.lock:
                self.dead = True  # before the answer: the client's next event may come at once
        self.answer(request, 200)
        if fault == "crash":
            threading.Thread(target=self.stop, daemon=True).start()

    def check(self, request: BaseHTTPRequestHandler, body: bytes) -> str | None:
        if request.headers.get("Content-Type", "").split(";")[0] != "application/cloudevents+json":
            return f"content type {request.headers.get('Content-Type')}"
        if self.token and request.headers.get("Authorization") != f"Bearer {self.token}":
            return "bad token"
        if self.hmac_key:
            wanted = "sha256=" + hmac.new(self.hmac_key, body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(request.headers.get("X-Promotion-Bot-Signature", ""), wanted):
                return "bad signature"
        return None

    def store(self, body: bytes, request: BaseHTTPRequestHandler) -> None:
        headers = {k.lower(): v for k, v in request.headers.items()}
        event = from_structured(HTTPMessage(headers, body), JSONFormat())
        with self.lock:
            if event.get_id() in self.events:
                self.duplicates += 1
                return
            self.events[event.get_id()] = json.loads(body)
            self.order.append(event.get_id())

    @staticmethod
    def answer(request: BaseHTTPRequestHandler, status: int, headers: dict[str, str] | None = None) -> None:
        request.send_response(status)
        for name, value in (headers or {}).items():
            request.send_header(name, value)
        request.send_header("Content-Length", "0")
        request.end_headers()
