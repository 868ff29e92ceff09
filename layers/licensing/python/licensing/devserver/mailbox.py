"""The dev mailbox: every message sent through the emulator's SES, at /_dev/mail(.json)."""

from __future__ import annotations

import json
import threading
from email import policy
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from jinja2 import Environment, select_autoescape
from werkzeug import Request, Response

from ..dates import iso_timestamp, utc_now

_PAGE = Environment(autoescape=select_autoescape(default_for_string=True)).from_string(
    """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Dev mailbox</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}
article{border:1px solid #ccd;border-radius:8px;margin:1rem 0;padding:1rem}
h2{font-size:1.1rem;margin:0 0 .3rem}.meta{color:#556;font-size:.9rem}
iframe{width:100%;height:28rem;border:1px solid #eee;margin-top:.5rem}</style></head><body>
<h1>Dev mailbox</h1><p>{{ messages|length }} message(s) sent through the local SES, newest first.
Also as <a href="/_dev/mail.json">JSON</a>.</p>
{% for m in messages|reverse %}<article><h2>{{ m.subject }}</h2>
<div class="meta">To {{ m.to|join(", ") }} · {{ m.sent_at }}</div>
<iframe sandbox srcdoc="{{ m.html }}" title="{{ m.subject }}"></iframe>
<details><summary>Plain text</summary><pre>{{ m.text }}</pre></details></article>
{% else %}<p>No mail yet.</p>{% endfor %}</body></html>"""
)


class Mailbox:
    """Reads moto's SES backend in this process; remembers when each message was first seen."""

    def __init__(self, account_id: str = "123456789012", region: str = "us-east-1") -> None:
        self.account_id = account_id
        self.region = region
        self._seen: dict[str, str] = {}
        self._lock = threading.Lock()

    def messages(self) -> list[dict[str, Any]]:
        from moto.ses.models import ses_backends

        backend = ses_backends[self.account_id][self.region]
        result = []
        with self._lock:
            for sent in list(backend.sent_messages):
                raw = getattr(sent, "raw_data", None)
                if raw is None:
                    continue
                result.append(self._parse(sent.id, raw))
        return result

    def _parse(self, message_id: str, raw: str | bytes) -> dict[str, Any]:
        data = raw.encode() if isinstance(raw, str) else raw
        parsed = BytesParser(policy=policy.default).parsebytes(data)
        text_part = parsed.get_body(preferencelist=("plain",))
        html_part = parsed.get_body(preferencelist=("html",))
        if message_id not in self._seen:
            date_header = parsed.get("Date")
            moment = parsedate_to_datetime(date_header) if date_header else utc_now()
            self._seen[message_id] = iso_timestamp(moment)
        return {
            "to": [address for _, address in getaddresses([str(parsed.get("To", ""))])],
            "subject": str(parsed.get("Subject", "")),
            "text": text_part.get_content() if text_part is not None else "",
            "html": html_part.get_content() if html_part is not None else "",
            "headers": {name: str(value) for name, value in parsed.items()},
            "sent_at": self._seen[message_id],
        }

    def json_view(self, _: Request) -> Response:
        """API.md's shape: `[{"to", "subject", "text", "html", "sent_at"}]`, newest last."""
        fields = ("to", "subject", "text", "html", "sent_at")
        listed = [{name: message[name] for name in fields} for message in self.messages()]
        return Response(json.dumps(listed), content_type="application/json")

    def html_view(self, _: Request) -> Response:
        return Response(_PAGE.render(messages=self.messages()), content_type="text/html; charset=utf-8")
