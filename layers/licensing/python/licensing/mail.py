"""Email: jinja2 templates (`templates/email/<name>.subject.txt`, `.txt`, `.html`) rendered to a
message, and the message as MIME with both parts."""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from functools import lru_cache
from typing import Any, Protocol

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape


@dataclass(frozen=True)
class Message:
    to: tuple[str, ...]
    subject: str
    text: str
    html: str
    headers: dict[str, str] = field(default_factory=dict)


class Mailer(Protocol):
    def send(self, message: Message) -> str: ...


@lru_cache(maxsize=4)
def environment(templates_dir: str) -> Environment:
    return Environment(
        loader=FileSystemLoader(templates_dir),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(templates_dir: str, name: str, to: list[str], context: dict[str, Any]) -> Message:
    """Render the email template `name` for the recipients."""
    env = environment(templates_dir)
    subject = env.get_template(f"email/{name}.subject.txt").render(context).strip()
    text = env.get_template(f"email/{name}.txt").render(context)
    html = env.get_template(f"email/{name}.html").render(context)
    return Message(to=tuple(to), subject=" ".join(subject.split()), text=text, html=html)


def to_mime(message: Message, *, sender: str) -> bytes:
    """The message as multipart/alternative MIME bytes, text first, as mail clients expect."""
    mime = EmailMessage()
    mime["From"] = sender
    mime["To"] = ", ".join(message.to)
    mime["Subject"] = message.subject
    mime["Date"] = formatdate(usegmt=True)
    domain = sender.rsplit("@", 1)[-1].strip("> ") or "localhost"
    mime["Message-ID"] = make_msgid(domain=domain)
    for name, value in message.headers.items():
        mime[name] = value
    mime.set_content(message.text)
    mime.add_alternative(message.html, subtype="html")
    return mime.as_bytes()
