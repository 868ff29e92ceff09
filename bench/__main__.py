"""`make bench`: the figures DESIGN.md tracks, each a count or a ratio against a baseline measured
in the same run (never an absolute time), printed as a table and merged into bench/results.json.

- `validate_reads`, `activate_writes`: DynamoDB requests of one validation and one activation.
- `validate_usage_writes_per_day`: DynamoDB writes of 10 validations of one activated site on one
  day, with its versions, through the license API's handler (usage tracking; goal 1).
- `validate_warm_ratio`: a warm validation through the license API's handler (API Gateway event in,
  signed answer out) against a bare `GetItem` of the same item, on the same emulator.
- `validate_cold_ratio`: a fresh process that imports the handler and validates once, against a
  fresh process that imports boto3 and does one `GetItem`.
- `cold_ratio_<function>`: importing each function's handler against a bare `import boto3`.
  Every cold process reads byte code of the standard library only (as Lambda's runtime has it) and
  compiles the packages and our modules it imports (as from a layer shipped without byte code),
  whatever `__pycache__` this machine holds: a `PYTHONPYCACHEPREFIX` of the standard library's.
- `byte_code_import_ratio`: importing the license API's handler with byte code (as `make build`
  ships the layers when it can compile them) against without.

- `expiry_reads_per_due`: DynamoDB read requests of one run of the lifecycle job per license it
  had to handle, among many licenses that were not due (the indexes keep it flat as they grow).

The mail figures (`notify_ses_calls_per_100`, `notify_emails_per_s`, `notify_rate_ratio`,
`transactional_delay_during_blast`) are described in `bench/mail.py`; the fan-out's
(`fanout_max_items_per_invocation`, on DynamoDB Local) in `bench/fanout.py`, the importer's in
`bench/imports.py`.
"""

from __future__ import annotations

import logging
import os
import secrets
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench import ROOT, merge_results

COLD_RUNS = 11  # fresh processes per cold figure and its baseline: the median of 11 moves less than of 7
WARM_RUNS = 200


