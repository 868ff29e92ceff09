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
