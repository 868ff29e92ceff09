"""The console's import screen: the uploaded export and mapping go to `services/importer.py`
exactly as `licensing import` passes them (cli/imports.py), first as a dry run, then, once
confirmed, for real. The rules (what is refused and why) live in the importer only."""

from __future__ import annotations

import secrets
from typing import Any

from ..errors import InvalidInput
from ..services.importer import DATE_FORMATS, ImportReport, import_licenses, load_mapping, read_rows

__all__ = ["DATE_FORMATS", "run_import", "start_import"]


def _text(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8-sig")  # as the CLI reads it (a spreadsheet's BOM dropped)
    except UnicodeDecodeError:
        raise InvalidInput(f"the {what} is not UTF-8 text: save it as UTF-8 and upload it again") from None


def start_import(staff: Any, request: Any, *, actor: str) -> tuple[str, dict[str, Any], ImportReport]:
    """Check the upload and dry-run it (writing nothing): a ticket for the held upload, the upload
    and the report."""
    upload = request.files.get("file")
    data = upload.read() if upload is not None else b""
    if upload is None or not upload.filename or not data.strip():
        raise InvalidInput("choose the export file (CSV or JSON; it must not be empty)")
    text = _text(data, "file")
    mapping_upload = request.files.get("mapping")
    mapping_data = mapping_upload.read() if mapping_upload is not None else b""
    mapping_text = _text(mapping_data, "mapping") if mapping_data.strip() else None
    date_format = request.form.get("date_format") or "YYYY-MM-DD"
    if date_format not in DATE_FORMATS:
        raise InvalidInput(f"the date format is one of {', '.join(DATE_FORMATS)}")
    held = {
        "filename": upload.filename,
        "text": text,
        "mapping": mapping_text,
        "mapping_filename": mapping_upload.filename if mapping_text and mapping_upload else None,
        "date_format": date_format,
        "send_mails": request.form.get("send_mails") == "yes",
    }
    report = _import(staff, held, actor=actor, dry_run=True)
    return secrets.token_urlsafe(16), held, report


def run_import(staff: Any, held: dict[str, Any], *, actor: str) -> ImportReport:
    return _import(staff, held, actor=actor, dry_run=False)


def _import(staff: Any, held: dict[str, Any], *, actor: str, dry_run: bool) -> ImportReport:
    mapping = load_mapping(held["mapping"]) if held["mapping"] else None
    rows, ignored = read_rows(held["text"], mapping=mapping)
    if not rows:
        raise InvalidInput(f"{held['filename']} has a header but no rows to import")
    send_mails = held["send_mails"]
    return import_licenses(
        staff.store(),
        staff.events() if send_mails and not dry_run else None,
        rows,
        actor=actor,
        dry_run=dry_run,
        send_mails=send_mails,
        date_format=held["date_format"],
        ignored_columns=ignored,
    )
