"""Emails: jinja2 templates rendered to both parts, sent as Raw MIME through the emulator's SES."""

from __future__ import annotations

from typing import Any

from licensing.adapters.ses import SesMailer
from licensing.devserver.mailbox import Mailbox
from licensing.mail import render
from licensing.settings import get_settings

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
