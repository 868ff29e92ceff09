"""The local stand-in for API Gateway's HTTP API: a WSGI app that routes each request like the
deployed stage does, hands the function a payload format 2.0 event, and writes its answer back
as API Gateway would.

The catalogue's route keys (``"ANY /v1/{proxy+}"``, ``"POST /webhooks/stripe"``, ``"$default"``)
are used as they are, so the local routing is the deployed routing. Local-only pages (``/_dev/...``)
are plain werkzeug views served beside the functions, never through one.
"""

from __future__ import annotations

import base64
import errno
import json
import re
import socket
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, make_server, select_address_family
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from .. import catalogue
from ..http import error_of, no_such_route
from ..web import JSON, error_body

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

Invoke = Callable[[str, dict[str, Any]], dict[str, Any]]
View = Callable[[Request], Response]

DEFAULT_ROUTE = "$default"
METHODS = frozenset({"ANY", "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# The request bodies API Gateway hands over as text; every other body arrives base64-encoded.
TEXT_MIMETYPES = frozenset({"application/json", "application/xml", "application/javascript"})

# Stand-ins for what only a deployed stage has.
ACCOUNT_ID = "123456789012"
API_ID = "local"

# API Gateway's request time is in English whatever the locale, which rules out strftime's %b.
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_GREEDY_PARAMETER = re.compile(r"\{(\w+)\+\}")
_PARAMETER = re.compile(r"\{(\w+)\}")


def routes_from_catalogue(functions: Iterable[catalogue.Function]) -> list[tuple[str, str]]:
    """The ``(route_key, function_name)`` pairs of the catalogue's HTTP functions."""
    return [(route_key, function.name) for function in functions for route_key in function.routes]


@dataclass(frozen=True)
class _Match:
    route_key: str
    function_name: str
    path_parameters: dict[str, str]


def _already_set() -> threading.Event:
    event = threading.Event()
    event.set()
    return event


class Gateway:
    """A WSGI app standing in for one HTTP API stage.

    ``routes`` are ``(route_key, function_name)`` pairs; ``invoke(function_name, event)`` runs the
    function and returns its answer. ``dev_routes`` maps a path to a view that answers that path
    and every path below it (the longest matching path wins); they are looked up before the
    routes.
    """

    def __init__(
        self,
        routes: Sequence[tuple[str, str]],
        invoke: Invoke,
        dev_routes: Mapping[str, View] | None = None,
        *,
        ready: threading.Event | None = None,
    ) -> None:
        self._invoke = invoke
        # Until set, the functions' routes answer 503 (health included): the system is starting.
        self.ready = ready if ready is not None else _already_set()
        self._dev_routes = sorted((dev_routes or {}).items(), key=lambda item: len(item[0]), reverse=True)
        self._functions: dict[str, str] = {}
        for route_key, function_name in routes:
            if route_key in self._functions:
                raise ValueError(f"route {route_key!r} is given twice")
            self._functions[route_key] = function_name
        self._default = self._functions.get(DEFAULT_ROUTE)
        rules = [_rule(route_key) for route_key in self._functions if route_key != DEFAULT_ROUTE]
        # werkzeug prefers static path segments over variables and variables over greedy ones, as
        # API Gateway does; among the rules of one path it takes the first added, so that a
        # route's own method wins over ANY, the ANY rules go last.
        rules.sort(key=lambda rule: rule.methods is None)
        self._map = Map(rules, strict_slashes=True, merge_slashes=False, redirect_defaults=False)
        # One Lambda execution environment serves one request at a time, and the handlers rely on
        # it: Powertools' resolver keeps the current event on the module-level app.
        self._locks = {function_name: threading.Lock() for function_name in self._functions.values()}

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        return self.handle(Request(environ))(environ, start_response)

    def handle(self, request: Request) -> Response:
        """The answer to one request, with ``X-Request-Id`` whoever answers."""
        request_id = str(uuid.uuid4())
        view = self._dev_view(request.path)
        if view is not None:
            response = _serve_view(view, request)
        elif not self.ready.is_set():
            body = error_body("STARTING", "The local system is starting; try again in a moment.")
            response = Response(body, 503, content_type=JSON, headers={"Retry-After": "1"})
        else:
            match = self._match(request)
            if match is None:
                status, body = error_of(no_such_route())
                response = Response(body, status, content_type=JSON)
            else:
                response = self._call(match, request, request_id)
        response.headers.setdefault("X-Request-Id", request_id)
        return response

    def _dev_view(self, path: str) -> View | None:
        for prefix, view in self._dev_routes:
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return view
        return None

    def _match(self, request: Request) -> _Match | None:
        adapter = self._map.bind("gateway")
        try:
            rule, arguments = adapter.match(request.path, request.method, return_rule=True)
        except HTTPException:
            # API Gateway neither redirects nor answers 405: whatever no route takes, $default does.
            if self._default is None:
                return None
            return _Match(DEFAULT_ROUTE, self._default, {})
        route_key = str(rule.endpoint)
        parameters = {name: str(value) for name, value in arguments.items()}
        return _Match(route_key, self._functions[route_key], parameters)

    def _call(self, match: _Match, request: Request, request_id: str) -> Response:
        event = build_event(request, match.route_key, match.path_parameters, request_id)
        try:
            with self._locks[match.function_name]:
                answer = self._invoke(match.function_name, event)
            return _response(answer)
        except Exception:
            # A malformed answer lands here too: API Gateway answers both with the same 500.
            _report_failure(f"{match.function_name} failed on {request.method} {request.path} ({request_id})")
            return _internal_error()


def _rule(route_key: str) -> Rule:
    method, _, path = route_key.partition(" ")
    if method not in METHODS or not path.startswith("/"):
        raise ValueError(f"route {route_key!r} is neither 'METHOD /path' nor {DEFAULT_ROUTE!r}")
    pattern = _PARAMETER.sub(r"<\1>", _GREEDY_PARAMETER.sub(r"<path:\1>", path))
    if "{" in pattern or "}" in pattern:
        raise ValueError(f"route {route_key!r} has a path variable that is not {{name}} or {{name+}}")
    return Rule(pattern, methods=None if method == "ANY" else [method], endpoint=route_key)


def build_event(
    request: Request, route_key: str, path_parameters: Mapping[str, str], request_id: str
) -> dict[str, Any]:
    """The payload format 2.0 event API Gateway would send for ``request`` on ``route_key``."""
    now = time.time()
    client = request.remote_addr or ""
    headers = {name.lower(): value for name, value in request.headers.items()}
    cookies = [cookie.strip() for cookie in headers.pop("cookie", "").split(";") if cookie.strip()]
    # API Gateway adds these; handlers that build links or mark cookies Secure read them.
    forwarded_for = headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = f"{forwarded_for}, {client}" if forwarded_for else client
    headers["x-forwarded-proto"] = request.scheme
    headers["x-forwarded-port"] = str(request.environ.get("SERVER_PORT", ""))
    raw_query_string = request.query_string.decode("utf-8", "replace")
    query: dict[str, list[str]] = {}
    for name, value in parse_qsl(raw_query_string, keep_blank_values=True):
        query.setdefault(name, []).append(value)
    # Locally the port is part of the address a handler must link back to, so it stays in.
    domain_name = request.host
    data = request.get_data()
    text = _as_text(data, request.mimetype)

    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        # Decoded: HTTP APIs deliver rawPath URL-decoded (REST APIs and function URLs do not).
        "rawPath": request.path,
        "rawQueryString": raw_query_string,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if query:
        event["queryStringParameters"] = {name: ",".join(values) for name, values in query.items()}
    event["requestContext"] = {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "domainName": domain_name,
        "domainPrefix": (urlsplit(f"//{domain_name}").hostname or "").split(".")[0],
        "http": {
            "method": request.method,
            "path": request.path,
            "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "sourceIp": client,
            "userAgent": request.headers.get("User-Agent", ""),
        },
        "requestId": request_id,
        "routeKey": route_key,
        "stage": "$default",
        "time": _request_time(now),
        "timeEpoch": int(now * 1000),
    }
    if data:
        event["body"] = text if text is not None else base64.b64encode(data).decode("ascii")
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    event["isBase64Encoded"] = bool(data) and text is None
    return event


def json_request_event(
    path: str,
    body: Mapping[str, Any] | str,
    *,
    route_key: str,
    path_parameters: Mapping[str, str] | None = None,
    method: str = "POST",
    request_id: str = "local",
    host: str = "api.local",
) -> dict[str, Any]:
    """The event of one JSON request (a mapping, or text sent as it is), built as `build_event`
    builds a served one: for invoking a handler directly (the bench, the tests of one handler)."""
    data = body if isinstance(body, str) else json.dumps(body)
    request = EnvironBuilder(
        path=path,
        method=method,
        data=data,
        content_type=JSON,
        base_url=f"http://{host}",
        environ_overrides={"REMOTE_ADDR": "127.0.0.1"},
    ).get_request()
    return build_event(request, route_key, path_parameters or {}, request_id)


def _as_text(data: bytes, mimetype: str) -> str | None:
    """The body as API Gateway passes a text body, or None when it would base64-encode it."""
    textual = (
        mimetype.startswith("text/")
        or mimetype in TEXT_MIMETYPES
        or mimetype.endswith("+json")
        or mimetype.endswith("+xml")
    )
    if not textual:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _request_time(now: float) -> str:
    moment = time.gmtime(now)
    clock = time.strftime("%H:%M:%S", moment)
    return f"{moment.tm_mday:02d}/{_MONTHS[moment.tm_mon - 1]}/{moment.tm_year}:{clock} +0000"


def _response(answer: dict[str, Any]) -> Response:
    """The HTTP answer API Gateway makes of a function's payload 2.0 answer."""
    if "statusCode" not in answer:
        # Payload 2.0's shortcut: an answer without statusCode is itself the JSON body.
        return Response(json.dumps(answer), 200, content_type=JSON)
    body = answer.get("body") or ""
    data = base64.b64decode(body, validate=True) if answer.get("isBase64Encoded") else body.encode()
    response = Response(data, int(answer["statusCode"]))
    # werkzeug's default text/plain would be a header the function never sent.
    del response.headers["Content-Type"]
    for name, value in (answer.get("headers") or {}).items():
        response.headers[name] = str(value)
    for name, values in (answer.get("multiValueHeaders") or {}).items():
        for value in values:
            response.headers.add(name, str(value))
    for cookie in answer.get("cookies") or []:
        response.headers.add("Set-Cookie", cookie)
    return response


def _serve_view(view: View, request: Request) -> Response:
    try:
        return view(request)
    except HTTPException as error:
        return error.get_response()
    except Exception:
        _report_failure(f"dev page {request.method} {request.path} failed")
        return _internal_error()


def _report_failure(headline: str) -> None:
    """Print the exception being handled to stderr, as Lambda puts it in the function's log.

    Not through ``logging``: Powertools' ``Logger(service="licensing")`` takes the ``licensing``
    logger hierarchy over (JSON on stdout). One write, so that concurrent failures do not interleave.
    """
    sys.stderr.write(f"{headline}\n{traceback.format_exc()}")


def _internal_error() -> Response:
    return Response(json.dumps({"message": "Internal Server Error"}), 500, content_type=JSON)


class PortInUseError(OSError):
    """The port the gateway should listen on is taken by another program."""

    def __init__(self, host: str, port: int) -> None:
        self.message = (
            f"port {port} is already in use on {host}: stop the program using it or choose another port"
        )
        super().__init__(errno.EADDRINUSE, self.message)
        self.host = host
        self.port = port

    def __str__(self) -> str:
        return self.message


class GatewayServer:
    """A running gateway: werkzeug's threaded server in a daemon thread."""

    def __init__(self, server: BaseWSGIServer) -> None:
        self._server = server
        self.host = server.host
        self.port = server.port
        # shutdown() waits up to one poll interval; werkzeug's default half second would be felt
        # by every test that stops a server.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="gateway", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def shutdown(self) -> None:
        """Stop accepting requests, close the socket and wait for the serving thread."""
        self._server.shutdown()
        self._thread.join()


def serve(app: WSGIApplication, host: str = "127.0.0.1", port: int = 8000) -> GatewayServer:
    """Serve ``app`` on ``host:port`` (port 0 picks a free one) until ``shutdown()``.

    Raises ``PortInUseError`` when the port is taken.
    """
    # The socket is bound here rather than by werkzeug, which prints and exits on a taken port.
    try:
        listener = socket.create_server((host, port), family=select_address_family(host, port))
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise PortInUseError(host, port) from error
        raise
    with listener:
        # werkzeug serves a duplicate of the descriptor, so this one can be closed.
        server = make_server(host, port, app, threaded=True, fd=listener.fileno())
    return GatewayServer(server)
