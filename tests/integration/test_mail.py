"""Emails: jinja2 templates rendered to both parts, sent as Raw MIME through the emulator's SES."""

from __future__ import annotations

from typing import Any

import pytest

from licensing import wiring
from licensing.adapters.ses import SesMailer
from licensing.devserver.mailbox import Mailbox
from licensing.mail import render
from licensing.settings import get_settings
from tests.sesv2_endpoint import sesv2_endpoint

CONTEXT = {
    "vendor_name": "DevCRM Extensions",
    "product_name": "CRM Exporter",
    "contact_name": "Bea <Buyer>",
    "licenses": [
        {
            "name": "CRM Exporter — Acme Corp",
            "display_key": "ABCDE-FGHJK-MNPQR-STVWX-YZ01C",
            "type": "commercial",
            "starts_on": "2026-11-28",
            "ends_on": "2027-11-28",
            "max_sites": 3,
        }
    ],
    "signin_url": "http://127.0.0.1:8000/portal/auth?token=abc",
    "signin_days": 7,
    "downloads_url": "http://127.0.0.1:8000/portal/products/crm-exporter",
}


def test_a_rendered_message_has_both_parts_and_escapes_html() -> None:
    message = render(get_settings().templates_dir, "license_issued", ["bea@acme.test"], CONTEXT)
    assert message.subject == "Your CRM Exporter license"
    assert "ABCDE-FGHJK-MNPQR-STVWX-YZ01C" in message.text and "ABCDE-FGHJK-MNPQR-STVWX-YZ01C" in message.html
    assert "Bea <Buyer>" in message.text
    assert "Bea &lt;Buyer&gt;" in message.html and "<Buyer>" not in message.html
    assert 'href="http://127.0.0.1:8000/portal/auth?token=abc"' in message.html


def test_ses_sends_raw_mime_with_text_and_html(aws: dict[str, Any]) -> None:
    message = render(get_settings().templates_dir, "license_issued", ["bea@acme.test"], CONTEXT)
    message_id = SesMailer("DevCRM Extensions <licenses@vendor.example>").send(message)
    assert message_id
    (sent,) = Mailbox().messages()
    assert sent["to"] == ["bea@acme.test"]
    assert sent["subject"] == "Your CRM Exporter license"
    assert "ABCDE-FGHJK-MNPQR-STVWX-YZ01C" in sent["text"]
    assert "<table" in sent["html"]
    assert sent["headers"]["From"] == "DevCRM Extensions <licenses@vendor.example>"
    assert sent["headers"]["Message-ID"].endswith("@vendor.example>")


def test_the_dev_mailbox_lists_messages_in_the_contracts_shape_newest_last(aws: dict[str, Any]) -> None:
    import json
    import re

    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    mailer = SesMailer("DevCRM Extensions <licenses@vendor.example>")
    for recipient in ("first@acme.test", "second@acme.test"):
        mailer.send(render(get_settings().templates_dir, "license_issued", [recipient], CONTEXT))
    answer = Mailbox().json_view(Request(EnvironBuilder(path="/_dev/mail.json").get_environ()))
    listed = json.loads(answer.get_data())
    assert [message["to"] for message in listed] == [["first@acme.test"], ["second@acme.test"]]
    assert set(listed[0]) == {"to", "subject", "text", "html", "sent_at"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", listed[0]["sent_at"])


def _reminder(name: str, key: str, ends_on: str, days_left: int, on_expiry: str = "keep_working") -> Any:
    from types import SimpleNamespace

    license = SimpleNamespace(
        name=name,
        display_key=key,
        type="commercial",
        starts_on="2026-03-17",
        ends_on=ends_on,
        max_sites=3,
        on_expiry=on_expiry,
        grace_days=7,
    )
    return SimpleNamespace(
        license=license,
        product_name=name.split(" — ")[0],
        days_left=days_left,
        renew_url=f"http://127.0.0.1:8000/portal/licenses/{key}/renew",
    )


def test_the_reminder_reads_well_for_one_license_and_for_several() -> None:
    one = _reminder("CRM Exporter — <Acme>", "KEY-ONE", "2027-03-17", 7)
    several = [one, _reminder("Cloud Sync — <Acme>", "KEY-TWO", "2027-04-09", 30, on_expiry="stop")]
    templates = get_settings().templates_dir
    context: dict[str, Any] = {"vendor_name": "DevCRM Extensions", "contact_name": "Bea"}
    single = render(templates, "license_expiring", ["bea@acme.test"], context | {"reminders": [one]})
    assert single.subject == "Your CRM Exporter license ends in 7 days"
    assert "Your license for CRM Exporter ends on 2027-03-17, in 7 days." in single.text
    assert single.html.count('href="http://127.0.0.1:8000/portal/licenses/KEY-ONE/renew"') == 1
    tomorrow = render(
        templates,
        "license_expiring",
        ["bea@acme.test"],
        context | {"reminders": [_reminder("X — Y", "K", "d", 1)]},
    )
    assert tomorrow.subject == "Your X license ends tomorrow"

    digest = render(templates, "license_expiring", ["bea@acme.test"], context | {"reminders": several})
    assert digest.subject == "2 of your licenses end soon, the first in 7 days"
    for key in ("KEY-ONE", "KEY-TWO"):
        link = f"http://127.0.0.1:8000/portal/licenses/{key}/renew"
        assert f"Renew:        {link}" in digest.text and f'href="{link}"' in digest.html
    assert "Ends on:      2027-04-09, in 30 days" in digest.text
    assert (
        "Cloud Sync stops working (after a grace period of 7 days) until the license is renewed"
        in digest.text
    )
    assert "CRM Exporter keeps working; updates and support stop" in digest.html
    # Names are the customer's words: escaped in the html part, as they are in the text part.
    assert "CRM Exporter — &lt;Acme&gt;" in digest.html and "<Acme>" not in digest.html
    assert "1. CRM Exporter — <Acme>" in digest.text


def test_a_send_names_the_stages_configuration_set_and_none_locally(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # What SES receives, as the functions' mailer (wiring, from the environment) sends it.
    message = render(get_settings().templates_dir, "license_issued", ["bea@acme.test"], CONTEXT)
    with sesv2_endpoint() as endpoint:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SESV2", endpoint.url)
        try:
            wiring.reset()
            wiring.mailer().send(message)  # locally: no configuration set
            monkeypatch.setenv("SES_CONFIGURATION_SET", "prod-licensing")
            wiring.reset()
            wiring.mailer().send(message)  # a stage: its set, whose events report bounces
        finally:
            monkeypatch.delenv("SES_CONFIGURATION_SET", raising=False)
            wiring.reset()
    assert [sent.get("ConfigurationSetName") for sent in endpoint.sent] == [None, "prod-licensing"]
    assert {sent["FromEmailAddress"] for sent in endpoint.sent} == {get_settings().require("mail_from")}
