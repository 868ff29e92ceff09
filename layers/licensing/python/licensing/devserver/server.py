"""The local system (`licensing dev`, what `make run` starts): the embedded AWS emulator, the
resources of the stack, the demo catalogue, the HTTP gateway in front of the real handlers, the
queue workers and the dev mailbox, all on loopback."""

from __future__ import annotations

import logging
import os
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import catalogue, wiring
from .resources import LOCAL, LocalNames

log = logging.getLogger("licensing.dev")

REPO_ROOT = Path(__file__).resolve().parents[5]
DEFAULT_WEBHOOK_SECRET = "whsec_local_dev"  # noqa: S105 (the documented local default, not a secret)


def local_environment(aws_endpoint: str, public_url: str, names: LocalNames = LOCAL) -> dict[str, str]:
    """The environment the handlers see locally: what the stack sets in Lambda, on the emulator."""
    return {
        **catalogue.RUNTIME_ENVIRONMENT,
        "AWS_ENDPOINT_URL": aws_endpoint,
        "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "local"),
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "local"),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "LICENSING_TABLE": names.table,
        "RELEASE_BUCKET": names.bucket,
        "EVENT_BUS_NAME": names.bus,
        "MAIL_FROM": f"DevCRM Extensions <{names.sender}>",
        "STAFF_EMAIL": os.environ.get("STAFF_EMAIL") or "staff@vendor.test",
        "PUBLIC_BASE_URL": public_url,
        "STRIPE_WEBHOOK_SECRET": os.environ.get("STRIPE_WEBHOOK_SECRET") or DEFAULT_WEBHOOK_SECRET,
        "POWERTOOLS_METRICS_NAMESPACE": "Licensing",
        "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
    }


@dataclass
class DevServer:
    """A running local system; `stop()` ends every part of it."""

    host: str = "127.0.0.1"
    port: int = 8000
    aws_port: int = 8001
    demo: bool = True
    names: LocalNames = LOCAL
    aws_endpoint: str = ""
    url: str = ""
    demo_ids: dict[str, str] = field(default_factory=dict)
    _moto: Any = None
    _http: Any = None
    _workers: list[Any] = field(default_factory=list)

    def start(self) -> DevServer:
        import boto3
        from moto.server import ThreadedMotoServer

        from ..adapters.dynamo import DynamoStore
        from ..adapters.s3 import S3Files
        from .checkout_page import DevCheckout
        from .clock import DevClock
        from .demo import load_demo_data
        from .functions import invoker
        from .gateway import Gateway, routes_from_catalogue, serve
        from .mailbox import Mailbox
        from .resources import provision
        from .workers import QueueWorker, ScheduleRunner

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        _check_port(self.host, self.aws_port)
        _check_port(self.host, self.port)
        self._moto = ThreadedMotoServer(ip_address=self.host, port=self.aws_port, verbose=False)
        self._moto.start()
        host, aws_port = self._moto.get_host_and_port()
        self.aws_endpoint = f"http://{host}:{aws_port}"
        invoke = invoker(catalogue.FUNCTIONS, REPO_ROOT)
        mailbox = Mailbox()
        checkout = DevCheckout(f"http://{self.host}:{self.port}/webhooks/stripe")
        ready = threading.Event()
        gateway = Gateway(
            routes_from_catalogue(catalogue.FUNCTIONS),
            invoke,
            ready=ready,
            dev_routes={
                "/_dev/mail.json": mailbox.json_view,
                "/_dev/mail": mailbox.html_view,
                "/_dev/checkout": checkout.view,
                "/_dev/clock": DevClock(invoke).view,
            },
        )
        try:
            self._http = serve(gateway, host=self.host, port=self.port)
        except OSError:
            self._moto.stop()
            raise
        self.url = f"http://{self.host}:{self._http.port}"
        checkout.webhook_url = f"{self.url}/webhooks/stripe"
        os.environ.update(local_environment(self.aws_endpoint, self.url, self.names))
        # A fresh response-signing key each start (extensions fetch it from /v1/keys), unless given.
        os.environ.setdefault("SIGNING_KEY", secrets.token_hex(32))
        os.environ.setdefault("TOKEN_KEY", secrets.token_hex(32))  # links of this run only
        wiring.reset()
        if not os.environ.get("STRIPE_API_KEY"):
            wiring.provide_checkout(checkout)  # without a Stripe test key, renewals pay locally
        session = boto3.session.Session()
        queue_urls = provision(session, self.names)
        if self.demo:
            self.demo_ids = load_demo_data(
                DynamoStore(self.names.table, session.client("dynamodb")), S3Files(self.names.bucket)
            )
        sqs = session.client("sqs")
        for function in catalogue.FUNCTIONS:
            runner: Any = None
            if function.queue:
                runner = QueueWorker(function, queue_urls[function.queue], invoke, sqs)
            elif function.schedule:
                runner = ScheduleRunner(function, invoke)
            if runner is not None:
                runner.start()
                self._workers.append(runner)
        # Only now do the routes (and /v1/health) answer: tables, queues and demo data are in place.
        ready.set()
        return self

    def stop(self) -> None:
        for worker in self._workers:
            worker.stop()
        for worker in self._workers:
            worker.join(timeout=5)
        if self._http is not None:
            self._http.shutdown()
        if self._moto is not None:
            self._moto.stop()

    def wait(self) -> None:
        """Block until interrupted (Ctrl-C, or a plain `kill`), then stop cleanly."""
        import signal

        stopped = threading.Event()
        # Both set explicitly: a server started in the background inherits an ignored SIGINT.
        signal.signal(signal.SIGTERM, lambda *_: stopped.set())
        signal.signal(signal.SIGINT, lambda *_: stopped.set())
        try:
            while not stopped.wait(1):
                pass  # waking each second lets the signal handlers run
        finally:
            self.stop()


def _check_port(host: str, port: int) -> None:
    """Refuse a port another program listens on, before anything starts. SO_REUSEADDR, as the
    servers themselves bind: a port our own last run left in TIME_WAIT is free to use."""
    import socket

    from .gateway import PortInUseError

    if port == 0:
        return
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise PortInUseError(host, port) from None
