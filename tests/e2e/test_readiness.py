"""`/v1/health` answers 200 only once the local system is ready: a script that waits for health and
then buys the demo product never meets a missing table or product."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from licensing.devserver.checkout import checkout_completed_event, signed_body
from licensing.devserver.server import DEFAULT_WEBHOOK_SECRET
from tests.conftest import ROOT, _free_port
from tests.e2e.conftest import LocalSystem, mails_to


def test_a_purchase_right_after_health_answers_succeeds(tmp_path: Path) -> None:
    port, aws_port = _free_port(), _free_port()
    environment = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    licensing = Path(sys.executable).with_name("licensing")
    with (tmp_path / "dev.log").open("w") as output:
        process = subprocess.Popen(
            [str(licensing), "dev", "--port", str(port), "--aws-port", str(aws_port)],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
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
        system = LocalSystem(url=url, aws_port=aws_port, log=tmp_path / "dev.log")
        (mail,) = mails_to(system, "early@shop.test")
        assert "CRM Exporter" in mail["subject"]
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)
