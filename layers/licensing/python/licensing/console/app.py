"""The staff console's pages (a WSGI app on werkzeug): search, a license with every staff action,
an account with its contacts and data-protection requests, and an overview. Every page reads and
every change acts through `licensing.services`, with the store and publisher of the staff CLI's
context (`cli/context.py`: the local system's with `--local`, else the deployed stack's).

A change is two POSTs: the form asks, the console answers with a confirmation page saying what
will happen, and only its "Confirm" does it (then a 303 back to the page, with what was done)."""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from botocore.exceptions import BotoCoreError, ClientError
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import NotFound as RouteNotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .. import dates
from ..errors import Forbidden, InvalidInput, LicensingError, NotFound
from ..lifecycle import Action
from ..models import Contact, License, LicenseStatus, PaymentStatus, Product
from ..paging import BadCursor, Page
from ..services import activity, license_admin, privacy, reports, search
from ..services.lookup import find_account, find_license, find_product
from ..services.renewals import money, renew_manually
from .security import SECURITY_HEADERS, SESSION_COOKIE, Guard

HTML = "text/html; charset=utf-8"
PAYMENT_METHODS = ["bank_transfer", "invoice", "stripe", "free"]
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
ACTIVITY_DAYS = 30  # the overview's "issued" and "renewed" window
OVERVIEW_ROWS = 5  # the latest of each the overview shows; the rest is a link away


class ConsoleRequest(Request):
    max_content_length = MAX_UPLOAD_BYTES


_ROUTES = Map(
    [
        Rule("/login", endpoint="login", methods=["GET"]),
        Rule("/static/<name>", endpoint="static", methods=["GET"]),
        Rule("/", endpoint="search", methods=["GET"]),
        Rule("/overview", endpoint="overview", methods=["GET"]),
        Rule("/suppressed", endpoint="suppressed", methods=["GET"]),
        Rule("/activity/<kind>", endpoint="activity_list", methods=["GET"]),
        Rule("/licenses/<license_id>", endpoint="license", methods=["GET"]),
        Rule("/licenses/<license_id>/<action>", endpoint="license_action", methods=["POST"]),
        Rule("/products", endpoint="products", methods=["GET"]),
        Rule("/products", endpoint="product_create", methods=["POST"]),
        Rule("/products/<slug>", endpoint="product", methods=["GET"]),
        Rule("/products/<slug>/edit", endpoint="product_edit", methods=["POST"]),
        Rule("/products/<slug>/releases", endpoint="release_upload", methods=["POST"]),
        Rule("/products/<slug>/releases/<version>/announce", endpoint="release_announce", methods=["POST"]),
        Rule("/import", endpoint="import_form", methods=["GET"]),
        Rule("/import", endpoint="import_run", methods=["POST"]),
        Rule("/accounts/<account_id>", endpoint="account", methods=["GET"]),
        Rule("/accounts/<account_id>/export", endpoint="account_export", methods=["GET"]),
        Rule("/accounts/<account_id>/<action>", endpoint="account_action", methods=["POST"]),
    ],
    strict_slashes=False,
)


@dataclass(frozen=True)
class Change:
    """A staff action: the question its confirmation page asks, and what doing it does (it returns
    the sentence the page then shows)."""

    question: str
    do: Callable[[], str]
    danger: bool = False
    preview: str | None = None  # sanitized HTML (release notes as customers will see them)


