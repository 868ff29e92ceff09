"""The local HTTP gateway, over real sockets on 127.0.0.1: routing like API Gateway's HTTP API,
payload format 2.0 events shaped like AWS's samples (tests/fixtures/aws-events, from Powertools'
test suite), answers written back as API Gateway writes them, and the real license API behind it.

Most tests put a fake function behind the gateway that records the event and returns a given
answer; the handlers themselves are tested elsewhere.
"""

from __future__ import annotations

import base64
import errno
import json
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import pytest
import requests
from aws_lambda_powertools.logging.lambda_context import build_lambda_context_model
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Request, Response

from licensing import catalogue
from licensing.devserver.functions import LambdaContext, invoker, load_handler, module_name
from licensing.devserver.gateway import (
    Gateway,
    GatewayServer,
    PortInUseError,
    routes_from_catalogue,
    serve,
)

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "tests" / "fixtures" / "aws-events"
POST_SAMPLE = json.loads((SAMPLES / "apiGatewayProxyV2Event.json").read_text())
GET_SAMPLE = json.loads((SAMPLES / "apiGatewayProxyV2Event_GET.json").read_text())

# Keys of the samples that only a deployed stage with stage variables, mutual TLS or a JWT
# authorizer has; the local stage has none of them.
NOT_LOCAL = {"stageVariables"}
NOT_LOCAL_CONTEXT = {"authentication", "authorizer"}

API_GATEWAY_TIME = re.compile(r"\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000")

ROUTES = [
    ("ANY /v1/{proxy+}", "api"),
    ("POST /webhooks/stripe", "webhook"),
    ("GET /portal/licenses/{license_id}", "portal"),
    ("$default", "fallback"),
]

# The gateway's own address, never a proxy from the environment.
session = requests.Session()
session.trust_env = False


class FakeFunctions:
    """An ``invoke`` that records each event and answers what a test set: a dict, a function of
    the event, or an exception to raise."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.answer: dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]] | Exception = {}

    def reset(self) -> None:
        self.calls.clear()
        self.answer = {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}

    def __call__(self, function_name: str, event: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((function_name, event))
        if isinstance(self.answer, Exception):
            raise self.answer
        if callable(self.answer):
            return self.answer(event)
        return self.answer

    @property
    def event(self) -> dict[str, Any]:
        assert len(self.calls) == 1, self.calls
        return self.calls[0][1]

    @property
    def function_name(self) -> str:
        assert len(self.calls) == 1, self.calls
        return self.calls[0][0]


def mail_view(request: Request) -> Response:
    return Response(f"mailbox at {request.path}", content_type="text/html")


def mail_json_view(request: Request) -> Response:
    return Response("[]", content_type="application/json")


def missing_view(request: Request) -> Response:
    raise NotFound()


DEV_ROUTES = {"/_dev/mail": mail_view, "/_dev/mail.json": mail_json_view, "/_dev/missing": missing_view}


@pytest.fixture(scope="module")
def fake() -> FakeFunctions:
    return FakeFunctions()


@pytest.fixture(scope="module")
def server(fake: FakeFunctions) -> Iterator[GatewayServer]:
    running = serve(Gateway(ROUTES, fake, DEV_ROUTES), port=0)
    yield running
    running.shutdown()


@pytest.fixture
def url(server: GatewayServer, fake: FakeFunctions) -> str:
    fake.reset()
    return server.url


@pytest.fixture
def start() -> Iterator[Callable[[Gateway], str]]:
    """Start a gateway of a test's own, stopped at the end of the test; returns its URL."""
    servers: list[GatewayServer] = []

    def _start(gateway: Gateway) -> str:
        servers.append(serve(gateway, port=0))
        return servers[-1].url

    yield _start
    for running in servers:
        running.shutdown()


