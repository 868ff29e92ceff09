"""`/v1/health` answers 200 only once the local system is ready: a script that waits for health and
then buys the demo product never meets a missing table or product."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import requests

from licensing.devserver.checkout import checkout_completed_event, signed_body
from licensing.devserver.server import DEFAULT_WEBHOOK_SECRET
from tests.e2e.conftest import mails_to, start_local_system


def test_a_purchase_right_after_health_answers_succeeds(tmp_path: Path) -> None:
    process, system = start_local_system(tmp_path / "dev.log")
    url = system.url
    statuses: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and 200 not in statuses:
            try:
                statuses.append(requests.get(f"{url}/v1/health", timeout=2).status_code)
            except requests.ConnectionError:
                time.sleep(0.02)
        # Before it is ready, health says so (503) rather than "ok".
        assert statuses and statuses[-1] == 200 and set(statuses) <= {200, 503}, statuses

        event = checkout_completed_event(email="early@shop.test", product="crm-exporter")
        body, header = signed_body(event, DEFAULT_WEBHOOK_SECRET)
        answer = requests.post(
            f"{url}/webhooks/stripe",
            data=body,
            headers={"Stripe-Signature": header, "Content-Type": "application/json"},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        (mail,) = mails_to(system, "early@shop.test")
        assert "CRM Exporter" in mail["subject"]
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)