class Console:
    """The WSGI app. `staff` is the CLI's context (store(), events(), actor())."""

    def __init__(
        self,
        staff: Any,
        guard: Guard,
        templates_dir: str,
        mail_queues: Callable[[], list[dict[str, Any]] | None] | None = None,
    ) -> None:
        from ..mail import environment

        self.staff = staff
        self.mail_queues = mail_queues
        self.guard = guard
        self.templates = environment(templates_dir)
        self.static_dir = Path(templates_dir) / "console" / "static"
        self.flash: str | None = None
        self._actor: str | None = None
        self._product_names: dict[str, str] | None = None
        # A release file between its preview and its confirmation (one staff member per console).
        self.uploads: dict[str, dict[str, Any]] = {}
        # An import file between its dry run and its confirmation, held the same way.
        self.imports: dict[str, dict[str, Any]] = {}

    # -- WSGI -------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = ConsoleRequest(environ)
        response = self.respond(request)
        response.headers.update(SECURITY_HEADERS)
        return response(environ, start_response)

    def respond(self, request: Request) -> Response:
        self._product_names = None  # read once per page
        try:
            self.guard.check_host(request.host)
            endpoint, values = _ROUTES.bind_to_environ(request.environ).match()
            if endpoint == "login":
                return self.login(request)
            if endpoint == "static":
                return self.static(values["name"])
            self.guard.check_session(request.cookies.get(SESSION_COOKIE))
            if request.method == "POST":
                self.guard.check_post(
                    origin=request.headers.get("Origin"),
                    fetch_site=request.headers.get("Sec-Fetch-Site"),
                    csrf=request.form.get("csrf"),
                )
            handler: Callable[..., Response] = getattr(self, endpoint)
            return handler(request, **values)
        except LicensingError as error:
            signed_in = not isinstance(error, Forbidden)
            return self.error(error.status, error.message, signed_in=signed_in, back=_back(request.path))
        except (BotoCoreError, ClientError) as error:
            return self.error(502, f"AWS: {error}")
        except ValueError as error:  # pydantic's ValidationError among them: a value out of range
            from ..cli.context import first_error

            return self.error(400, first_error(error), back=_back(request.path))
        except HTTPException as error:
            if isinstance(error, RouteNotFound):
                return self.error(404, "There is no such page.")
            return self.error(error.code or 400, error.description or "Bad request.")

    # -- pages ------------------------------------------------------------------------------------

    def page(self, template: str, status: int = 200, **context: Any) -> Response:
        flash, self.flash = self.flash, None
        html = self.templates.get_template(f"console/{template}.html").render(
            csrf=self.guard.csrf, flash=flash, actor=self.actor(), **context
        )
        return Response(html, status=status, content_type=HTML)

    def error(self, status: int, message: str, *, signed_in: bool = True, back: str = "/") -> Response:
        html = self.templates.get_template("console/error.html").render(
            status=status, message=message, signed_in=signed_in, back=back
        )
        return Response(html, status=status, content_type=HTML)

    def actor(self) -> str:
        if self._actor is None:
            self._actor = self.staff.actor()
        return self._actor

    def login(self, request: Request) -> Response:
        session = self.guard.exchange(request.args.get("token"))
        response = redirect("/")
        response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="Strict", path="/")
        return response

    def static(self, name: str) -> Response:
        files = {path.name: path for path in self.static_dir.iterdir() if path.is_file()}
        if name not in files:
            raise NotFound("There is no such file.")
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return Response(files[name].read_bytes(), content_type=kind)

    def search(self, request: Request) -> Response:
        store = self.staff.store()
        fields = ("key", "email", "account", "site", "product", "status", "invoice")
        criteria = {name: (request.args.get(name) or "").strip() or None for name in fields}
        query = search.LicenseQuery(**criteria)
        after = request.args.get("after")
        found: Page[License] | None = None
        error = None
        if not query.empty():
            from ..adapters.staff_queries import StaffQueries

            try:
                found = search.search_page(store, StaffQueries(store), query, after=after)
            except BadCursor:
                raise  # a 400 page: the link was not one this console made
            except LicensingError as problem:
                error = problem.message
        given = {k: v for k, v in criteria.items() if v}
        return self.page(
            "search",
            criteria=criteria,
            products=store.list_products(),
            statuses=[status.value for status in LicenseStatus],
            rows=[self.row(license) for license in found.items] if found else [],
            found=found,
            later=after is not None,
            searched=not query.empty(),
            error=error,
            first_link="/?" + urlencode(given),
            next_link="/?" + urlencode({**given, "after": found.next}) if found and found.next else None,
        )

    def row(self, license: License) -> dict[str, Any]:
        if self._product_names is None:
            self._product_names = {p.slug: p.name for p in self.staff.store().list_products()}
        return {
            "license": license,
            "product": self._product_names.get(license.product, license.product),
            "days_left": (license.ends_on - dates.today()).days,
        }

    def license(self, request: Request, license_id: str) -> Response:
        store = self.staff.store()
        license = find_license(store, license_id)
        account = store.get_account(license.account_id)
        product = store.get_product(license.product)
        history = sorted(store.license_history(license.id), key=lambda entry: entry.at, reverse=True)
        return self.page(
            "license",
            license=license,
            account=account,
            product=product,
            history=history,
            days_left=(license.ends_on - dates.today()).days,
            emails=store.contact_emails(license.account_id),
            payment_methods=PAYMENT_METHODS,
            fields=_license_fields(license),
        )

    def license_action(self, request: Request, license_id: str, action: str) -> Response:
        store = self.staff.store()
        license = find_license(store, license_id)
        change = self.license_change(license, action, request.form)
        return self.confirm_or_do(request, change, f"/licenses/{license.id}")

    def account(self, request: Request, account_id: str) -> Response:
        from ..adapters.staff_queries import StaffQueries

        store = self.staff.store()
        account = find_account(store, account_id)
        contacts = [store.get_contact(email) for email in store.contact_emails(account.id)]
        after = request.args.get("after")
        found = search.account_licenses_page(StaffQueries(store), account.id, after=after)
        return self.page(
            "account",
            account=account,
            contacts=[contact for contact in contacts if contact is not None],
            rows=[self.row(license) for license in found.items],
            later=after is not None,
            next_link=f"/accounts/{account.id}?" + urlencode({"after": found.next}) if found.next else None,
        )

    def account_export(self, request: Request, account_id: str) -> Response:
        store = self.staff.store()
        account = find_account(store, account_id)
        exported = privacy.export_account(store, account)
        response = Response(json.dumps(exported, indent=2, default=str), content_type="application/json")
        response.headers["Content-Disposition"] = f'attachment; filename="{account.id}.json"'
        return response

    def account_action(self, request: Request, account_id: str, action: str) -> Response:
        store = self.staff.store()
        account = find_account(store, account_id)
        form = request.form
        if action == "contacts-add":
            email = Contact(email=_required(form, "email")).email
            name = (form.get("name") or "").strip()
            change = Change(
                f"Add {email}{f' ({name})' if name else ''} as a contact of {account.name}? "
                "They get the account's mails and can sign in to its portal.",
                lambda: (store.add_contact(account.id, email, name), f"{email} is a contact now.")[1],
            )
        elif action == "contacts-remove":
            email = _required(form, "email").lower()

            def remove() -> str:
                if not store.remove_contact(account.id, email):
                    raise NotFound(f"{email} is not a contact of {account.name}")
                return f"{email} is no longer a contact; their portal access has ended."

            change = Change(
                f"Remove {email} from {account.name}? Their mails stop and their portal access ends.",
                remove,
                danger=True,
            )
        elif action == "erase":
            typed = (form.get("typed") or "").strip()
            if typed != account.name:
                raise InvalidInput(f"type the account's name ({account.name}) to erase its personal data")

            def erase() -> str:
                report = privacy.erase_account(store, account, actor=self.actor())
                done = ", ".join(f"{name.replace('_', ' ')}: {count}" for name, count in report.items())
                return f"The personal data of {account.name} is erased ({done})."

            emails = ", ".join(store.contact_emails(account.id)) or "no contacts"
            change = Change(
                f"Erase the personal data of {account.name} ({emails})? Licenses and payments are kept "
                "for bookkeeping; this cannot be undone.",
                erase,
                danger=True,
            )
        else:
            raise NotFound("There is no such action.")
        return self.confirm_or_do(request, change, f"/accounts/{account.id}")

    def products(self, request: Request) -> Response:
        store = self.staff.store()
        rows = [(product, store.list_releases(product.slug)) for product in store.list_products()]
        return self.page("products", rows=rows)

    def product(self, request: Request, slug: str) -> Response:
        store = self.staff.store()
        product = find_product(store, slug)
        owner = store.get_account(product.owner_account_id) if product.owner_account_id else None
        fields = [
            (name, _price(product) if name == "renewal_price" else _plain(value))
            for name, value in product.model_dump().items()
        ]
        releases = store.list_releases(slug)
        return self.page(
            "product",
            product=product,
            owner=owner,
            fields=fields,
            releases=releases,
            tallies={r.version: store.release_tally(slug, r.version) for r in releases},
        )

    def product_create(self, request: Request) -> Response:
        from ..services.products import create_product

        store = self.staff.store()
        slug = _required(request.form, "slug").lower()
        values = _product_form(request.form)
        owner_ref = (request.form.get("owner") or "").strip()
        owner = find_account(store, owner_ref) if owner_ref else None
        if store.get_product(slug) is not None:
            raise InvalidInput(f"the product {slug!r} exists: edit it on its page")
        preview = Product.model_validate(
            {"slug": slug} | values | ({"kind": "custom", "owner_account_id": owner.id} if owner else {})
        )
        kind = f"custom for {owner.name}" if owner else "public"

        def create() -> str:
            create_product(store, slug, values, owner=owner)
            return f"{preview.name} is created."

        change = Change(
            f"Create the product {preview.name} ({slug}, {kind}): {preview.term_months} months, "
            f"{preview.max_sites} sites, {preview.grace_days} grace days, renewal "
            f"{_price(preview)}?",
            create,
        )
        if request.form.get("confirmed") == "yes":
            self.flash = change.do()
            return redirect(f"/products/{slug}")
        return self.confirm_or_do(request, change, "/products")

    def product_edit(self, request: Request, slug: str) -> Response:
        from ..services.products import update_product, updated_product

        store = self.staff.store()
        changes = _product_form(request.form)
        before, after = updated_product(store, slug, changes)
        old, new = before.model_dump(mode="json"), after.model_dump(mode="json")
        diff = [
            f"{name}: {_plain(old[name])} → {_plain(new[name])}" for name in new if old[name] != new[name]
        ]
        if not diff:
            raise InvalidInput("nothing to change: the product already says so")

        def update() -> str:
            update_product(store, slug, changes)
            return f"{after.name} is updated; new licenses take its settings, existing ones keep theirs."

        change = Change(f"Update {before.name}: {'; '.join(diff)}?", update)
        return self.confirm_or_do(request, change, f"/products/{slug}")

    def release_upload(self, request: Request, slug: str) -> Response:
        """Upload, then a preview of the notes as customers will see them, then publish."""
        import secrets

        from ..markdown import notes_html
        from ..services.releases import publish_release, release_published_event
        from ..versions import parse_specifier, parse_version

        store = self.staff.store()
        product = find_product(store, slug)
        announce = request.form.get("announce") == "yes"
        if request.form.get("confirmed") != "yes":
            upload = request.files.get("file")
            data = upload.read() if upload else b""
            version = _required(request.form, "version")
            requires_host = (request.form.get("requires_host") or "").strip() or None
            parse_version(version)
            if requires_host:
                parse_specifier(requires_host)
            if not data or upload is None or not upload.filename:
                raise InvalidInput("choose the release file (it must not be empty)")
            if store.get_release(slug, version) is not None:
                raise InvalidInput(f"{product.name} {version} is already published")
            notes = (request.form.get("notes") or "").replace("\r\n", "\n")
            ticket = secrets.token_urlsafe(16)
            self.uploads = {
                ticket: {
                    "version": version,
                    "filename": upload.filename,
                    "data": data,
                    "notes": notes,
                    "requires_host": requires_host,
                }
            }
            mails = " and email its license holders" if announce else " (without emails: announce it later)"
            change = Change(
                f"Publish {product.name} {version} ({upload.filename}, {len(data):,} bytes"
                f"{', for hosts ' + requires_host if requires_host else ''}){mails}? "
                "Its notes will read as below.",
                lambda: "",
                preview=notes_html(notes) or "<p>(no notes)</p>",
            )
            hidden = [("upload", ticket), ("announce", "yes" if announce else "no")]
            return self.page(
                "confirm",
                change=change,
                action=request.path,
                hidden=hidden,
                back=f"/products/{slug}",
                by=self.actor(),
            )
        held = self.uploads.pop(request.form.get("upload") or "", None)
        if held is None:
            raise InvalidInput(
                "this upload is no longer held (the console restarted?): upload the file again"
            )
        release = publish_release(
            store,
            self.staff.files(),
            product=slug,
            version=held["version"],
            filename=held["filename"],
            data=held["data"],
            notes_markdown=held["notes"],
            requires_host=held["requires_host"],
        )
        if announce:
            self.staff.events().publish([release_published_event(release)])
        self.flash = f"{product.name} {release.version} is published" + (
            "; its license holders are being emailed." if announce else "."
        )
        return redirect(f"/products/{slug}")

    def release_announce(self, request: Request, slug: str, version: str) -> Response:
        from ..services.releases import release_published_event

        store = self.staff.store()
        product = find_product(store, slug)
        release = store.get_release(slug, version)
        if release is None:
            raise NotFound(f"no release {product.name} {version}")

        def announce() -> str:
            self.staff.events().publish([release_published_event(release)])
            return (
                f"{product.name} {version} is announced: its license holders are being emailed "
                "(its progress is in the Announcement column)."
            )

        change = Change(
            f"Email the license holders of {product.name} about {version}? Whoever was mailed about it "
            "already is not mailed twice.",
            announce,
        )
        return self.confirm_or_do(request, change, f"/products/{slug}")

    def import_form(self, request: Request) -> Response:
        from .imports import DATE_FORMATS

        return self.page("import", date_formats=DATE_FORMATS, report=None)

    def import_run(self, request: Request) -> Response:
        """Upload, then the importer's dry-run report (nothing written), then Confirm runs it."""
        from .imports import run_import, start_import

        if request.form.get("confirmed") != "yes":
            ticket, held, report = start_import(self.staff, request, actor=self.actor())
            self.imports = {ticket: held}
            return self.page("import_report", report=report, held=held, ticket=ticket, by=self.actor())
        kept = self.imports.pop(request.form.get("upload") or "", None)
        if kept is None:
            raise InvalidInput(
                "this upload is no longer held (the console restarted?): upload the file again"
            )
        report = run_import(self.staff, kept, actor=self.actor())
        return self.page("import_report", report=report, held=kept, ticket=None, by=self.actor())

    def overview(self, request: Request) -> Response:
        from ..adapters.staff_queries import StaffQueries

        store = self.staff.store()
        queries = StaffQueries(store)
        today = dates.today()
        recent: dict[str, dict[str, Any]] = {}
        for kind in activity.KINDS:
            # The count and the latest few on the index; the rest is the kind's own paged list.
            count = activity.activity_count(queries, kind, today=today, days=ACTIVITY_DAYS)
            rows: list[dict[str, Any]] = []
            if count:
                latest = activity.activity_page(
                    queries, kind, today=today, days=ACTIVITY_DAYS, page_size=OVERVIEW_ROWS
                )
                rows = [self.activity_row(found) for found in latest.items]
            recent[kind] = {"count": count, "rows": rows}
        ending = reports.expiring(store, today=today, days=30)
        return self.page(
            "overview",
            activity=recent,
            ending=[self.row(lic) for lic in ending],
            queues=self.mail_queues() if self.mail_queues else None,
            suppressed=reports.suppressed_count(StaffQueries(store)),
        )

    def activity_row(self, found: activity.Activity) -> dict[str, Any]:
        return {**self.row(found.license), "at": found.entry.at, "by": found.entry.actor}

    def activity_list(self, request: Request, kind: str) -> Response:
        """The licenses issued (or the renewals made) in the last 30 days, a page at a time, newest first."""
        from ..adapters.staff_queries import StaffQueries

        if kind not in activity.KINDS:
            raise NotFound("There is no such list.")
        queries = StaffQueries(self.staff.store())
        today = dates.today()
        after = request.args.get("after")
        found = activity.activity_page(queries, kind, today=today, days=ACTIVITY_DAYS, after=after)
        return self.page(
            "activity",
            kind=kind,
            title=f"{kind.capitalize()} in the last {ACTIVITY_DAYS} days",
            since=today - timedelta(days=ACTIVITY_DAYS),
            count=activity.activity_count(queries, kind, today=today, days=ACTIVITY_DAYS),
            rows=[self.activity_row(item) for item in found.items],
            later=after is not None,
            next_link=f"/activity/{kind}?" + urlencode({"after": found.next}) if found.next else None,
        )

    def suppressed(self, request: Request) -> Response:
        """The addresses mail is not sent to, a page at a time, with the accounts they are contacts of."""
        from ..adapters.staff_queries import StaffQueries

        store = self.staff.store()
        after = request.args.get("after")
        found = reports.suppressed(StaffQueries(store), after=after)
        names: dict[str, str] = {}
        for contact in found.items:
            for account_id in contact.account_ids:
                if account_id not in names:
                    account = store.get_account(account_id)
                    names[account_id] = account.name if account else account_id
        return self.page(
            "suppressed",
            contacts=found.items,
            names=names,
            later=after is not None,
            next_link="/suppressed?" + urlencode({"after": found.next}) if found.next else None,
        )

    # -- changes ----------------------------------------------------------------------------------

    def confirm_or_do(self, request: Request, change: Change, back: str) -> Response:
        if request.form.get("confirmed") != "yes":
            hidden = [(k, v) for k, v in request.form.items(multi=True) if k not in ("csrf", "confirmed")]
            return self.page(
                "confirm", change=change, action=request.path, hidden=hidden, back=back, by=self.actor()
            )
        self.flash = change.do()
        return redirect(back)

    def license_change(self, license: License, action: str, form: Any) -> Change:
        store, actor, today = self.staff.store(), self.actor(), dates.today()
        named = f"{license.display_key} ({license.name})"
        if action in ("suspend", "reinstate", "revoke"):
            reason = (form.get("reason") or "").strip() or None
            if action == "revoke" and reason is None:
                raise InvalidInput("give the reason for the revocation (the customer's mail says it)")
            verb = {"suspend": "Suspend", "reinstate": "Reinstate", "revoke": "Revoke"}[action]

            def status() -> str:
                saved = license_admin.change_status(
                    store, self.staff.events(), license.id, Action(action.upper()), actor=actor, reason=reason
                )
                return f"{license.display_key} is {saved.status.value} now; the customer is mailed."

            final = " Revocation is final." if action == "revoke" else ""
            because = f" Reason: {reason}." if reason else ""
            return Change(
                f"{verb} {named}?{because}{final} The customer is mailed.", status, action != "reinstate"
            )
        if action == "extend":
            ends_on = _date(form.get("ends"))
            days = _int(form.get("days"), 1, 3650, "days")
            if (ends_on is None) == (days is None):
                raise InvalidInput("give a new end date or a number of days, not both")
            target = ends_on or license.ends_on + timedelta(days=days or 0)

            def extend() -> str:
                saved = license_admin.extend(
                    store, license.id, actor=actor, today=today, ends_on=ends_on, days=days
                )
                return f"{license.display_key} now ends on {saved.ends_on}."

            return Change(
                f"Move the end of {named} from {license.ends_on} to {target}? No payment, no mail.", extend
            )
        if action == "renew":
            months = _int(form.get("months"), 1, 120, "months")
            method = _choice(form.get("payment_method") or "invoice", PAYMENT_METHODS, "payment method")
            paid = _choice(form.get("payment_status") or "paid", ["paid", "pending"], "payment status")
            invoice_url = (form.get("invoice_url") or "").strip() or None
            amount = money((form.get("amount") or "").strip() or None)
            currency = (form.get("currency") or "").strip() or None
            product = store.get_product(license.product)
            term = months or (product.term_months if product else 12)

            def renew() -> str:
                saved = renew_manually(
                    store,
                    self.staff.events(),
                    license.id,
                    product=product,
                    today=today,
                    actor=actor,
                    months=months,
                    method=method,
                    payment_status=PaymentStatus.FREE if method == "free" else PaymentStatus(paid),
                    invoice_url=invoice_url,
                    amount=amount,
                    currency=currency,
                )
                return f"{license.display_key} is renewed to {saved.ends_on}; the customer is mailed."

            price = (
                f" for {amount / 100:.2f} {(currency or '').upper()}".rstrip() if amount is not None else ""
            )
            return Change(
                f"Renew {named} by {term} months{price}, paid by {method.replace('_', ' ')} ({paid})? "
                "The customer is mailed as for a Stripe renewal.",
                renew,
            )
        if action in ("sites-add", "sites-remove"):
            site = _required(form, "site")
            if action == "sites-add":
                return Change(
                    f"Activate {site} on {named}?",
                    lambda: (
                        f"{site} is activated. "
                        + _sites(license_admin.add_site(store, license, site, actor=actor, today=today))
                    ),
                )
            return Change(
                f"Deactivate {site} on {named}? Its slot is free again.",
                lambda: (
                    f"{site} is deactivated. "
                    + _sites(license_admin.remove_site(store, license, site, actor=actor))
                ),
                danger=True,
            )
        if action == "billing":
            paid_status = form.get("payment_status") or None
            status_value = (
                PaymentStatus(_choice(paid_status, ["paid", "pending"], "payment status"))
                if paid_status
                else None
            )
            invoice_url = (form.get("invoice_url") or "").strip() or None
            paid_on = _date(form.get("paid_on"))

            def billing() -> str:
                saved = license_admin.update_billing(
                    store,
                    self.staff.events(),
                    license.id,
                    actor=actor,
                    today=today,
                    payment_status=status_value,
                    invoice_url=invoice_url,
                    paid_on=paid_on,
                )
                return f"The billing of {license.display_key} says {saved.billing.payment_status.value} now."

            said = ", ".join(
                part
                for part in (
                    f"payment {status_value.value}" if status_value else "",
                    f"paid on {paid_on}" if paid_on else "",
                    f"invoice {invoice_url}" if invoice_url else "",
                )
                if part
            )
            if not said:
                raise InvalidInput("give a payment status, an invoice link or the day it was paid")
            return Change(f"Record for {named}: {said}?", billing)
        if action == "resend":
            emails = store.contact_emails(license.account_id)

            def resend() -> str:
                license_admin.resend(store, self.staff.events(), license, actor=actor)
                return f"The license mail is on its way to {', '.join(emails)}."

            return Change(
                f"Mail {named} again to {', '.join(emails) or 'nobody'}, with a fresh sign-in link?", resend
            )
        raise NotFound("There is no such action.")


