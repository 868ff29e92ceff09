"""`licensing import FILE`: licenses from an earlier system's export (API.md section 4), planned
and reported row by row; see `services/importer.py` for the rules."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .context import CliContext, StaffCommand, emit, pass_obj

REPORT_COLUMNS = ["line", "outcome", "key", "account", "product", "reason"]


@click.command("import", cls=StaffCommand)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
@click.option(
    "--map",
    "mapping_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help='A JSON file renaming the export\'s columns: {"Their column": "field", ...}.',
)
@click.option(
    "--send-mails", is_flag=True, help="Mail the customers their imported licenses (default: no mail)."
)
@click.option(
    "--date-format",
    type=click.Choice(["YYYY-MM-DD", "DD.MM.YYYY", "MM/DD/YYYY"]),
    default="YYYY-MM-DD",
    show_default=True,
    help="The export's dates (YYYY-MM-DD is always accepted too).",
)
@pass_obj
def import_command(
    obj: CliContext, file: Path, dry_run: bool, mapping_file: Path | None, send_mails: bool, date_format: str
) -> None:
    """Import accounts, contacts, licenses (with their keys), sites, billing and history from a
    CSV or JSON export; a second run changes nothing. Exits 1 when a row was refused."""
    from ..services.importer import ImportReport, import_licenses, load_mapping, read_rows

    mapping = load_mapping(mapping_file.read_text(encoding="utf-8")) if mapping_file else None
    rows, ignored = read_rows(file.read_text(encoding="utf-8-sig"), mapping=mapping)
    store = obj.store()

    def confirm(plan: ImportReport) -> None:
        mails = " and mail their customers" if send_mails else " (no mail is sent)"
        obj.confirm(
            f"Import {plan.count('created')} new license(s) from {file.name}{mails}? "
            f"({plan.count('unchanged')} unchanged, {plan.count('refused')} refused)"
        )

    report = import_licenses(
        store,
        obj.events() if send_mails else None,
        rows,
        actor=obj.actor(),
        dry_run=dry_run,
        send_mails=send_mails,
        date_format=date_format,
        ignored_columns=ignored,
        confirm=confirm,
    )
    if obj.as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        verb = "would be created" if dry_run else "created"
        click.echo(
            f"{file.name}: {report.count('created')} {verb}, {report.count('unchanged')} unchanged, "
            f"{report.count('refused')} refused" + (" (dry run: nothing written)" if dry_run else "")
        )
        if report.ignored_columns:
            click.echo(f"ignored columns: {', '.join(report.ignored_columns)}")
        shown = [row for row in report.as_dict()["rows"] if row["outcome"] != "created" or len(rows) <= 50]
        if shown:
            emit(obj, shown, REPORT_COLUMNS)
    if report.count("refused"):
        raise SystemExit(1)
