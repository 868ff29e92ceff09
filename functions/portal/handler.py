"""The customer portal (API.md section 3): passwordless sign-in, the customer's licenses and the
versions they may download; the unsubscribe links of release mails; and the 404 of unknown routes.

This module is the web side only (cookies, CSRF, pages, redirects); what the portal does is in
`licensing.services.portal`. Sessions are server-side (hashed tokens), checked at every request;
every POST carries the CSRF token of the page it came from. Errors are pages, never JSON.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.shared.cookies import Cookie, SameSite
from aws_lambda_powertools.utilities.typing import LambdaContext

from licensing import urls, wiring
from licensing.dates import today, utc_now
from licensing.errors import InvalidInput, LicensingError, NotFound
from licensing.models import Contact
from licensing.services import portal
from licensing.web import JSON, create_resolver, error_body, request_id

logger = Logger(service="portal")
app = create_resolver(enable_validation=False, function_logger=logger)
HTML = "text/html; charset=utf-8"
SESSION_COOKIE = "lm_session"
CSRF_COOKIE = "lm_csrf"
# The routes whose answers are pages; anything else unknown answers the contract's JSON 404.
PAGE_PREFIXES = (urls.PORTAL, "/unsubscribe")


# -- requests, cookies, CSRF, pages ----------------------------------------------------------------


def _cookie(name: str) -> str | None:
    for cookie in app.current_event.cookies or []:
        key, _, value = cookie.partition("=")
        if key.strip() == name:
            return value.strip()
    return None


def _form_values() -> dict[str, list[str]]:
    return parse_qs(app.current_event.decoded_body or "")


def _form() -> dict[str, str]:
    return {key: values[0] for key, values in _form_values().items()}


def _cookie_for(name: str, value: str, *, path: str = "/", max_age: int | None = None) -> Cookie:
    """HttpOnly, SameSite=Lax, and Secure wherever the portal is served over https."""
    secure = wiring.settings().public_base_url.startswith("https://")
    return Cookie(
        name=name,
        value=value,
        path=path,
        secure=secure,
        http_only=True,
        max_age=max_age,
        same_site=SameSite.LAX_MODE,
    )


def _csrf_token(session: dict[str, Any] | None) -> tuple[str, list[Cookie]]:
    """The page's CSRF token: the session's, or before sign-in a double-submit cookie's."""
    if session is not None:
        return str(session["csrf"]), []
    existing = _cookie(CSRF_COOKIE)
    if existing:
        return existing, []
    token = secrets.token_urlsafe(24)
    return token, [_cookie_for(CSRF_COOKIE, token, path=urls.PORTAL)]


def _check_csrf(session: dict[str, Any] | None) -> None:
    expected = str(session["csrf"]) if session is not None else _cookie(CSRF_COOKIE)
    if not expected or not secrets.compare_digest(_form().get("csrf", ""), expected):
        raise InvalidInput("This form has expired: reload the page and try again.")


def page(
    template: str, *, status: int = 200, cookies: list[Cookie] | None = None, **context: Any
) -> Response[str]:
    from licensing.mail import environment

    settings = wiring.settings()
    html = environment(settings.templates_dir).get_template(f"portal/{template}.html")
    body = html.render(vendor_name=settings.vendor_name, **context)
    return Response(status_code=status, content_type=HTML, body=body, cookies=cookies or [])


def redirect(location: str, cookies: list[Cookie] | None = None) -> Response[str]:
    return Response(status_code=303, headers={"Location": location}, body="", cookies=cookies or [])


def error_page(status: int, title: str, message: str) -> Response[str]:
    back = (urls.portal_home(), "Back to your licenses") if status != 500 else (urls.login(), "Sign in again")
    response = page(
        "error",
        status=status,
        title=title,
        message=message,
        back_url=back[0],
        back_label=back[1],
        request_id=request_id(app),
    )
    response.headers["X-Request-Id"] = request_id(app)
    return response


def _is_page() -> bool:
    return app.current_event.path.startswith(PAGE_PREFIXES)


@app.exception_handler(LicensingError)
def domain_error(error: LicensingError) -> Response[str]:
    if not _is_page():
        return Response(
            error.status, JSON, error_body(error.code, error.message), {"X-Request-Id": request_id(app)}
        )
    titles = {400: "That did not work", 404: "Not found", 409: "Not possible"}
    return error_page(error.status, titles.get(error.status, "Something went wrong"), error.message)


@app.not_found
def not_found(_: NotFoundError) -> Response[str]:
    if _is_page():
        return error_page(404, "Not found", "There is no such page.")
    return Response(404, JSON, error_body("NOT_FOUND", "No such route."), {"X-Request-Id": request_id(app)})


