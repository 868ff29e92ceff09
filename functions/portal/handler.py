"""The customer portal (API.md section 3): passwordless sign-in, the customer's licenses and the
versions they may download; the unsubscribe links of release mails; and the 404 of unknown routes.

Sessions are server-side (hashed tokens), checked at every request; every POST carries the CSRF
token of the page it came from. Another account's license or product answers 404, as if it did not
exist.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from functools import lru_cache, wraps
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.shared.cookies import Cookie, SameSite
from aws_lambda_powertools.utilities.typing import LambdaContext

from licensing.errors import InvalidInput, NotFound
from licensing.web import create_resolver

logger = Logger(service="portal")
app = create_resolver(enable_validation=False)
HTML = "text/html; charset=utf-8"
SESSION_COOKIE = "lm_session"
SIGNIN_WINDOW_SECONDS = 120
CSRF_COOKIE = "lm_csrf"


@lru_cache(maxsize=1)
def dependencies() -> tuple[Any, Any, Any]:
    from licensing.adapters.dynamo import DynamoStore
    from licensing.settings import get_settings
    from licensing.signing import load_signer

    settings = get_settings()
    return DynamoStore(settings.table_name), load_signer(), settings


@lru_cache(maxsize=1)
def publisher() -> Any:
    from licensing.adapters.events import EventBridgePublisher

    return EventBridgePublisher(dependencies()[2].event_bus_name)


# -- requests, cookies, CSRF -----------------------------------------------------------------------


def _cookie(name: str) -> str | None:
    for cookie in app.current_event.cookies or []:
        key, _, value = cookie.partition("=")
        if key.strip() == name:
            return value.strip()
    return None


def _form() -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(app.current_event.decoded_body or "").items()}


def _cookie_for(name: str, value: str, *, path: str = "/", max_age: int | None = None) -> Cookie:
    """HttpOnly, SameSite=Lax, and Secure wherever the portal is served over https."""
    return Cookie(
        name=name,
        value=value,
        path=path,
        secure=dependencies()[2].public_base_url.startswith("https://"),
        http_only=True,
        max_age=max_age,
        same_site=SameSite.LAX_MODE,
    )


def _session() -> dict[str, Any] | None:
    token = _cookie(SESSION_COOKIE)
    return dependencies()[0].get_session(token) if token else None


def _csrf_token(session: dict[str, Any] | None) -> tuple[str, list[Cookie]]:
    """The page's CSRF token: the session's, or before sign-in a double-submit cookie's."""
    if session is not None:
        return str(session["csrf"]), []
    existing = _cookie(CSRF_COOKIE)
    if existing:
        return existing, []
    token = secrets.token_urlsafe(24)
    return token, [_cookie_for(CSRF_COOKIE, token, path="/portal")]


def _check_csrf(session: dict[str, Any] | None) -> None:
    expected = str(session["csrf"]) if session is not None else _cookie(CSRF_COOKIE)
    given = _form().get("csrf", "")
    if not expected or not secrets.compare_digest(given, expected):
        raise InvalidInput("This form has expired: reload the page and try again.")


def page(
    template: str, *, status: int = 200, cookies: list[Cookie] | None = None, **context: Any
) -> Response[str]:
    from licensing.mail import environment

    _, _, settings = dependencies()
    html = environment(settings.templates_dir).get_template(f"portal/{template}.html")
    body = html.render(vendor_name=settings.vendor_name, **context)
    return Response(status_code=status, content_type=HTML, body=body, cookies=cookies or [])


def redirect(location: str, cookies: list[Cookie] | None = None) -> Response[str]:
    return Response(status_code=303, headers={"Location": location}, body="", cookies=cookies or [])


def _signed_in() -> tuple[dict[str, Any], Any] | Response[str]:
    """The session and the contact, or a redirect to the sign-in page. A contact removed from its
    accounts loses access at its next request."""
    session = _session()
    if session is None:
        return redirect("/portal/login")
    contact = dependencies()[0].get_contact(str(session["email"]))
    if contact is None or not contact.account_ids:
        return redirect("/portal/login")
    return session, contact