def parse(event: dict[str, Any]) -> APIGatewayProxyEventV2:
    """The event as Powertools reads it, after checking it has the samples' shape."""
    sample_context = POST_SAMPLE["requestContext"]
    assert set(event) <= set(POST_SAMPLE) - NOT_LOCAL
    assert set(event["requestContext"]) == set(sample_context) - NOT_LOCAL_CONTEXT
    assert set(event["requestContext"]["http"]) == set(sample_context["http"])
    assert all(name == name.lower() for name in event["headers"])
    parsed = APIGatewayProxyEventV2(event)
    context = parsed.request_context
    assert parsed.version == "2.0"
    assert parsed.path == parsed.raw_path == context.http.path
    assert parsed.http_method == context.http.method
    assert parsed.route_key == context.route_key
    assert context.stage == "$default"
    assert API_GATEWAY_TIME.fullmatch(context.time)
    assert abs(context.time_epoch / 1000 - time.time()) < 60
    assert isinstance(parsed.is_base64_encoded, bool)
    return parsed


def test_a_json_post_becomes_an_event_shaped_like_the_post_sample(url: str, fake: FakeFunctions) -> None:
    payload = {"key": "ABCD-EFGH", "site": "https://example.com"}
    response = session.post(
        f"{url}/v1/licenses/validate?debug=1",
        json=payload,
        headers={"User-Agent": "extension/1.2", "Cookie": "seen=1"},
    )

    assert response.status_code == 200
    event = fake.event
    parsed = parse(event)
    assert set(event) == set(POST_SAMPLE) - NOT_LOCAL
    assert fake.function_name == "api"
    assert event["routeKey"] == "ANY /v1/{proxy+}"
    assert event["rawPath"] == "/v1/licenses/validate"
    assert event["pathParameters"] == {"proxy": "licenses/validate"}
    assert event["isBase64Encoded"] is False
    assert parsed.json_body == payload
    assert event["body"] == json.dumps(payload)
    assert event["headers"]["content-type"] == "application/json"
    http_context = event["requestContext"]["http"]
    assert http_context == {
        "method": "POST",
        "path": "/v1/licenses/validate",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "extension/1.2",
    }
    assert event["requestContext"]["requestId"] == response.headers["X-Request-Id"]


def test_a_get_with_repeated_query_keys_is_shaped_like_the_get_sample(url: str, fake: FakeFunctions) -> None:
    response = session.get(
        f"{url}/v1/download?token=a&token=b&name=x%20y&empty=",
        headers={"Cookie": "seen=1"},
    )

    assert response.status_code == 200
    event = fake.event
    parse(event)
    assert set(event) == set(GET_SAMPLE) - NOT_LOCAL
    assert "body" not in event
    assert event["isBase64Encoded"] is False
    assert event["rawQueryString"] == "token=a&token=b&name=x%20y&empty="
    assert event["queryStringParameters"] == {"token": "a,b", "name": "x y", "empty": ""}


def test_a_bare_get_has_no_cookies_query_parameters_or_body(url: str, fake: FakeFunctions) -> None:
    session.get(f"{url}/v1/health")

    event = fake.event
    parse(event)
    assert event["rawQueryString"] == ""
    assert {"cookies", "queryStringParameters", "body"}.isdisjoint(event)