@app.exception_handler(Exception)
def unexpected_error(error: Exception) -> Response[str]:
    logger.exception("unexpected error", extra={"error_type": type(error).__name__})
    if not _is_page():
        body = error_body("INTERNAL_ERROR", "Something went wrong on our side; try again later.")
        return Response(500, JSON, body, {"X-Request-Id": request_id(app)})
    return error_page(
        500, "Something went wrong", "Something went wrong on our side; please try again later."
    )


def customer_page(
    *, post: bool = False
) -> Callable[[Callable[..., Response[str]]], Callable[..., Response[str]]]:
    """A page of a signed-in customer: the view gets the session and the contact; without a live
    session (or with a contact removed from its accounts) the answer is the sign-in page. A POST's
    CSRF token is checked before the view runs."""

    def decorate(view: Callable[..., Response[str]]) -> Callable[..., Response[str]]:
        @wraps(view)
        def signed_in_view(**path_parameters: str) -> Response[str]:
            token = _cookie(SESSION_COOKIE)
            session = wiring.store().get_session(token) if token else None
            contact = wiring.store().get_contact(str(session["email"])) if session else None
            if session is None or contact is None or not contact.account_ids:
                # Back to this page after signing in (a reminder's renew link); a POST starts over.
                path = app.current_event.path
                return redirect(urls.login(None if post or path in ("/portal", "/portal/") else path))
            if post:
                _check_csrf(session)
            return view(session, contact, **path_parameters)

        return signed_in_view

    return decorate


# -- sign-in ---------------------------------------------------------------------------------------


@app.get("/portal/login")
def login_page() -> Response[str]:
    csrf, cookies = _csrf_token(None)
    next_path = portal.safe_next(app.current_event.get_query_string_value("next"))
    return page("login", csrf=csrf, cookies=cookies, next_path=next_path)


@app.post("/portal/login")
def login() -> Response[str]:
    """The same "check your email" answer whether or not the email is known."""
    _check_csrf(None)
    try:
        email = Contact(email=_form().get("email", "")).email
    except ValueError:
        raise InvalidInput("Enter an email address.") from None
    next_path = portal.safe_next(_form().get("next"))
    sent = portal.request_sign_in(
        wiring.store(), wiring.publisher(), email, now=utc_now(), next_path=next_path
    )
    return page("check_email", email=email, recent=not sent)


@app.get("/portal/auth")
def auth_page() -> Response[str]:
    """One "Sign in" button: following the link uses nothing up (mail scanners follow links)."""
    csrf, cookies = _csrf_token(None)
    token = app.current_event.get_query_string_value("token") or ""
    next_path = portal.safe_next(app.current_event.get_query_string_value("next"))
    return page("auth", token=token, csrf=csrf, cookies=cookies, next_path=next_path)


@app.post("/portal/auth")
def auth() -> Response[str]:
    _check_csrf(None)
    store = wiring.store()
    email = store.consume_token(_form().get("token", ""), purpose="signin")
    if email is None:
        return page("link_expired", status=400)
    landing = portal.safe_next(_form().get("next")) or urls.portal_home()
    return redirect(landing, cookies=[_cookie_for(SESSION_COOKIE, store.create_session(email))])


@app.post("/portal/logout")
def logout() -> Response[str]:
    token = _cookie(SESSION_COOKIE)
    session = wiring.store().get_session(token) if token else None
    if session is not None:  # an ended session has nothing to protect: just leave
        _check_csrf(session)
        wiring.store().end_session(str(token))
    return redirect(urls.login(), cookies=[_cookie_for(SESSION_COOKIE, "", max_age=0)])


# -- the customer's licenses and downloads ---------------------------------------------------------


@app.get("/portal")
@app.get("/portal/")
@customer_page()
def home(session: dict[str, Any], contact: Contact) -> Response[str]:
    store = wiring.store()
    rows = portal.license_rows(store, contact, today())
    names = portal.product_names(store, [row.license for row in rows])
    return page("licenses", rows=rows, names=names, email=contact.email, csrf=session["csrf"])


@app.get("/portal/licenses/<license_id>")
@customer_page()
def license_page(session: dict[str, Any], contact: Contact, license_id: str) -> Response[str]:
    store = wiring.store()
    found = portal.license_detail(store, contact, license_id, today())
    return page(
        "license",
        renewed_from=portal.renewed_from(app.current_event.get_query_string_value("renewed_from")),
        license=found.license,
        product_name=portal.product_names(store, [found.license])[found.license.product],
        code=found.code,
        days_left=found.days_left,
        history=found.history,
        csrf=session["csrf"],
        email=contact.email,
    )


