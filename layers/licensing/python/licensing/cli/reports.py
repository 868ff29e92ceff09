"""`licensing reports`: what staff read to plan their week."""

from __future__ import annotations

import click

from .context import StaffGroup


@click.group(cls=StaffGroup)
def reports() -> None:
    """Reports."""