def test_a_form_post_is_base64_encoded(url: str, fake: FakeFunctions) -> None:
    session.post(f"{url}/v1/forms", data={"site": "example.com", "note": "a b"})

    event = fake.event
    parsed = parse(event)
    assert event["isBase64Encoded"] is True
    assert event["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert base64.b64decode(event["body"]) == b"site=example.com&note=a+b"
    assert parsed.decoded_body == "site=example.com&note=a+b"


@pytest.mark.parametrize(
    ("content_type", "encoded"),
    [
        ("application/json", False),
        ("application/json; charset=utf-8", False),
        ("text/html", False),
        ("application/xml", False),
        ("application/javascript", False),
        ("application/problem+json", False),
        ("application/atom+xml", False),
        ("multipart/form-data; boundary=xyz", True),
        ("application/octet-stream", True),
        ("image/png", True),
        (None, True),
    ],
)
def test_only_text_bodies_are_passed_as_text(
    url: str, fake: FakeFunctions, content_type: str | None, encoded: bool
) -> None:
    body = '{"name": "Zoë"}'.encode()
    headers = {"Content-Type": content_type} if content_type else {}

    session.post(f"{url}/v1/things", data=body, headers=headers)

    event = fake.event
    parse(event)
    assert event["isBase64Encoded"] is encoded
    assert event["body"] == (base64.b64encode(body).decode() if encoded else body.decode())


def test_a_text_body_that_is_not_utf8_is_base64_encoded(url: str, fake: FakeFunctions) -> None:
    session.post(f"{url}/v1/things", data=b"caf\xe9", headers={"Content-Type": "text/plain"})

    assert fake.event["isBase64Encoded"] is True
    assert base64.b64decode(fake.event["body"]) == b"caf\xe9"


def test_a_binary_upload_and_a_base64_answer_round_trip_the_bytes(url: str, fake: FakeFunctions) -> None:
    upload = bytes(range(256)) * 64
    fake.answer = lambda event: {
        "statusCode": 200,
        "headers": {"Content-Type": "application/zip"},
        "body": event["body"],
        "isBase64Encoded": event["isBase64Encoded"],
    }

    response = session.put(
        f"{url}/v1/uploads/extension.zip", data=upload, headers={"Content-Type": "application/zip"}
    )

    parse(fake.event)
    assert fake.event["isBase64Encoded"] is True
    assert base64.b64decode(fake.event["body"]) == upload
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/zip"
    assert response.content == upload


def test_cookies_go_to_their_own_field_and_come_back_as_one_set_cookie_each(
    url: str, fake: FakeFunctions
) -> None:
    fake.answer = {
        "statusCode": 303,
        "headers": {"Location": "/portal/"},
        "cookies": ["session=new; HttpOnly; SameSite=Lax; Path=/", "theme=light; Path=/"],
    }

    response = session.post(
        f"{url}/v1/session", headers={"Cookie": "session=abc; theme=dark"}, allow_redirects=False
    )

    parsed = parse(fake.event)
    assert fake.event["cookies"] == ["session=abc", "theme=dark"]
    assert parsed.resolved_cookies_field == {"session": "abc", "theme": "dark"}
    assert "cookie" not in fake.event["headers"]
    assert response.status_code == 303
    assert response.headers["Location"] == "/portal/"
    assert response.raw.headers.getlist("Set-Cookie") == [
        "session=new; HttpOnly; SameSite=Lax; Path=/",
        "theme=light; Path=/",
    ]


def test_repeated_request_headers_are_comma_joined(
    server: GatewayServer, url: str, fake: FakeFunctions
) -> None:
    connection = HTTPConnection(server.host, server.port, timeout=10)
    try:
        connection.putrequest("GET", "/v1/things")
        connection.putheader("X-Tag", "value1")
        connection.putheader("X-Tag", "value2")
        connection.endheaders()
        assert connection.getresponse().status == 200
    finally:
        connection.close()

    parse(fake.event)
    assert fake.event["headers"]["x-tag"] == "value1,value2"


def test_header_names_are_lower_case_and_api_gateway_adds_its_own(
    server: GatewayServer, url: str, fake: FakeFunctions
) -> None:
    session.get(f"{url}/v1/things", headers={"X-Custom-Header": "Mixed Case", "Authorization": "Bearer t"})

    headers = fake.event["headers"]
    parse(fake.event)
    assert headers["x-custom-header"] == "Mixed Case"
    assert headers["authorization"] == "Bearer t"
    assert headers["host"] == f"127.0.0.1:{server.port}"
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-port"] == str(server.port)
    assert fake.event["requestContext"]["domainName"] == f"127.0.0.1:{server.port}"


def test_a_client_sent_x_forwarded_for_gets_the_client_address_appended(
    url: str, fake: FakeFunctions
) -> None:
    session.get(f"{url}/v1/things", headers={"X-Forwarded-For": "203.0.113.7"})

    assert fake.event["headers"]["x-forwarded-for"] == "203.0.113.7, 127.0.0.1"


def test_path_parameters_are_decoded_like_api_gateway_does(url: str, fake: FakeFunctions) -> None:
    session.get(f"{url}/portal/licenses/lic%20123")

    event = fake.event
    parsed = parse(event)
    assert fake.function_name == "portal"
    assert event["routeKey"] == "GET /portal/licenses/{license_id}"
    assert event["rawPath"] == "/portal/licenses/lic 123"
    assert parsed.path_parameters == {"license_id": "lic 123"}


def test_proxy_plus_takes_every_segment_below_it(url: str, fake: FakeFunctions) -> None:
    session.delete(f"{url}/v1/licenses/lic_1/sites/example.com")

    assert fake.function_name == "api"
    assert fake.event["pathParameters"] == {"proxy": "licenses/lic_1/sites/example.com"}
    assert fake.event["requestContext"]["http"]["method"] == "DELETE"


@pytest.mark.parametrize(
    ("method", "path", "route_key"),
    [
        ("GET", "/things/new", "GET /things/new"),
        ("GET", "/things/7", "GET /things/{thing_id}"),
        ("DELETE", "/things/7", "ANY /things/{thing_id}"),
        ("POST", "/things/new", "ANY /things/{thing_id}"),
        ("GET", "/things/7/parts", "ANY /{proxy+}"),
        ("GET", "/", "$default"),
    ],
)
def test_the_most_specific_route_wins_and_a_method_beats_any(
    start: Callable[[Gateway], str], method: str, path: str, route_key: str
) -> None:
    fake = FakeFunctions()
    fake.reset()
    routes = [
        ("ANY /{proxy+}", "f"),
        ("ANY /things/{thing_id}", "f"),
        ("GET /things/{thing_id}", "f"),
        ("GET /things/new", "f"),
        ("$default", "f"),
    ]
    url = start(Gateway(routes, fake))

    session.request(method, f"{url}{path}")

    parse(fake.event)
    assert fake.event["routeKey"] == route_key


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/nowhere"), ("GET", "/webhooks/stripe"), ("POST", "/webhooks/stripe/"), ("GET", "/v1")],
)
def test_what_no_route_takes_goes_to_default(url: str, fake: FakeFunctions, method: str, path: str) -> None:
    response = session.request(method, f"{url}{path}", allow_redirects=False)

    assert response.status_code == 200
    event = fake.event
    parse(event)
    assert fake.function_name == "fallback"
    assert event["routeKey"] == "$default"
    assert event["rawPath"] == path
    assert "pathParameters" not in event