def _seconds(action: Callable[[], Any]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def median_ratio(action: Callable[[], Any], baseline: Callable[[], Any], runs: int) -> float:
    """Median of `action` over median of `baseline`, run in turns so that a busy moment of the
    machine weighs on both alike."""
    timings: list[float] = []
    base: list[float] = []
    for _ in range(runs):
        base.append(_seconds(baseline))
        timings.append(_seconds(action))
    return statistics.median(timings) / statistics.median(base)


def process_seconds(code: str, environment: dict[str, str]) -> float:
    """Wall time of `code` in a fresh interpreter, as it reports it itself."""
    timer = f"import time; t = time.perf_counter()\n{code}\nprint(time.perf_counter() - t)"
    result = subprocess.run(
        [sys.executable, "-c", timer], capture_output=True, text=True, cwd=ROOT, env=environment
    )
    if result.returncode != 0:
        raise RuntimeError(f"a cold run failed:\n{result.stderr[-3000:]}")
    return float(result.stdout.strip().splitlines()[-1])


def cold_ratio(
    code: str, baseline: str, environment: dict[str, str], baseline_environment: dict[str, str] | None = None
) -> float:
    """Median of `code` over median of `baseline`, each in fresh interpreters, run in turns so that
    a busy moment of the machine weighs on both alike."""
    measured: list[float] = []
    base: list[float] = []
    for _ in range(COLD_RUNS):
        base.append(process_seconds(baseline, baseline_environment or environment))
        measured.append(process_seconds(code, environment))
    return statistics.median(measured) / statistics.median(base)


def without_byte_code(environment: dict[str, str], cache: Path, code: Sequence[str]) -> dict[str, str]:
    """Processes that read byte code of the standard library only, as Lambda's runtime has it, and
    compile every package and module of ours they import, as from a layer shipped without byte
    code; they write none. `cache` gets the standard library's byte code of what `code` imports."""
    writing = with_byte_code(environment, cache)
    for each in code:
        process_seconds(each, writing)
    standard_library = Path(sysconfig.get_paths()["stdlib"]).resolve()
    for compiled in list(cache.rglob("*.pyc")):
        source = Path("/") / compiled.relative_to(cache)
        if standard_library not in source.parents:
            compiled.unlink()
    return {**environment, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": str(cache)}


def with_byte_code(environment: dict[str, str], cache: Path) -> dict[str, str]:
    """Processes that read (and, the first time, write) byte code under `cache`."""
    compiled = {**environment, "PYTHONPYCACHEPREFIX": str(cache)}
    compiled.pop("PYTHONDONTWRITEBYTECODE", None)
    return compiled


def load_handler_code(name: str) -> str:
    path = ROOT / "functions" / name / "handler.py"
    return (
        "import importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('handler_{name}', {str(path)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        # Registered as the import system would: pydantic resolves the handler's models through it.
        f"import sys; sys.modules['handler_{name}'] = module\n"
        "spec.loader.exec_module(module)\n"
    )


class RequestCounter:
    """Counts the DynamoDB API calls a client makes, by operation."""

    def __init__(self, client: Any) -> None:
        self.calls: list[str] = []
        client.meta.events.register("before-call.dynamodb.*", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.calls.append(model.name)

    def reset(self) -> None:
        self.calls.clear()


WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}


def main() -> None:
    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    from licensing.devserver.server import local_environment

    # What the handlers see locally (the table's and the other resources' names), without metrics.
    environment = {
        **os.environ,
        **local_environment(f"http://{host}:{port}", "http://127.0.0.1:8000"),
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "SIGNING_KEY": secrets.token_hex(32),
        "TOKEN_KEY": secrets.token_hex(32),
        "POWERTOOLS_LOG_LEVEL": "ERROR",
    }
    environment.pop("POWERTOOLS_METRICS_NAMESPACE", None)
    os.environ.update(environment)
    try:
        results = measure(boto3.session.Session(), environment)
    finally:
        server.stop()
    print(f"{'figure':32} {'value':>10}")
    merge_results(results)  # the other legs' figures stay: this leg can run alone


def measure(session: Any, environment: dict[str, str]) -> dict[str, float]:
    from datetime import UTC, datetime

    from licensing import catalogue
    from licensing.adapters.dynamo import DynamoStore
    from licensing.devserver.functions import invoker
    from licensing.devserver.resources import LOCAL, provision
    from licensing.models import Account, Product
    from licensing.services.issuing import issue_licenses
    from licensing.services.validation import activate, validate

    provision(session, LOCAL)
    dynamodb = session.client("dynamodb")
    counter = RequestCounter(dynamodb)
    store = DynamoStore(LOCAL.table, dynamodb)
    product = Product(slug="crm-exporter", name="CRM Exporter")
    store.put_product(product)
    account = Account(id="acc_bench", name="Bench Corp")
    store.create_account(account)
    (license,) = issue_licenses(store, None, product=product, account=account, actor="bench")
    today = datetime.now(UTC).date()
    results: dict[str, float] = {}

    counter.reset()
    validate(store, key=license.key, product="crm-exporter", site="shop.example.com", today=today)
    results["validate_reads"] = len(counter.calls)
    counter.reset()
    activate(store, key=license.key, site="shop.example.com", product=None, today=today)
    results["activate_writes"] = sum(1 for call in counter.calls if call in WRITES)

    invoke = invoker(catalogue.FUNCTIONS, ROOT)
    event = api_event("/v1/licenses/validate", {"key": license.key, "product": "crm-exporter", "nonce": "n"})
    invoke("license_api", event)  # warm up: the first call builds the clients and loads the key
    key = {"pk": {"S": f"LICENSE#{license.id}"}, "sk": {"S": "LICENSE"}}
    # The baseline is the very request the handler makes, on the handler's own client.
    from licensing import wiring

    handler_client = wiring.store().dynamodb
    results["validate_warm_ratio"] = median_ratio(
        lambda: invoke("license_api", event),
        lambda: handler_client.get_item(TableName=LOCAL.table, Key=key, ConsistentRead=True),
        WARM_RUNS,
    )

    # Usage tracking: the first validation of the day writes the site's usage, the other nine none.
    usage_counter = RequestCounter(handler_client)
    seen = {"key": license.key, "site": "shop.example.com", "version": "1.2.0", "host_version": "8.4.1"}
    for _ in range(10):
        invoke("license_api", api_event("/v1/licenses/validate", seen))
    results["validate_usage_writes_per_day"] = sum(1 for call in usage_counter.calls if call in WRITES)

    bare_cold = (
        "import boto3\n"
        f"boto3.client('dynamodb').get_item(TableName={LOCAL.table!r}, Key={key!r}, ConsistentRead=True)"
    )
    handler_cold = (
        load_handler_code("license_api")
        # Lambda's runtime passes its own context, loaded before the handler: not the dev server's.
        + "class Context:\n"
        + "    function_name, memory_limit_in_mb, aws_request_id = 'license_api', 1024, 'cold'\n"
        + "    invoked_function_arn = 'arn:aws:lambda:eu-west-1:123456789012:function:license_api'\n"
        + "    def get_remaining_time_in_millis(self): return 10_000\n"
        + f"answer = module.lambda_handler({event!r}, Context())\n"
        # A cold run that failed would measure an error page, not a validation.
        + "import json\n"
        + "assert answer['statusCode'] == 200 and json.loads(answer['body'])['valid'] is True, answer"
    )
    results["expiry_reads_per_due"] = expiry_reads_per_due(store, counter, product, account, today)

    handlers = {
        function.name: load_handler_code(function.name)
        for function in catalogue.FUNCTIONS
        if not function.code  # shares another function's handler, measured under that name
    }
    with tempfile.TemporaryDirectory() as standard, tempfile.TemporaryDirectory() as every:
        cold = without_byte_code(environment, Path(standard), [bare_cold, handler_cold, *handlers.values()])
        compiled = with_byte_code(environment, Path(every))
        results |= cold_figures(cold, compiled, bare_cold, handler_cold, handlers)

    return {name: round(value, 3) for name, value in results.items()}


def cold_figures(
    cold: dict[str, str],
    compiled: dict[str, str],
    bare_cold: str,
    handler_cold: str,
    handlers: dict[str, str],
) -> dict[str, float]:
    """The fresh-process figures: `cold` without byte code but the standard library's, `compiled`
    with byte code of everything (for `byte_code_import_ratio`)."""
    figures = {"validate_cold_ratio": cold_ratio(handler_cold, bare_cold, cold)}
    for name, code in handlers.items():
        figures[f"cold_ratio_{name}"] = cold_ratio(code, "import boto3", cold)
    license_api = handlers["license_api"]
    process_seconds(license_api, compiled)  # compiles it once, as make build does
    figures["byte_code_import_ratio"] = cold_ratio(license_api, license_api, compiled, cold)
    return figures


READS = {"GetItem", "Query", "BatchGetItem", "Scan"}
LICENSES = 200
DUE = 20


def expiry_reads_per_due(
    store: Any, counter: RequestCounter, product: Any, account: Any, today: Any
) -> float:
    """Reads of one lifecycle run over LICENSES licenses, DUE of them due today, per due license."""
    from datetime import timedelta

    from licensing.services.expiry import run_expiry
    from licensing.services.issuing import issue_licenses

    for n in range(LICENSES):
        # The due ones end in 7 days (a reminder) or lapse today; the rest end later, spread out.
        ends = today + timedelta(days=7) if n < DUE else today + timedelta(days=60 + n % 300)
        issue_licenses(
            store, None, product=product, account=account, actor="bench", starts_on=today, ends_on=ends
        )

    class Discard:
        def publish(self, events: list[Any]) -> None:
            return None

    counter.reset()
    report = run_expiry(store, Discard(), today=today)
    reads = sum(1 for call in counter.calls if call in READS)
    if report.reminders != DUE:
        raise SystemExit(f"the benchmark's job found {report.reminders} due licenses, not {DUE}")
    return reads / DUE


def api_event(path: str, body: dict[str, Any]) -> dict[str, Any]:
    """A POST as API Gateway's HTTP API delivers it (payload format 2.0), as the dev server builds it."""
    from licensing.devserver.gateway import json_request_event

    return json_request_event(
        path,
        body,
        route_key="ANY /v1/{proxy+}",
        path_parameters={"proxy": path.removeprefix("/v1/")},
        request_id="bench",
        host="bench.local",
    )


if __name__ == "__main__":
    main()
