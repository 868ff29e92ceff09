"""`licensing releases`: release files and notes, and their announcement."""

from __future__ import annotations

from typing import Any

import click

from ..services.lookup import find_product
from .context import CliContext, StaffGroup, emit, pass_obj


@click.group(cls=StaffGroup)
def releases() -> None:
    """Release files and notes: what customers download and hear about."""


@releases.command("publish")
@click.argument("product")
@click.argument("version")
@click.option(
    "--file",
    "file_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="The release file (e.g. the extension's zip).",
)
@click.option(
    "--notes", "notes_path", type=click.Path(exists=True, dir_okay=False), help="Release notes, Markdown."
)
@click.option("--requires-host", default=None, help="Host versions it supports, e.g. '>=8.0,<10'.")
@click.option("--no-notify", is_flag=True, help="Publish without release emails.")
@pass_obj
def releases_publish(
    obj: CliContext,
    product: str,
    version: str,
    file_path: str,
    notes_path: str | None,
    requires_host: str | None,
    no_notify: bool,
) -> None:
    """Upload a release, record it, and email the product's license holders."""
    from pathlib import Path

    from ..services.releases import publish_release, release_published_event

    data = Path(file_path).read_bytes()
    notes = Path(notes_path).read_text(encoding="utf-8") if notes_path else ""
    store = obj.store()
    mails = "without emails" if no_notify else "and email its license holders"
    obj.confirm(f"Publish {product} {version} ({len(data)} bytes) {mails}?")
    release = publish_release(
        store,
        obj.files(),
        product=product,
        version=version,
        filename=Path(file_path).name,
        data=data,
        notes_markdown=notes,
        requires_host=requires_host,
    )
    if not no_notify:
        obj.events().publish([release_published_event(release)])
    emit(
        obj,
        [_release_row(release)],
        ["product", "version", "published_at", "size", "sha256", "requires_host"],
        single=True,
    )


@releases.command("notify")
@click.argument("product")
@click.argument("version")
@pass_obj
def releases_notify(obj: CliContext, product: str, version: str) -> None:
    """Announce a published release again (after a failure, or one published with --no-notify):
    whoever was mailed already is not mailed twice."""
    from ..services.releases import release_published_event

    release = obj.store().get_release(product, version)
    if release is None:
        raise click.ClickException(f"no release {product} {version}")
    obj.confirm(f"Email the license holders of {product} about {version}?")
    obj.events().publish([release_published_event(release)])
    emit(obj, [_release_row(release)], ["product", "version", "published_at"], single=True)


@releases.command("list")
@click.argument("product")
@pass_obj
def releases_list(obj: CliContext, product: str) -> None:
    """A product's releases, newest first."""
    store = obj.store()
    find_product(store, product)
    rows = [_release_row(release) for release in store.list_releases(product)]
    emit(obj, rows, ["version", "published_at", "size", "requires_host", "filename"])


def _release_row(release: Any) -> dict[str, Any]:
    return release.model_dump(mode="json")


@releases.command("status")
@click.argument("product")
@click.argument("version")
@pass_obj
def releases_status(obj: CliContext, product: str, version: str) -> None:
    """How a release's announcement is going: accounts queued and skipped (their sites run the
    version already), emails sent, contacts suppressed (opted out), announcements failed."""
    store = obj.store()
    if store.get_release(product, version) is None:
        raise click.ClickException(f"no release {product} {version}")
    tally = store.release_tally(product, version)
    emit(
        obj,
        [{"product": product, "version": version, **tally}],
        ["product", "version", "queued", "sent", "skipped", "suppressed", "failed", "pages", "fanned_out"],
        single=True,
    )