def test_the_webhook_route_takes_only_its_method(url: str, fake: FakeFunctions) -> None:
    session.post(f"{url}/webhooks/stripe", data=b"{}", headers={"Content-Type": "application/json"})

    assert fake.function_name == "webhook"
    assert fake.event["routeKey"] == "POST /webhooks/stripe"


def test_without_a_default_route_unknown_paths_are_404_in_the_contract_shape(
    start: Callable[[Gateway], str],
) -> None:
    fake = FakeFunctions()
    url = start(Gateway([("GET /v1/health", "api")], fake))

    response = session.get(f"{url}/nowhere")

    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"error": {"code": "NOT_FOUND", "message": "No such route.", "details": []}}
    assert response.headers["X-Request-Id"]
    assert fake.calls == []


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        ("/_dev/mail", 200, "mailbox at /_dev/mail"),
        ("/_dev/mail/3", 200, "mailbox at /_dev/mail/3"),
        ("/_dev/mail.json", 200, "[]"),
        ("/_dev/missing", 404, None),
    ],
)
def test_dev_routes_are_served_directly(
    url: str, fake: FakeFunctions, path: str, status: int, body: str | None
) -> None:
    response = session.get(f"{url}{path}")

    assert response.status_code == status
    if body is not None:
        assert response.text == body
    assert response.headers["X-Request-Id"]
    assert fake.calls == []


def test_a_handler_that_raises_gives_api_gateways_500_and_a_traceback_on_stderr(
    url: str, fake: FakeFunctions, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.answer = RuntimeError("store unreachable")

    response = session.get(f"{url}/v1/health")

    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}
    assert "store unreachable" not in response.text
    assert response.headers["X-Request-Id"] == fake.event["requestContext"]["requestId"]
    stderr = capsys.readouterr().err
    assert f"api failed on GET /v1/health ({response.headers['X-Request-Id']})" in stderr
    assert "Traceback" in stderr
    assert "RuntimeError: store unreachable" in stderr


def test_a_malformed_answer_gives_500(
    url: str, fake: FakeFunctions, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.answer = {"statusCode": 200, "body": "not base64!", "isBase64Encoded": True}

    response = session.get(f"{url}/v1/health")

    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}
    assert "binascii.Error" in capsys.readouterr().err


