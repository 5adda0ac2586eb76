"""A real webhook receiver on 127.0.0.1: records every request, answers as the test scripts it."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    @property
    def delivery_id(self) -> str:
        return self.headers["Dropnet-Delivery"]

    @property
    def signature(self) -> str:
        return self.headers["Dropnet-Signature"]


class Receiver:
    """Answers `status` (or the next scripted answer); `hang` makes it wait until released."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.script: deque[int] = deque()
        self.received: list[Received] = []
        self.hanging = threading.Event()  # set while a request is held
        self.release = threading.Event()
        self.hang = False
        self.delay = 0.0  # seconds each answer takes (a slow receiver)
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no 40 ms delayed-ACK stall between headers and body

            def do_POST(self) -> None:  # noqa: N802 — http.server's name
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                if len(body) < length:  # the sender died mid-request: a real server never hands this on
                    self.close_connection = True
                    return
                if receiver.hang:
                    receiver.hanging.set()
                    receiver.release.wait(60)
                if receiver.delay:
                    time.sleep(receiver.delay)
                with receiver.arrived:
                    receiver.received.append(Received(self.path, dict(self.headers.items()), body))
                    status = receiver.script.popleft() if receiver.script else receiver.status
                    receiver.arrived.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def start(self) -> Receiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        """Wait until `count` requests arrived; return them all. Raises AssertionError on timeout."""
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.received) >= count, timeout):
                raise AssertionError(f"expected {count} deliveries, got {len(self.received)}")
            return list(self.received)