@app.get("/portal/products/<product>")
@customer_page()
def product_page(session: dict[str, Any], contact: Contact, product: str) -> Response[str]:
    found, rows = portal.product_releases(wiring.store(), contact, product, today())
    return page("product", product=found, rows=rows, csrf=session["csrf"], email=contact.email)


@app.get("/portal/products/<product>/releases/<version>/download")
@customer_page()
def download(session: dict[str, Any], contact: Contact, product: str, version: str) -> Response[str]:
    return redirect(
        portal.download_release(wiring.store(), wiring.files(), contact, product, version, today())
    )


@app.post("/portal/licenses/<license_id>/sites/deactivate")
@customer_page(post=True)
def deactivate_site(session: dict[str, Any], contact: Contact, license_id: str) -> Response[str]:
    """Removing a site asks first: the license page's button shows a confirmation page, whose own
    CSRF-protected form (with `confirm`) removes it."""
    form = _form()
    if form.get("confirm") != "yes":
        license = portal.own_license(wiring.store(), contact, license_id)
        site = form.get("site", "")
        if site not in license.sites:
            raise NotFound("This site is not activated.")
        return page("confirm_remove", license=license, site=site, csrf=session["csrf"], email=contact.email)
    license = portal.deactivate_site(wiring.store(), contact, license_id, form.get("site", ""))
    return redirect(urls.license_page(license.id))


@app.get("/portal/licenses/<license_id>/renew")
@customer_page()
def renew_page(session: dict[str, Any], contact: Contact, license_id: str) -> Response[str]:
    """The renewal page reminder emails link to: the price and the new end date."""
    offer = portal.renewal_offer(wiring.store(), contact, license_id, today())
    return page(
        "renew",
        license=offer.license,
        product=offer.product,
        new_end=offer.new_end,
        csrf=session["csrf"],
        email=contact.email,
    )


@app.post("/portal/licenses/<license_id>/renew")
@customer_page(post=True)
def renew(session: dict[str, Any], contact: Contact, license_id: str) -> Response[str]:
    """303 to the checkout page of the renewal; the paid checkout's webhook extends the license. A
    product without an online renewal price (a custom deal) asks the vendor's staff instead."""
    store = wiring.store()
    if not portal.renewal_offer(store, contact, license_id, today()).online:
        offer = portal.request_renewal(store, wiring.publisher(), contact, license_id, today=today())
        return page(
            "renewal_requested",
            license=offer.license,
            product=offer.product,
            email=contact.email,
            csrf=session["csrf"],
        )
    current = portal.own_license(wiring.store(), contact, license_id)
    # Back to the license page, which thanks the customer once the paid renewal has moved the end date.
    back = urls.PublicUrls(wiring.settings().public_base_url).license_page(license_id)
    back += f"?renewed_from={current.ends_on.isoformat()}"
    url = portal.start_renewal(
        wiring.store(), wiring.checkout(), contact, license_id, today=today(), return_url=back
    )
    return redirect(url)


@app.get("/portal/preferences")
@customer_page()
def preferences_page(session: dict[str, Any], contact: Contact) -> Response[str]:
    choices = portal.release_mail_choices(wiring.store(), contact)
    return page("preferences", choices=choices, csrf=session["csrf"], email=contact.email, saved=False)


@app.post("/portal/preferences")
@customer_page(post=True)
def save_preferences(session: dict[str, Any], contact: Contact) -> Response[str]:
    wanted = set(_form_values().get("release_mails", []))
    choices = portal.save_release_mail_choices(wiring.store(), contact, wanted)
    return page("preferences", choices=choices, csrf=session["csrf"], email=contact.email, saved=True)


# -- release mails ---------------------------------------------------------------------------------


@app.get("/unsubscribe")
def unsubscribe_page() -> Response[str]:
    """A page with one button: the link itself changes nothing (mail scanners follow links)."""
    token = app.current_event.get_query_string_value("token") or ""
    found = portal.subscription(wiring.store(), wiring.token_key(), token)
    return page("unsubscribe", done=False, email=found.email, product_name=found.product_name, token=token)


@app.post("/unsubscribe")
def unsubscribe() -> Response[str]:
    """Opt out of a product's release mails: from the page's form, or one-click from a mail client
    (RFC 8058: the token in the link's query string, `List-Unsubscribe=One-Click` in the body)."""
    token = _form().get("token") or app.current_event.get_query_string_value("token") or ""
    found = portal.unsubscribe(wiring.store(), wiring.token_key(), token)
    logger.info("release mails turned off", extra={"product": found.product})
    return page("unsubscribe", done=True, email=found.email, product_name=found.product_name)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