def test_answer_headers_are_written_back_and_the_handlers_request_id_is_kept(
    url: str, fake: FakeFunctions
) -> None:
    fake.answer = {
        "statusCode": 201,
        "headers": {"Content-Type": "text/plain", "X-Request-Id": "from-the-handler"},
        "multiValueHeaders": {"Vary": ["Origin", "Accept"]},
        "body": "made",
    }

    response = session.post(f"{url}/v1/things")

    assert response.status_code == 201
    assert response.text == "made"
    assert response.headers["Content-Type"] == "text/plain"
    assert response.headers["X-Request-Id"] == "from-the-handler"
    assert response.raw.headers.getlist("Vary") == ["Origin", "Accept"]


def test_no_content_type_is_added_to_an_answer_without_one(url: str, fake: FakeFunctions) -> None:
    fake.answer = {"statusCode": 204}

    response = session.delete(f"{url}/v1/things/1")

    assert response.status_code == 204
    assert "Content-Type" not in response.headers
    assert response.headers["X-Request-Id"] == fake.event["requestContext"]["requestId"]


def test_an_answer_without_status_code_is_sent_as_200_json(url: str, fake: FakeFunctions) -> None:
    fake.answer = {"status": "ok", "count": 2}

    response = session.get(f"{url}/v1/health")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok", "count": 2}
    assert response.headers["X-Request-Id"]


def test_a_function_serves_one_request_at_a_time_like_one_lambda_environment(
    start: Callable[[Gateway], str],
) -> None:
    running = 0
    most = 0
    count = threading.Lock()

    def slow(function_name: str, event: dict[str, Any]) -> dict[str, Any]:
        nonlocal running, most
        with count:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with count:
            running -= 1
        return {"statusCode": 200}

    url = start(Gateway([("$default", "f")], slow))
    clients = [threading.Thread(target=session.get, args=(f"{url}/x",)) for _ in range(4)]
    for client in clients:
        client.start()
    for client in clients:
        client.join()

    assert most == 1


def test_a_taken_port_is_a_clear_error(server: GatewayServer) -> None:
    with pytest.raises(PortInUseError) as raised:
        serve(Gateway([], FakeFunctions()), host=server.host, port=server.port)

    assert isinstance(raised.value, OSError)
    assert raised.value.errno == errno.EADDRINUSE
    assert str(raised.value).startswith(f"port {server.port} is already in use on 127.0.0.1")


@pytest.mark.parametrize(
    "routes",
    [
        [("FETCH /things", "f")],
        [("GET things", "f")],
        [("GET /things/{thing-id}", "f")],
        [("GET /things", "f"), ("GET /things", "g")],
        [("$default", "f"), ("$default", "g")],
    ],
)
def test_route_keys_that_api_gateway_would_refuse_are_refused(routes: list[tuple[str, str]]) -> None:
    with pytest.raises(ValueError, match="route"):
        Gateway(routes, FakeFunctions())


def test_routes_come_from_the_catalogue() -> None:
    functions = (
        catalogue.Function(name="api", description="", routes=("ANY /v1/{proxy+}", "$default")),
        catalogue.Function(name="webhook", description="", routes=("POST /webhooks/stripe",)),
        catalogue.Function(name="worker", description="", queue="transactional"),
    )

    assert routes_from_catalogue(functions) == [
        ("ANY /v1/{proxy+}", "api"),
        ("$default", "api"),
        ("POST /webhooks/stripe", "webhook"),
    ]
    deployed = routes_from_catalogue(catalogue.FUNCTIONS)
    assert ("POST /v1/licenses/validate", "license_api") in deployed
    assert ("GET /v1/download", "license_api") in deployed
    assert ("$default", "portal") in deployed


@pytest.fixture
def license_api(start: Callable[[Gateway], str]) -> tuple[str, list[dict[str, Any]]]:
    """The real license API (and portal, which answers $default) behind the gateway, with the
    events they were given."""
    functions = [catalogue.function("license_api"), catalogue.function("portal")]
    real = invoker(functions, ROOT)
    events: list[dict[str, Any]] = []

    def invoke(function_name: str, event: dict[str, Any]) -> dict[str, Any]:
        events.append(event)
        return real(function_name, event)

    return start(Gateway(routes_from_catalogue(functions), invoke)), events


