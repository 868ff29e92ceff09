"""A local SES v2 endpoint that answers SendEmail the way SES does, one scripted answer per request:
sent, or refused as too fast with the error shapes of botocore's SES v2 model (REST-JSON: the code
in `x-amzn-ErrorType`, a JSON body with `message`). Point the sending client at it with
`AWS_ENDPOINT_URL_SESV2`; it counts every HTTP request it receives, retries included."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SENT = "sent"
# (HTTP status, error code, message): v2's model gives TooManyRequestsException status 429; SES's
# guide names ThrottlingException ("Maximum sending rate exceeded") for the API; v1 answers Throttling.
REFUSALS: dict[str, tuple[int, str, str]] = {
    "TooManyRequestsException": (429, "TooManyRequestsException", "Maximum sending rate exceeded."),
    "ThrottlingException": (400, "ThrottlingException", "Maximum sending rate exceeded."),
    "Throttling": (400, "Throttling", "Maximum sending rate exceeded."),
    "ServiceUnavailable": (503, "ServiceUnavailable", "Service unavailable."),
}


class SesV2Endpoint:
    def __init__(self, answers: list[str] | None = None) -> None:
        self.answers = list(answers or [])  # consumed one per request; then every send succeeds
        self.requests: list[str] = []
        self.sent: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.url = ""

    def answer(self, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            self.requests.append(path)
            kind = self.answers.pop(0) if self.answers else SENT
        if path != "/v2/email/outbound-emails":
            return 404, {"x-amzn-ErrorType": "NotFoundException"}, b'{"message": "not here"}'
        if kind == SENT:
            message_id = uuid.uuid4().hex
            with self.lock:
                self.sent.append(json.loads(body or b"{}"))
            return 200, {}, json.dumps({"MessageId": message_id}).encode()
        status, code, message = REFUSALS[kind]
        return status, {"x-amzn-ErrorType": code}, json.dumps({"message": message}).encode()


@contextmanager
def sesv2_endpoint(answers: list[str] | None = None) -> Iterator[SesV2Endpoint]:
    endpoint = SesV2Endpoint(answers)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, headers, payload = endpoint.answer(self.path, body)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("x-amzn-RequestId", uuid.uuid4().hex)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield endpoint
    finally:
        server.shutdown()
        server.server_close()
