"""The tests' HTTP calls into the local gateway, in this process.

`requests` sends every request whose URL starts with the gateway's base URL to the gateway's WSGI
app directly: the real routing, the real payload format 2.0 events (`gateway.build_event`), the
real handlers and the real answers, cookies and redirects included, without a listening socket or a
server thread. Everything else (moto's presigned S3 URLs, the fake Stripe API) goes over loopback
as before. Browser tests, the PHP client and a few contract tests use a served gateway instead.
"""

from __future__ import annotations

import http.client
import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from urllib3 import HTTPHeaderDict, HTTPResponse
from werkzeug.test import EnvironBuilder, run_wsgi_app

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication


class _Original:
    """What urllib3 and requests read of the http.client response under a urllib3 one: the
    headers (Set-Cookie for the session's jar) and whether it is closed."""

    def __init__(self, message: http.client.HTTPMessage) -> None:
        self.msg = message

    def isclosed(self) -> bool:
        return True


class GatewayTransport(BaseAdapter):
    """A `requests` transport that answers from a WSGI app instead of a socket."""

    def __init__(self, app: WSGIApplication) -> None:
        super().__init__()
        self._app = app
        # Only its `build_response`: the same Response (cookies, encoding, url) a socket would give.
        self._builder = HTTPAdapter()

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None, **_: Any
    ) -> requests.Response:
        url = urlsplit(request.url or "")
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif not isinstance(body, bytes):  # a file-like or generator body
            body = b"".join(body)
        builder = EnvironBuilder(
            path=url.path or "/",
            base_url=f"{url.scheme}://{url.netloc}",
            query_string=url.query,
            method=request.method or "GET",
            headers=list(request.headers.items()),
            data=body,
        )
        environ = builder.get_environ()
        environ["REMOTE_ADDR"] = "127.0.0.1"
        app_iter, status, answer_headers = run_wsgi_app(self._app, environ, buffered=True)
        headers = list(answer_headers.items())
        try:
            data = b"".join(app_iter)
        finally:
            close = getattr(app_iter, "close", None)
            if close is not None:
                close()
        code, _space, reason = status.partition(" ")
        message = http.client.HTTPMessage()
        for name, value in headers:
            message[name] = value
        raw = HTTPResponse(
            body=io.BytesIO(data),
            headers=HTTPHeaderDict(headers),
            status=int(code),
            reason=reason,
            preload_content=False,
            decode_content=False,
            # What requests reads the Set-Cookie headers from.
            original_response=_Original(message),  # type: ignore[arg-type]
        )
        return self._builder.build_response(request, raw)

    def close(self) -> None:
        self._builder.close()


@contextmanager
def routed(base_url: str, app: WSGIApplication) -> Iterator[None]:
    """While open, `requests` answers every URL under `base_url` from `app`."""
    transport = GatewayTransport(app)
    prefix = base_url.rstrip("/") + "/"
    original = requests.Session.get_adapter

    def get_adapter(self: requests.Session, url: str) -> BaseAdapter:
        if url.startswith(prefix) or url == base_url:
            return transport
        return original(self, url)

    requests.Session.get_adapter = get_adapter  # type: ignore[method-assign]
    try:
        yield
    finally:
        requests.Session.get_adapter = original  # type: ignore[method-assign]
        transport.close()