def test_the_real_license_api_answers_health(license_api: tuple[str, list[dict[str, Any]]]) -> None:
    url, events = license_api

    response = session.get(f"{url}/v1/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["X-Request-Id"] == events[0]["requestContext"]["requestId"]


def test_the_real_license_api_answers_unknown_paths_through_default(
    license_api: tuple[str, list[dict[str, Any]]],
) -> None:
    url, events = license_api

    response = session.get(f"{url}/no/such/page")

    assert response.status_code == 404
    assert response.json()["error"] == {"code": "NOT_FOUND", "message": "No such route.", "details": []}
    assert events[0]["routeKey"] == "$default"
    assert response.headers["X-Request-Id"] == events[0]["requestContext"]["requestId"]


def test_every_route_of_the_license_api_is_a_catalogue_route(
    license_api: tuple[str, list[dict[str, Any]]],
) -> None:
    # The deployed API routes only what the catalogue names: a handler route missing there
    # would answer 404 from $default once deployed.
    url, _ = license_api
    document = session.get(f"{url}/v1/openapi.json").json()
    routes = set(catalogue.function("license_api").routes)
    served = {f"{method.upper()} {path}" for path, item in document["paths"].items() for method in item}
    greedy = [route.removesuffix("{proxy+}") for route in routes if route.endswith("{proxy+}")]
    assert served
    assert {route for route in served if not route.startswith(tuple(greedy))} <= routes
    assert "GET /v1/openapi.json" in routes


def test_an_unknown_v1_path_is_answered_by_default_with_404(
    license_api: tuple[str, list[dict[str, Any]]],
) -> None:
    url, events = license_api

    response = session.post(f"{url}/v1/licenses/nothing", json={})

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert events[0]["routeKey"] == "$default"


@pytest.fixture
def function_tree(tmp_path: Path) -> Iterator[Path]:
    """Two functions whose modules are both called handler.py, as every function's is."""
    for name in ("alpha", "beta"):
        directory = tmp_path / "functions" / name
        directory.mkdir(parents=True)
        (directory / "handler.py").write_text(
            "def lambda_handler(event, context):\n"
            f"    return {{'function': {name!r}, 'request': context.aws_request_id}}\n"
        )
    yield tmp_path
    for name in ("alpha", "beta", "broken"):
        sys.modules.pop(f"licensing_functions.{name}", None)


def test_functions_with_the_same_file_name_do_not_collide(function_tree: Path) -> None:
    alpha = catalogue.Function(name="alpha", description="")
    beta = catalogue.Function(name="beta", description="")

    alpha_handler = load_handler(alpha, function_tree)
    beta_handler = load_handler(beta, function_tree)

    assert alpha_handler({}, LambdaContext(alpha))["function"] == "alpha"
    assert beta_handler({}, LambdaContext(beta))["function"] == "beta"
    assert module_name(alpha) != module_name(beta)
    assert sys.modules[module_name(alpha)].lambda_handler is alpha_handler
    assert load_handler(alpha, function_tree) is alpha_handler


def test_a_handler_that_fails_to_import_is_not_left_half_loaded(function_tree: Path) -> None:
    broken = catalogue.Function(name="broken", description="")
    (function_tree / "functions" / "broken").mkdir()
    (function_tree / "functions" / "broken" / "handler.py").write_text("raise ImportError('no such thing')\n")

    with pytest.raises(ImportError, match="no such thing"):
        load_handler(broken, function_tree)

    assert module_name(broken) not in sys.modules


def test_the_invoker_gives_each_call_a_fresh_context(function_tree: Path) -> None:
    invoke = invoker([catalogue.Function(name="alpha", description="")], function_tree)

    first = invoke("alpha", {})
    second = invoke("alpha", {})

    assert first["function"] == "alpha"
    assert first["request"] != second["request"]


def test_the_lambda_context_has_what_powertools_reads() -> None:
    function = catalogue.Function(name="license_api", description="", timeout_seconds=3, memory_mb=1024)
    context = LambdaContext(function)

    model = build_lambda_context_model(context)

    assert model.function_name == "license_api"
    assert model.function_memory_size == 1024
    assert model.function_arn == "arn:aws:lambda:us-east-1:123456789012:function:license_api"
    assert model.function_request_id == context.aws_request_id
    assert 2000 < context.get_remaining_time_in_millis() <= 3000
    assert LambdaContext(function).aws_request_id != context.aws_request_id
