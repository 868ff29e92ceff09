"""`licensing dev`: the local dev server, and a purchase sent to it as Stripe would."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from .context import CliContext, StaffGroup, pass_obj


@click.group(cls=StaffGroup, invoke_without_command=True)
@click.option("--port", default=8000, show_default=True, help="The HTTP gateway's port.")
@click.option("--aws-port", default=8001, show_default=True, help="The embedded AWS endpoint's port.")
@click.option("--no-demo", is_flag=True, help="Start without the demo catalogue.")
@click.option(
    "--mail-rate",
    type=click.FloatRange(min=0, min_open=True),
    envvar="MAIL_RATE_PER_SECOND",
    default=14,
    show_default=True,
    help="Mails per second, as SES paces them in AWS (also MAIL_RATE_PER_SECOND).",
)
@click.pass_context
def dev(ctx: click.Context, port: int, aws_port: int, no_demo: bool, mail_rate: float) -> None:
    """The local dev server: the whole system on loopback, with demo data."""
    if ctx.invoked_subcommand is not None:
        return
    import os

    # The notifiers read it as the deployed ones do: the same shared schedule, at this rate.
    os.environ["MAIL_RATE_PER_SECOND"] = str(mail_rate)
    from ..devserver.gateway import PortInUseError
    from ..devserver.server import DevServer

    try:
        server = DevServer(port=port, aws_port=aws_port, demo=not no_demo).start()
    except PortInUseError as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"License manager running locally\n"
        f"  HTTP API and portal  {server.url}  (try {server.url}/v1/health)\n"
        f"  dev mailbox          {server.url}/_dev/mail  (paced to {mail_rate:g} mails/s)\n"
        f"  embedded AWS         {server.aws_endpoint}  (licensing --local ...)\n"
        f"Press Ctrl-C to stop."
    )
    sys.stdout.flush()
    server.wait()
    click.echo("Stopped.")


@dev.command("purchase")
@click.option("--email", required=True, help="The buyer's email.")
@click.option("--product", required=True, help="The product slug, e.g. crm-exporter.")
@click.option("--quantity", default=1, show_default=True, type=click.IntRange(1, 25))
@click.option("--unpaid", is_flag=True, help="A delayed payment (SEPA): the license stays PENDING.")
@click.option("--company", default=None, help="The buyer's company name.")
@click.option("--url", default="http://127.0.0.1:8000", show_default=True, help="The local gateway.")
@pass_obj
def dev_purchase(
    obj: CliContext, email: str, product: str, quantity: int, unpaid: bool, company: str | None, url: str
) -> None:
    """Send a signed checkout.session.completed to the local webhook, as Stripe would."""
    import urllib.error
    import urllib.request

    from ..devserver.checkout import checkout_completed_event, signed_body
    from ..devserver.server import DEFAULT_WEBHOOK_SECRET

    secret = (os.environ.get("STRIPE_WEBHOOK_SECRET") or DEFAULT_WEBHOOK_SECRET).split(",")[0]
    event = checkout_completed_event(
        email=email, product=product, quantity=quantity, unpaid=unpaid, company=company
    )
    body, header = signed_body(event, secret)
    request = urllib.request.Request(  # noqa: S310 (a URL the user names, http on loopback by default)
        f"{url.rstrip('/')}/webhooks/stripe",
        data=body,
        headers={"Content-Type": "application/json", "Stripe-Signature": header},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            status, text = answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    except urllib.error.URLError as error:
        raise click.ClickException(f"cannot reach {url}: is `make run` running? ({error.reason})") from None
    session_id = event["data"]["object"]["id"]
    if obj.as_json:
        click.echo(json.dumps({"status": status, "session": session_id, "answer": json.loads(text or "{}")}))
    else:
        click.echo(f"{event['type']} for {product} x{quantity} ({session_id}): HTTP {status} {text}")
    if status >= 400:
        sys.exit(1)


@dev.command("clock")
@click.argument("day", required=False, type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--real", is_flag=True, help="Return to the real day.")
@click.option("--url", default="http://127.0.0.1:8000", show_default=True, help="The local gateway.")
@pass_obj
def dev_clock(obj: CliContext, day: Any, real: bool, url: str) -> None:
    """Move the local system's calendar to DAY (YYYY-MM-DD), or back with --real; without either,
    show which day it is. Moving runs the daily job for the new day."""
    import urllib.error
    import urllib.request

    if day is not None and real:
        raise click.UsageError("give a DAY or --real, not both")
    method, data = ("GET", None)
    if day is not None:
        method, data = "POST", json.dumps({"today": day.date().isoformat()}).encode()
    elif real:
        method = "DELETE"
    request = urllib.request.Request(  # noqa: S310 (a URL the user names, http on loopback by default)
        f"{url.rstrip('/')}/_dev/clock",
        data=data,
        headers={"Content-Type": "application/json"},
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:  # noqa: S310
            body = json.loads(answer.read().decode())
    except urllib.error.HTTPError as error:
        raise click.ClickException(json.loads(error.read().decode())["error"]["message"]) from None
    except urllib.error.URLError as error:
        raise click.ClickException(f"cannot reach {url}: is `make run` running? ({error.reason})") from None
    if obj.as_json:
        click.echo(json.dumps(body))
        return
    state = "moved" if body["moved"] else "the real day"
    click.echo(f"The local system's day is {body['today']} ({state}).")
    job = body.get("job")
    if job:
        click.echo(
            f"Daily job ran for {', '.join(job.get('days', [])) or body['today']}: "
            f"{job.get('reminders', 0)} license(s) due a reminder "
            f"({job.get('reminder_accounts', 0)} account(s) mailed), "
            f"{job.get('expired_mails', 0)} expired mail(s), "
            f"{job.get('expired', 0)} license(s) marked expired."
        )