# -- helpers ---------------------------------------------------------------------------------------


def redirect(location: str) -> Response:
    return Response("", status=303, headers={"Location": location})


def _product_form(form: Any) -> dict[str, Any]:
    """A product form's fields as the product's values (lists split on commas or spaces; an empty
    renewal amount means no online renewal)."""
    from ..models import Price

    def listed(name: str) -> list[str]:
        return [item for item in (form.get(name) or "").replace(",", " ").split() if item]

    values: dict[str, Any] = {
        "name": (form.get("name") or "").strip(),
        "description": (form.get("description") or "").strip(),
        "stripe_price_ids": listed("stripe_price_ids"),
        "trial_price_ids": listed("trial_price_ids"),
        "development_hosts": listed("development_hosts"),
    }
    for name, low, high in (("term_months", 1, 120), ("max_sites", 0, 10_000), ("grace_days", 0, 365)):
        number = _int(form.get(name), low, high, name.replace("_", " "))
        if number is not None:
            values[name] = number
    trial_days = _int(form.get("trial_days"), 1, 365, "trial days")
    if trial_days is not None:
        values["trial_days"] = trial_days
    on_expiry = (form.get("on_expiry") or "").strip()
    if on_expiry:
        if on_expiry not in ("keep_working", "stop"):
            raise InvalidInput(
                f"at the end of the term the software keeps working or stops, not {on_expiry!r}"
            )
        values["on_expiry"] = on_expiry
    amount = money((form.get("renewal_amount") or "").strip() or None)
    currency = (form.get("renewal_currency") or "eur").strip().lower() or "eur"
    values["renewal_price"] = Price(amount=amount, currency=currency) if amount is not None else None
    if not values["development_hosts"]:
        values.pop("development_hosts")  # the defaults
    return values


