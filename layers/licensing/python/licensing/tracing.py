"""Every AWS call of a sampled invocation as an X-Ray subsegment of the function's trace.

Lambda's active tracing (on for every function) records each invocation; what it cannot see is
where the time went inside it. This module adds one subsegment per AWS SDK call (service,
operation, table or bucket, status, retries, request id, error, throttle or fault), sent to the
X-Ray daemon that Lambda runs beside the function, as the X-Ray SDK does in Lambda: independent
subsegment documents whose parent is the function's segment (`Parent` in `_X_AMZN_TRACE_ID`).

Why not Powertools' Tracer: it needs the X-Ray SDK, whose import costs about a third of boto3's on
every cold start, and the license API's cold start is what installed extensions wait for. This
needs nothing beyond the standard library, costs nothing when the invocation is not sampled, and
never fails a call (a datagram that cannot be sent is dropped).

Only names go into a subsegment (service, operation, table, bucket), never keys, items or
addresses.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import time
from typing import Any

HEADER = b'{"format": "json", "version": 1}\n'
DEFAULT_DAEMON = ("127.0.0.1", 2000)
# The request parameters that name a resource, not its data.
_NAMES = {"TableName": "table_name", "Bucket": "bucket_name", "QueueUrl": "queue_url"}

_socket: socket.socket | None = None


def trace_context() -> tuple[str, str] | None:
    """(trace id, parent segment id) when the current invocation is sampled, else None."""
    header = os.environ.get("_X_AMZN_TRACE_ID", "")
    fields = dict(part.split("=", 1) for part in header.split(";") if "=" in part)
    if fields.get("Sampled") != "1" or "Root" not in fields or "Parent" not in fields:
        return None
    return fields["Root"], fields["Parent"]


def daemon_address() -> tuple[str, int]:
    """`AWS_XRAY_DAEMON_ADDRESS`: `host:port`, or `udp:host:port tcp:host:port` (Lambda's form)."""
    value = os.environ.get("AWS_XRAY_DAEMON_ADDRESS", "")
    for part in value.split():
        if part.startswith("tcp:"):
            continue
        host, _, port = part.removeprefix("udp:").rpartition(":")
        if host and port.isdigit():
            return host, int(port)
    return DEFAULT_DAEMON


def send(document: dict[str, Any]) -> None:
    global _socket
    try:
        if _socket is None:
            _socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        _socket.sendto(HEADER + json.dumps(document).encode(), daemon_address())
    except OSError:
        pass  # tracing never fails the call it describes


def trace_calls(client: Any) -> Any:
    """Register the subsegment hooks on a boto3 client; returns the client."""
    events = client.meta.events
    service = client.meta.service_model.service_id
    region = client.meta.region_name

    def started(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if trace_context() is None:
            return
        context["xray"] = {
            "start": time.time(),
            "operation": model.name,
            "names": {name: str(params[key]) for key, name in _NAMES.items() if key in params},
        }

    def finished(context: dict[str, Any], **kwargs: Any) -> None:
        call = context.pop("xray", None)
        trace = trace_context()
        if call is None or trace is None:
            return
        with contextlib.suppress(Exception):  # tracing never fails the call it describes
            send(subsegment(call, trace, kwargs))

    def subsegment(call: dict[str, Any], trace: tuple[str, str], kwargs: dict[str, Any]) -> dict[str, Any]:
        document: dict[str, Any] = {
            "name": str(service),
            "id": secrets.token_hex(8),
            "trace_id": trace[0],
            "parent_id": trace[1],
            "start_time": call["start"],
            "end_time": time.time(),
            "type": "subsegment",
            "namespace": "aws",
            "aws": {"operation": call["operation"], "region": region, **call["names"]},
        }
        http = kwargs.get("http_response")
        if http is not None:
            metadata = (kwargs.get("parsed") or {}).get("ResponseMetadata", {})
            status = int(http.status_code)
            document["http"] = {"response": {"status": status}}
            document["aws"]["request_id"] = metadata.get("RequestId", "")
            document["aws"]["retries"] = metadata.get("RetryAttempts", 0)
            code = str((kwargs.get("parsed") or {}).get("Error", {}).get("Code", ""))
            if status == 429 or "Throttl" in code or code == "ProvisionedThroughputExceededException":
                document.update(error=True, throttle=True)
            elif status >= 500:
                document["fault"] = True
            elif status >= 400:
                document["error"] = True
        else:  # no answer at all: a timeout or a broken connection
            document["fault"] = True
            document["cause"] = {"exceptions": [{"type": type(kwargs.get("exception")).__name__}]}
        return document

    operation = f"{service.hyphenize()}.*"
    events.register(f"before-parameter-build.{operation}", started)
    events.register(f"after-call.{operation}", finished)
    events.register(f"after-call-error.{operation}", finished)
    return client