def customer_page(
    *, post: bool = False
) -> Callable[[Callable[..., Response[str]]], Callable[..., Response[str]]]:
    """A page of a signed-in customer: the view gets the session and the contact; without a live
    session (or with a contact removed from its accounts) the answer is the sign-in page. A POST's
    CSRF token is checked before the view runs."""

    def decorate(view: Callable[..., Response[str]]) -> Callable[..., Response[str]]:
        @wraps(view)
        def signed_in_view(**path_parameters: str) -> Response[str]:
            signed_in = _signed_in()
            if isinstance(signed_in, Response):
                return signed_in
            session, contact = signed_in
            if post:
                _check_csrf(session)
            return view(session, contact, **path_parameters)

        return signed_in_view

    return decorate


def _licenses_of(contact: Any) -> list[Any]:
    store = dependencies()[0]
    return [
        license for account_id in contact.account_ids for license in store.licenses_of_account(account_id)
    ]


# -- sign-in ---------------------------------------------------------------------------------------


@app.get("/portal/login")
def login_page() -> Response[str]:
    csrf, cookies = _csrf_token(None)
    return page("login", csrf=csrf, cookies=cookies)


@app.post("/portal/login")
def login() -> Response[str]:
    """The same "check your email" answer whether or not the email is known."""
    from licensing.models import Contact, DomainEvent

    _check_csrf(None)
    try:
        email = Contact(email=_form().get("email", "")).email
    except ValueError:
        raise InvalidInput("Enter an email address.") from None
    store = dependencies()[0]
    contact = store.get_contact(email)
    # At most one sign-in mail per address and two minutes, whoever asks how often.
    window = int(time.time() // SIGNIN_WINDOW_SECONDS)
    if (
        contact is not None
        and contact.account_ids
        and store.claim(f"signin-request:{email}:{window}", ttl_days=1)
    ):
        publisher().publish(
            [
                DomainEvent(
                    detail_type="SignInRequested",
                    detail={"email": email, "dedupe_key": f"SignInRequested:{secrets.token_hex(8)}"},
                )
            ]
        )
    return page("check_email", email=email)


@app.get("/portal/auth")
def auth_page() -> Response[str]:
    """One "Sign in" button: following the link uses nothing up (mail scanners follow links)."""
    csrf, cookies = _csrf_token(None)
    token = app.current_event.get_query_string_value("token") or ""
    return page("auth", token=token, csrf=csrf, cookies=cookies)


@app.post("/portal/auth")
def auth() -> Response[str]:
    _check_csrf(None)
    store = dependencies()[0]
    email = store.consume_token(_form().get("token", ""), purpose="signin")
    if email is None:
        return page("link_expired", status=400)
    session = store.create_session(email)
    return redirect("/portal/", cookies=[_cookie_for(SESSION_COOKIE, session)])


@app.post("/portal/logout")
def logout() -> Response[str]:
    session = _session()
    if session is None:  # already over (idle or expired): nothing to protect, just leave
        return redirect("/portal/login", cookies=[_cookie_for(SESSION_COOKIE, "", max_age=0)])
    _check_csrf(session)
    token = _cookie(SESSION_COOKIE)
    if token:
        dependencies()[0].end_session(token)
    return redirect("/portal/login", cookies=[_cookie_for(SESSION_COOKIE, "", max_age=0)])


# -- the customer's licenses and downloads ---------------------------------------------------------


@app.get("/portal")
@app.get("/portal/")
@customer_page()
def home(session: dict[str, Any], contact: Any) -> Response[str]:
    from licensing.dates import today
    from licensing.lifecycle import days_left, validity_code

    day = today()
    rows = [
        {"license": lic, "code": validity_code(lic, day), "days_left": days_left(lic, day)}
        for lic in _licenses_of(contact)
    ]
    return page("licenses", rows=rows, email=contact.email, csrf=session["csrf"])


def _own_license(contact: Any, license_id: str) -> Any:
    license = dependencies()[0].get_license(license_id)
    if license is None or license.account_id not in contact.account_ids:
        raise NotFound("No such license.")
    return license


@app.get("/portal/licenses/<license_id>")
@customer_page()
def license_page(session: dict[str, Any], contact: Any, license_id: str) -> Response[str]:
    from licensing.dates import today
    from licensing.lifecycle import days_left, validity_code

    license = _own_license(contact, license_id)
    history = [entry for entry in dependencies()[0].license_history(license.id) if entry.customer_visible]
    day = today()
    return page(
        "license",
        license=license,
        code=validity_code(license, day),
        days_left=days_left(license, day),
        history=list(reversed(history)),
        csrf=session["csrf"],
        email=contact.email,
    )


def _visible_releases(contact: Any, product: str) -> tuple[Any, list[tuple[Any, bool]]]:
    """The product and its releases newest first, each with whether the customer may download it;
    404 for a product none of the customer's licenses is for."""
    from licensing.dates import today
    from licensing.lifecycle import validity_code
    from licensing.services.updates import entitled

    store = dependencies()[0]
    licenses = [lic for lic in _licenses_of(contact) if lic.product == product]
    found = store.get_product(product)
    if not licenses or found is None:
        raise NotFound("No such product.")
    day = today()
    releases = [
        (release, any(entitled(lic, release, validity_code(lic, day)) for lic in licenses))
        for release in store.list_releases(product)
    ]
    return found, releases


@app.get("/portal/products/<product>")
@customer_page()
def product_page(session: dict[str, Any], contact: Any, product: str) -> Response[str]:
    from licensing.markdown import notes_html

    found, releases = _visible_releases(contact, product)
    rows = [
        {"release": r, "downloadable": ok, "notes_html": notes_html(r.notes_markdown)} for r, ok in releases
    ]
    return page("product", product=found, rows=rows, csrf=session["csrf"], email=contact.email)


@app.get("/portal/products/<product>/releases/<version>/download")
@customer_page()
def download(session: dict[str, Any], contact: Any, product: str, version: str) -> Response[str]:
    from licensing.adapters.s3 import S3Files

    _, releases = _visible_releases(contact, product)
    release = next((r for r, ok in releases if r.version == version and ok), None)
    if release is None:
        raise NotFound("No such release.")
    from licensing.models import HistoryEntry

    store = dependencies()[0]
    for license in _licenses_of(contact):
        if license.product == product:
            entry = HistoryEntry(
                license_id=license.id,
                actor=f"customer:{contact.email}",
                action="downloaded",
                detail={"version": release.version},
                customer_visible=True,
            )
            store.add_history(entry)
            break
    url = S3Files(dependencies()[2].release_bucket).download_url(release.file_key, release.filename)
    return redirect(url)


@app.post("/portal/licenses/<license_id>/sites/deactivate")
@customer_page(post=True)
def deactivate_site(session: dict[str, Any], contact: Any, license_id: str) -> Response[str]:
    """Free a site's slot (e.g. a site that moved), from the license page."""
    from licensing.services.validation import deactivate

    license = _own_license(contact, license_id)
    answer = deactivate(
        dependencies()[0], key=license.key, site=_form().get("site", ""), actor=f"customer:{contact.email}"
    )
    if answer.status == 404:
        raise NotFound("This site is not activated.")
    return redirect(f"/portal/licenses/{license.id}")


def _renewal(license: Any) -> tuple[Any, Any]:
    """The product and the end date a renewal paid today would give."""
    from licensing.dates import add_months, today

    product = dependencies()[0].require_product(license.product)
    return product, add_months(max(today(), license.ends_on), product.term_months)


@app.get("/portal/licenses/<license_id>/renew")
@customer_page()
def renew_page(session: dict[str, Any], contact: Any, license_id: str) -> Response[str]:
    """The renewal page reminder emails link to: the price and the new end date."""
    license = _own_license(contact, license_id)
    product, new_end = _renewal(license)
    return page(
        "renew", license=license, product=product, new_end=new_end, csrf=session["csrf"], email=contact.email
    )


@app.post("/portal/licenses/<license_id>/renew")
@customer_page(post=True)
def renew(session: dict[str, Any], contact: Any, license_id: str) -> Response[str]:
    """303 to a Stripe Checkout page for the renewal (locally, without a Stripe API key, to the dev
    server's stand-in, /_dev/checkout); the paid checkout's webhook extends the license."""
    from urllib.parse import urlencode

    from licensing.errors import LicensingError

    license = _own_license(contact, license_id)
    if license.status.value == "REVOKED":
        raise InvalidInput("A revoked license cannot be renewed.")
    product, _ = _renewal(license)
    if product.renewal_price is None and not product.stripe_price_ids:
        raise LicensingError("This product has no renewal price: contact us to renew.")
    settings = dependencies()[2]
    price = product.renewal_price
    checkout = checkout_client()
    back = f"{settings.public_base_url.rstrip('/')}/portal/licenses/{license.id}"
    if checkout.enabled:
        url = checkout.renewal_checkout(
            license_id=license.id,
            product=product.slug,
            email=contact.email,
            price_id=None if price else product.stripe_price_ids[0],
            amount=price.amount if price else None,
            currency=price.currency if price else None,
            name=f"{product.name}: renewal",
            return_url=back,
        )
        return redirect(url)
    query = {
        "license_id": license.id,
        "product": product.slug,
        "email": contact.email,
        "amount": str(price.amount if price else 0),
        "currency": price.currency if price else "eur",
        "return_url": back,
    }
    return redirect(f"/_dev/checkout?{urlencode(query)}")


@lru_cache(maxsize=1)
def checkout_client() -> Any:
    from licensing.adapters.stripe_api import StripeApi, secret_values

    settings = dependencies()[2]
    api_key = settings.stripe_api_key
    if settings.stripe_api_key_secret_arn:
        api_key = next(iter(secret_values(settings.stripe_api_key_secret_arn)), None)
    return StripeApi(api_key, settings.stripe_api_base)


@app.get("/portal/preferences")
@customer_page()
def preferences_page(session: dict[str, Any], contact: Any) -> Response[str]:
    products = sorted({license.product for license in _licenses_of(contact)})
    choices = [{"slug": slug, "on": slug not in contact.release_mail_opt_out} for slug in products]
    return page("preferences", choices=choices, csrf=session["csrf"], email=contact.email, saved=False)


@app.post("/portal/preferences")
@customer_page(post=True)
def save_preferences(session: dict[str, Any], contact: Any) -> Response[str]:
    """Release mails on or off per licensed product (on by default)."""
    wanted = set(parse_qs(app.current_event.decoded_body or "").get("release_mails", []))
    products = sorted({license.product for license in _licenses_of(contact)})
    store = dependencies()[0]
    for slug in products:
        store.set_release_mails(contact.email, slug, enabled=slug in wanted)
    choices = [{"slug": slug, "on": slug in wanted} for slug in products]
    return page("preferences", choices=choices, csrf=session["csrf"], email=contact.email, saved=True)


# -- release mails ---------------------------------------------------------------------------------


def _subscription(token: str) -> tuple[str, str, str]:
    from licensing.unsubscribe import read_unsubscribe_token

    store, signer, _ = dependencies()
    email, product = read_unsubscribe_token(signer, token)
    found = store.get_product(product)
    return email, product, found.name if found else product


@app.get("/unsubscribe")
def unsubscribe_page() -> Response[str]:
    """A page with one button: the link itself changes nothing (mail scanners follow links)."""
    token = app.current_event.get_query_string_value("token") or ""
    email, _, product_name = _subscription(token)
    return page("unsubscribe", done=False, email=email, product_name=product_name, token=token)


@app.post("/unsubscribe")
def unsubscribe() -> Response[str]:
    """Opt out of a product's release mails: from the page's form, or one-click from a mail client
    (RFC 8058: the token in the link's query string, `List-Unsubscribe=One-Click` in the body)."""
    event = app.current_event
    token = _form().get("token") or event.get_query_string_value("token") or ""
    email, product, product_name = _subscription(token)
    store, _, _ = dependencies()
    store.set_release_mails(email, product, enabled=False)
    logger.info("release mails turned off", extra={"product": product})
    return page("unsubscribe", done=True, email=email, product_name=product_name)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
