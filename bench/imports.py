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

import time
from typing import Any

from bench import merge_results
from bench.__main__ import WRITES, RequestCounter
from bench.dynamodb_local import dynamodb_local

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


def main() -> None:
    from licensing.adapters.dynamo import DynamoStore

    with dynamodb_local("licensing-bench") as dynamodb:
        figures = import_figures(DynamoStore("licensing-bench", dynamodb), RequestCounter(dynamodb))
    merge_results(figures)


if __name__ == "__main__":
    main()
