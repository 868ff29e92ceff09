"""The staff console's security rules, in process (werkzeug's test client on the real app, the
emulator's store): loopback only, the one-time sign-in token, Host and Origin, CSRF, the
confirmation step, the staff member's name in the history, and the headers."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner
from werkzeug.test import Client, TestResponse

from licensing.adapters.dynamo import DynamoStore
from licensing.cli import main
from licensing.cli.context import CliContext
from licensing.console import Console, Guard, check_bind_host
from licensing.errors import InvalidInput
from licensing.services.issuing import issue_licenses
from licensing.settings import get_settings
from tests import factories

PORT = 8400
BASE = f"http://127.0.0.1:{PORT}"
ORIGIN = {"Origin": BASE}


class Browser(Client):
    """A client that talks to the console as its own page does: to 127.0.0.1 on its port."""

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        kwargs.setdefault("base_url", BASE)
        return super().open(*args, **kwargs)


@pytest.fixture
def console(aws: dict[str, Any]) -> tuple[Console, Any]:
    store = DynamoStore(aws["names"].table)
    product = factories.product()
    store.put_product(product)
    account = factories.account("Acme Corp")
    store.create_account(account)
    store.add_contact(account.id, "bea@acme.test", "Bea")
    (license,) = issue_licenses(store, None, product=product, account=account, actor="t")
    staff = CliContext(connected=True, by="Dana Support")
    return Console(staff, Guard(port=PORT), get_settings().templates_dir), license


def signed_in(app: Console) -> Client:
    client = Browser(app)
    answer = client.get(f"/login?token={app.guard.login_token}")
    assert answer.status_code == 303 and answer.headers["Location"] == "/"
    return client


def ends_on(license: Any) -> Any:
    return DynamoStore(get_settings().require("table_name")).require_license(license.id).ends_on


def extend(client: Client, license: Any, csrf: str | None, **extra: str) -> TestResponse:
    form = {"days": "30", **({"csrf": csrf} if csrf is not None else {}), **extra}
    return client.post(f"/licenses/{license.id}/extend", data=form, headers=ORIGIN)


def test_the_sign_in_token_is_exchanged_once_for_a_strict_http_only_cookie(
    console: tuple[Console, Any],
) -> None:
    app, license = console
    client = Browser(app)
    assert client.get(f"/licenses/{license.id}").status_code == 403  # no cookie yet
    forged = client.get("/login?token=not-the-token")
    assert forged.status_code == 403 and "Set-Cookie" not in forged.headers
    assert client.get("/login").status_code == 403

    answer = client.get(f"/login?token={app.guard.login_token}")
    assert answer.status_code == 303 and answer.headers["Location"] == "/"  # the token leaves the URL
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    page = client.get(f"/licenses/{license.id}")
    assert page.status_code == 200 and license.display_key in page.text

    again = Browser(app).get(f"/login?token={app.guard.login_token}")
    assert again.status_code == 403 and "works once" in again.text
    stranger = Browser(app)
    stranger.set_cookie("lm_console", "guessed", domain="127.0.0.1")
    assert stranger.get("/").status_code == 403


def test_a_foreign_host_is_refused_even_with_the_session(console: tuple[Console, Any]) -> None:
    app, license = console
    hijack = Browser(app).get(f"/login?token={app.guard.login_token}", base_url=f"http://evil.example:{PORT}")
    assert hijack.status_code == 403 and not app.guard.token_used  # refused before the token is looked at
    client = signed_in(app)
    # A DNS-rebinding page reaches 127.0.0.1 under its own name.
    rebound = client.get(f"/licenses/{license.id}", headers={"Host": f"evil.example:{PORT}"})
    assert rebound.status_code == 403
    assert client.get(f"/licenses/{license.id}", headers={"Host": "127.0.0.1:9999"}).status_code == 403
    assert client.get(f"/licenses/{license.id}").status_code == 200


def test_a_change_needs_the_csrf_token_the_console_origin_and_a_confirmation(
    console: tuple[Console, Any],
) -> None:
    app, license = console
    client = signed_in(app)
    before = ends_on(license)

    assert extend(client, license, None, confirmed="yes").status_code == 403
    assert extend(client, license, "forged", confirmed="yes").status_code == 403
    foreign = client.post(
        f"/licenses/{license.id}/extend",
        data={"days": "30", "csrf": app.guard.csrf, "confirmed": "yes"},
        headers={"Origin": "http://evil.example"},
    )
    assert foreign.status_code == 403
    no_origin = client.post(
        f"/licenses/{license.id}/extend", data={"days": "30", "csrf": app.guard.csrf, "confirmed": "yes"}
    )
    assert no_origin.status_code == 403
    assert ends_on(license) == before

    asked = extend(client, license, app.guard.csrf)
    assert asked.status_code == 200 and "Please confirm" in asked.text and "Dana Support" in asked.text
    assert ends_on(license) == before  # asking changes nothing

    done = extend(client, license, app.guard.csrf, confirmed="yes")
    assert done.status_code == 303 and done.headers["Location"] == f"/licenses/{license.id}"
    assert (ends_on(license) - before).days == 30
    history = DynamoStore(get_settings().require("table_name")).license_history(license.id)
    assert [entry.actor for entry in history if entry.action == "extended"] == ["staff:Dana Support"]
    assert "now ends on" in client.get(f"/licenses/{license.id}").text


def test_bad_input_is_a_clear_400_and_changes_nothing(console: tuple[Console, Any]) -> None:
    app, license = console
    client = signed_in(app)
    before = ends_on(license)
    answer = extend(client, license, app.guard.csrf, days="soon", confirmed="yes")
    assert answer.status_code == 400 and "not a number of days" in answer.text
    revoke = client.post(
        f"/licenses/{license.id}/revoke", data={"csrf": app.guard.csrf, "confirmed": "yes"}, headers=ORIGIN
    )
    assert revoke.status_code == 400 and "reason" in revoke.text
    assert client.get("/licenses/lic_nope").status_code == 404
    fresh = DynamoStore(get_settings().require("table_name")).require_license(license.id)
    assert fresh.ends_on == before and fresh.status.value == "ACTIVE"


def test_pages_that_show_keys_are_not_cached_framed_or_referred(console: tuple[Console, Any]) -> None:
    app, license = console
    page = signed_in(app).get(f"/licenses/{license.id}")
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    policy = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "<script>" not in page.text


def test_the_console_refuses_to_bind_anything_but_loopback() -> None:
    for address in ("0.0.0.0", "192.168.1.10", "::", "example.com"):  # noqa: S104 (refused)
        with pytest.raises(InvalidInput):
            check_bind_host(address)
    assert check_bind_host("127.0.0.1") == "127.0.0.1"
    result = CliRunner().invoke(main, ["console", "--host", "0.0.0.0", "--no-browser"])  # noqa: S104
    assert result.exit_code != 0 and "binds 127.0.0.1 only" in result.output


def test_erasure_needs_the_typed_account_name_and_a_confirmation(console: tuple[Console, Any]) -> None:
    app, license = console
    client = signed_in(app)
    store = DynamoStore(get_settings().require("table_name"))
    account_id = license.account_id
    form = {"csrf": app.guard.csrf, "typed": "acme", "confirmed": "yes"}
    wrong = client.post(f"/accounts/{account_id}/erase", data=form, headers=ORIGIN)
    assert wrong.status_code == 400 and "(Acme Corp) to erase its personal data" in wrong.text
    asked = client.post(
        f"/accounts/{account_id}/erase", data=form | {"typed": "Acme Corp", "confirmed": ""}, headers=ORIGIN
    )
    assert asked.status_code == 200 and "bea@acme.test" in asked.text and "cannot be undone" in asked.text
    assert store.contact_emails(account_id) == ["bea@acme.test"]

    exported = client.get(f"/accounts/{account_id}/export")
    assert exported.status_code == 200 and exported.headers["Cache-Control"] == "no-store"
    assert "bea@acme.test" in exported.text and "attachment" in exported.headers["Content-Disposition"]

    done = client.post(f"/accounts/{account_id}/erase", data=form | {"typed": "Acme Corp"}, headers=ORIGIN)
    assert done.status_code == 303
    assert store.contact_emails(account_id) == [] and store.get_license(license.id) is not None


def test_a_release_upload_with_bad_input_is_refused_and_publishes_nothing(
    console: tuple[Console, Any],
) -> None:
    import io

    app, license = console
    client = signed_in(app)
    base = {"csrf": app.guard.csrf, "version": "2.0.0"}
    cases = [
        ({**base, "version": "not a version", "file": (io.BytesIO(b"zip"), "a.zip")}, "version"),
        ({**base, "requires_host": ">>8", "file": (io.BytesIO(b"zip"), "a.zip")}, ""),
        ({**base, "file": (io.BytesIO(b""), "a.zip")}, "must not be empty"),
        ({**base, "confirmed": "yes", "upload": "forged"}, "upload the file again"),
    ]
    for data, said in cases:
        answer = client.post(f"/products/{license.product}/releases", data=data, headers=ORIGIN)
        assert answer.status_code == 400 and said in answer.text, answer.text
    assert DynamoStore(get_settings().require("table_name")).list_releases(license.product) == []


def test_suspend_reinstate_renew_and_revoke_each_confirmed_and_signed(console: tuple[Console, Any]) -> None:
    app, license = console
    client = signed_in(app)
    store = DynamoStore(get_settings().require("table_name"))

    def act(action: str, **form: str) -> Any:
        data = {"csrf": app.guard.csrf, **form}
        asked = client.post(f"/licenses/{license.id}/{action}", data=data, headers=ORIGIN)
        assert asked.status_code == 200 and "Please confirm" in asked.text, asked.text
        done = client.post(
            f"/licenses/{license.id}/{action}", data=data | {"confirmed": "yes"}, headers=ORIGIN
        )
        assert done.status_code == 303, done.text
        return store.require_license(license.id)

    assert act("suspend", reason="chargeback").status.value == "SUSPENDED"
    assert act("reinstate").status.value == "ACTIVE"
    renewed = act("renew", months="12", payment_method="bank_transfer", amount="49.00", currency="eur")
    assert renewed.ends_on > license.ends_on
    assert [(p.amount, p.currency, p.method, p.by) for p in renewed.payments][-1] == (
        4900,
        "eur",
        "bank_transfer",
        "staff:Dana Support",
    )
    revoked = act("revoke", reason="fraud")
    assert (revoked.status.value, revoked.status_reason) == ("REVOKED", "fraud")
    refused = client.post(
        f"/licenses/{license.id}/reinstate", data={"csrf": app.guard.csrf, "confirmed": "yes"}, headers=ORIGIN
    )
    assert refused.status_code == 409 and store.require_license(license.id).status.value == "REVOKED"
    actions = {entry.action: entry.actor for entry in store.license_history(license.id)}
    for action in ("suspended", "reinstated", "renewed", "revoked"):
        assert actions[action] == "staff:Dana Support"


def test_a_products_end_of_term_policy_is_edited_with_a_confirmation(console: tuple[Console, Any]) -> None:
    app, license = console
    client = signed_in(app)
    store = DynamoStore(get_settings().require("table_name"))
    product = store.require_product(license.product)
    assert 'name="on_expiry"' in client.get(f"/products/{product.slug}").text
    form = {"name": product.name, "on_expiry": "stop", "csrf": app.guard.csrf}

    asked = client.post(f"/products/{product.slug}/edit", data=form, headers=ORIGIN)
    assert asked.status_code == 200 and "on_expiry: keep_working → stop" in asked.text
    assert store.require_product(product.slug).on_expiry == "keep_working"  # asking changes nothing

    done = client.post(f"/products/{product.slug}/edit", data=form | {"confirmed": "yes"}, headers=ORIGIN)
    assert done.status_code == 303
    assert store.require_product(product.slug).on_expiry == "stop"

    refused = client.post(
        f"/products/{product.slug}/edit",
        data=form | {"on_expiry": "explode", "confirmed": "yes"},
        headers=ORIGIN,
    )
    assert refused.status_code == 400 and store.require_product(product.slug).on_expiry == "stop"


def _by_key(store: DynamoStore, key: str) -> Any:
    from licensing.keys import license_id_for_key, lookup_key

    lookup = lookup_key(key)
    assert lookup is not None
    return store.get_license(license_id_for_key(lookup))


def _upload(client: Client, app: Console, data: bytes, name: str = "export.csv", **form: Any) -> TestResponse:
    import io

    body: dict[str, Any] = {"csrf": app.guard.csrf, "file": (io.BytesIO(data), name), **form}
    return client.post("/import", data=body, headers=ORIGIN)


def test_an_import_is_a_dry_run_report_first_and_imports_only_once_confirmed(
    console: tuple[Console, Any],
) -> None:
    import io
    import re

    app, license = console
    client = signed_in(app)
    store = DynamoStore(get_settings().require("table_name"))
    export = (
        "Company;Module;Licence;Valid from;Valid to;Domains\n"
        f"Vandelay Industries;{license.product};VAND-2026-0001-AAAA;01.02.2026;31.01.2027;vandelay.test\n"
        "Vandelay Industries;latex-importer;VAND-2026-0002-BBBB;01.02.2026;31.01.2027;\n"
    ).encode()
    mapping = b'{"Company": "account", "Module": "product", "Licence": "key", "Valid from": "starts_on",'
    mapping += b' "Valid to": "ends_on", "Domains": "sites"}'
    form: dict[str, Any] = {"mapping": (io.BytesIO(mapping), "map.json"), "date_format": "DD.MM.YYYY"}
    assert 'action="/import"' in client.get("/import").text

    dry = _upload(client, app, export, **form)
    assert dry.status_code == 200, dry.text
    assert "1 would be created, 0 unchanged, 1 refused (dry run: nothing written)" in dry.text
    refused = re.search(r"<tr><td>3</td><td>refused</td>.*?</tr>", dry.text)
    assert refused is not None and "no product &#39;latex-importer&#39;" in refused.group(0)
    assert "Dana Support" in dry.text
    assert _by_key(store, "VAND-2026-0001-AAAA") is None  # the dry run writes nothing
    ticket = re.search(r'name="upload" value="([^"]+)"', dry.text)
    assert ticket is not None

    done = client.post(
        "/import",
        data={"csrf": app.guard.csrf, "confirmed": "yes", "upload": ticket.group(1)},
        headers=ORIGIN,
    )
    assert done.status_code == 200 and "1 created, 0 unchanged, 1 refused" in done.text, done.text
    imported = _by_key(store, "VAND-2026-0001-AAAA")
    assert imported is not None and imported.product == license.product
    # Found by its old key as customers type it (stored as the importer keeps a foreign key).
    assert imported.account_id != license.account_id and imported.display_key in done.text
    assert imported.display_key in client.get(f"/licenses/{imported.id}").text
    assert str(imported.ends_on) == "2027-01-31" and list(imported.sites) == ["vandelay.test"]
    history = store.license_history(imported.id)
    assert [entry.actor for entry in history if entry.action == "imported"] == ["staff:Dana Support"]
    again = client.post(
        "/import",
        data={"csrf": app.guard.csrf, "confirmed": "yes", "upload": ticket.group(1)},
        headers=ORIGIN,
    )
    assert again.status_code == 400 and "upload the file again" in again.text  # a ticket works once


def test_a_bad_import_upload_is_a_400_and_imports_nothing(console: tuple[Console, Any]) -> None:
    import io

    app, license = console
    client = signed_in(app)
    store = DynamoStore(get_settings().require("table_name"))
    row = f"account,product,key,starts_on\nVandelay,{license.product},VANDELAY-9,2026-02-01\n".encode()
    cases = [
        (_upload(client, app, b""), "must not be empty"),
        (
            _upload(client, app, row, mapping=(io.BytesIO(b"{not json"), "map.json")),
            "the mapping is not JSON",
        ),
        (_upload(client, app, row, mapping=(io.BytesIO(b'{"key": "colour"}'), "m.json")), "colour"),
        (_upload(client, app, b"[{oops", name="export.json"), "not valid JSON"),
        (_upload(client, app, row, date_format="someday"), "date format"),
        (_upload(client, app, "account\nZ\u00fcrich\n".encode("latin-1")), "not UTF-8"),
        (_upload(client, app, b"account,product,key\n"), "no rows"),
    ]
    for answer, said in cases:
        assert answer.status_code == 400 and said in answer.text, answer.text
    assert not app.imports and _by_key(store, "VANDELAY-9") is None
    assert [a.name for a in store.list_accounts()] == ["Acme Corp"]


def test_the_product_page_shows_each_releases_announcement_progress(console: tuple[Console, Any]) -> None:
    import io
    import re

    from licensing.services.releases import fan_out_release, release_published_event

    class Kept:
        def __init__(self) -> None:
            self.events: list[Any] = []

        def publish(self, events: list[Any]) -> None:
            self.events += events

    app, license = console
    client = signed_in(app)
    store = DynamoStore(get_settings().require("table_name"))
    form = {"csrf": app.guard.csrf, "version": "2.0.0", "file": (io.BytesIO(b"zip"), "a-2.0.0.zip")}
    asked = client.post(
        f"/products/{license.product}/releases", data=form | {"announce": "yes"}, headers=ORIGIN
    )
    ticket = re.search(r'name="upload" value="([^"]+)"', asked.text)
    assert ticket is not None
    done = client.post(
        f"/products/{license.product}/releases",
        data={"csrf": app.guard.csrf, "confirmed": "yes", "upload": ticket.group(1), "announce": "yes"},
        headers=ORIGIN,
    )
    assert done.status_code == 303
    page = client.get(done.headers["Location"]).text
    assert "being emailed" in page and "queued 0 · sent 0" in page and "no account queued yet" in page

    # The fan-out (the worker the announcement's event reaches) queues the one licensed account;
    # the notifier counts what it sent.
    release = store.get_release(license.product, "2.0.0")
    assert release is not None
    fan_out_release(store, Kept(), release_published_event(release), page_size=100)
    store.add_release_tally(license.product, "2.0.0", {"sent": 1})
    page = client.get(f"/products/{license.product}").text
    tally = store.release_tally(license.product, "2.0.0")
    assert (tally["queued"], tally["sent"]) == (1, 1)
    assert "queued 1 · sent 1 · skipped 0 · suppressed 0 · failed 0" in page
    assert "every account queued (1 page)" in page
