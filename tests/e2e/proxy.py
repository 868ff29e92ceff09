"""A tiny loopback proxy in front of the local system, for what a real network and a real gateway
do to an extension's requests: pass them, alter a byte, replay an old answer, throttle (429), time
out, fail (503), or answer with a re-signed body (an older timestamp, another key)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

from licensing.signing import Signer

Rewrite = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class Proxy:
    upstream: str
    port: int = 0
    mode: str = "pass"
    # For "resign": how to change the answer, and the signer that signs the changed bytes.
    rewrite: Rewrite | None = None
    signer: Signer | None = None
    extra_keys: list[dict[str, str]] = field(default_factory=list)
    recorded: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    delay_seconds: float = 3.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(
        self, method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        mode = self.mode
        if mode.startswith("status:"):
            status = int(mode.split(":")[1])
            return status, {"Content-Type": "text/html"}, b"<html>Service Unavailable</html>"
        if mode == "sleep":
            time.sleep(self.delay_seconds)
        if mode == "replay" and path in self.recorded:
            return self.recorded[path]
        upstream = requests.request(
            method,
            self.upstream + path,
            data=body,
            headers={k: v for k, v in headers.items() if k.lower() in ("content-type", "accept")},
            allow_redirects=False,
            timeout=30,
        )
        status, body_out = upstream.status_code, upstream.content
        out = {
            k: v
            for k, v in upstream.headers.items()
            if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding")
        }
        if path == "/v1/keys" and self.extra_keys:
            document = json.loads(body_out)
            document["keys"] += self.extra_keys
            body_out = json.dumps(document).encode()
        elif "X-Signature" in out:
            if mode == "flip":
                index = body_out.index(b'"code"') + 9  # a letter of the code's value
                body_out = body_out[:index] + bytes([body_out[index] ^ 0x01]) + body_out[index + 1 :]
            elif mode == "unsigned":
                out.pop("X-Signature"), out.pop("X-Signature-Key-Id")
            elif mode == "garbage":
                body_out = b'{"valid": true, "code": "VALID", '
                out["X-Signature"] = (self.signer or _none()).sign(body_out)
                out["X-Signature-Key-Id"] = (self.signer or _none()).kid
            elif mode == "resign" and self.rewrite is not None and self.signer is not None:
                body_out = json.dumps(self.rewrite(json.loads(body_out))).encode()
                out["X-Signature"] = self.signer.sign(body_out)
                out["X-Signature-Key-Id"] = self.signer.kid
        if mode == "record":
            self.recorded[path] = (status, out, body_out)
        return status, out, body_out


def _none() -> Signer:
    raise AssertionError("this mode needs a signer")


@contextmanager
def running(proxy: Proxy) -> Iterator[Proxy]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, headers, data = proxy.answer(self.command, self.path, body, dict(self.headers))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            # The client may have given up first (its timeout): what a slow server sees too.
            with suppress(BrokenPipeError):
                self.wfile.write(data)

        do_GET = do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", proxy.port), Handler)
    server.daemon_threads = True
    proxy.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
