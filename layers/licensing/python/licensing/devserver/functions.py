"""The catalogue's Lambda handlers, loaded in-process and called as Lambda would call them."""

from __future__ import annotations

import importlib.util
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .. import catalogue

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]

# Local stand-ins for the parts of an ARN that only a real account has.
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"


class LambdaContext:
    """What Lambda passes as a handler's second argument, as far as the handlers and Powertools'
    ``Logger.inject_lambda_context`` read it. Make one per invocation: each has its own request id
    and its own deadline, counted from its creation."""

    def __init__(self, function: catalogue.Function) -> None:
        self.function_name = function.name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = function.memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function.name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function.name}"
        self.log_stream_name = f"local/{self.aws_request_id}"
        self._deadline = time.monotonic() + function.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def module_name(function: catalogue.Function) -> str:
    """The name a function's ``handler.py`` is imported under: every function has a ``handler.py``,
    so the bare name ``handler`` would make the second one loaded replace the first."""
    return f"licensing_functions.{function.name}"


def load_handler(function: catalogue.Function, root: Path) -> Handler:
    """Import ``root/functions/<name>/handler.py`` and return its ``lambda_handler``.

    A module is imported once per process, as in a warm Lambda execution environment; loading the
    same function again returns the same handler.
    """
    path = (root / function.source_dir / "handler.py").resolve()
    name = module_name(function)
    module = sys.modules.get(name)
    if module is None or Path(module.__file__ or "") != path:
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}", name=name, path=str(path))
        module = importlib.util.module_from_spec(spec)
        # Registered before running it, as the import system does: pydantic and dataclasses look
        # a class's module up in sys.modules while the module body runs.
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
    handler: Handler = module.lambda_handler
    return handler


def invoker(
    functions: Iterable[catalogue.Function], root: Path
) -> Callable[[str, dict[str, Any]], dict[str, Any]]:
    """An ``invoke(function_name, event)`` for the gateway: loads every function's handler now, so
    that a broken one fails at start rather than at its first request, and calls it with a fresh
    ``LambdaContext`` each time."""
    loaded = {function.name: (function, load_handler(function, root)) for function in functions}

    def invoke(function_name: str, event: dict[str, Any]) -> dict[str, Any]:
        function, handler = loaded[function_name]
        return handler(event, LambdaContext(function))

    return invoke