def _price(product: Product) -> str:
    price = product.renewal_price
    return f"{price.amount / 100:.2f} {price.currency.upper()}" if price else "by request (no online price)"


def _back(path: str) -> str:
    """Where a refused action's page leads back to: the license or account it was about."""
    parts = path.strip("/").split("/")
    if len(parts) >= 3 and parts[0] in ("licenses", "accounts"):
        return f"/{parts[0]}/{parts[1]}"
    return "/"


def _required(form: Any, name: str) -> str:
    value = (form.get(name) or "").strip()
    if not value:
        raise InvalidInput(f"give the {name.replace('_', ' ')}")
    return value


def _date(raw: str | None) -> date | None:
    if not raw or not raw.strip():
        return None
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidInput(f"not a date: {raw!r} (YYYY-MM-DD)") from None


def _int(raw: str | None, low: int, high: int, name: str) -> int | None:
    if not raw or not raw.strip():
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        raise InvalidInput(f"not a number of {name}: {raw!r}") from None
    if not low <= value <= high:
        raise InvalidInput(f"{name} is between {low} and {high}")
    return value


def _choice(value: str, allowed: list[str], name: str) -> str:
    if value not in allowed:
        raise InvalidInput(f"no {name} {value!r} (one of {', '.join(allowed)})")
    return value


def _sites(license: License) -> str:
    return f"{license.sites_used} of {license.max_sites} sites in use."


def _license_fields(license: License) -> list[tuple[str, Any]]:
    """Every field of the license record, as staff read them (billing's fields one by one)."""
    skip = {"sites", "payments", "billing", "key", "usage_writes"}
    fields = [(name, value) for name, value in license.model_dump().items() if name not in skip]
    fields += [(f"billing.{name}", value) for name, value in license.billing.model_dump().items()]
    return [(name, _plain(value)) for name, value in fields]


def _plain(value: Any) -> str:
    if value is None or value == []:
        return "-"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if hasattr(value, "value"):
        return str(value.value)
    return str(value)
