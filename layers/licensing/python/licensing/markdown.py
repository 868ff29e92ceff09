"""Release notes: Markdown to safe HTML (rendered, then sanitised: notes are staff input, but a
customer's browser and mail client deserve defence in depth)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _parser() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def notes_html(markdown: str) -> str:
    import nh3

    return str(nh3.clean(_parser().render(markdown or ""), link_rel="noopener noreferrer"))


def notes_text(markdown: str) -> str:
    """Release notes as plain text (for clients that show no HTML): list items keep a dash."""
    import html
    import re

    import nh3

    rendered = _parser().render(markdown or "").replace("<li>", "<li>- ")
    text = html.unescape(nh3.clean(rendered, tags=set()))
    return re.sub(r"\n{3,}", "\n\n", text).strip()
