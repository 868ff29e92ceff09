"""The customer portal (API.md section 3): passwordless sign-in, the customer's licenses and the
versions they may download; the unsubscribe links of release mails; and the 404 of unknown routes.

This module is the web side only (cookies, CSRF, pages, redirects); what the portal does is in
`licensing.services.portal`. Sessions are server-side (hashed tokens), checked at every request;
every POST carries the CSRF token of the page it came from. Errors are pages, never JSON.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

# The adapters it uses, imported in Lambda's init phase rather than in the first request.
import licensing.adapters.dynamo
import licensing.adapters.events
import licensing.adapters.s3  # noqa: F401
from licensing import urls, wiring
from licensing.dates import today, utc_now
from licensing.errors import InvalidInput
from licensing.models import Contact
from licensing.pages import CustomerPages, Visit
from licensing.services import portal
from licensing.web import create_resolver

logger = Logger(service="portal")
app = create_resolver(enable_validation=False, function_logger=logger)
# The routes whose answers are pages; anything else unknown answers the contract's JSON 404.
web = CustomerPages(
    app,
    folder="portal",
    page_prefixes=(urls.PORTAL, "/unsubscribe"),
    logger=logger,
    back=(urls.portal_home(), "Back to your licenses"),
    back_after_failure=(urls.login(), "Sign in again"),
)
page, redirect = web.page, web.redirect


# -- sign-in ---------------------------------------------------------------------------------------


@app.get("/portal/login")
def login_page() -> Response[str]:
    csrf, cookies = web.signed_out_csrf()
    return page("login", csrf=csrf, cookies=cookies, next_path=portal.safe_next(web.query("next")))


@app.post("/portal/login")
def login() -> Response[str]:
    """The same "check your email" answer whether or not the email is known."""
    web.check_signed_out_csrf()
    try:
        email = Contact(email=web.form().get("email", "")).email
    except ValueError:
        raise InvalidInput("Enter an email address.") from None
    next_path = portal.safe_next(web.form().get("next"))
    sent = portal.request_sign_in(
        wiring.store(), wiring.publisher(), email, now=utc_now(), next_path=next_path
    )
    return page("check_email", email=email, recent=not sent)


@app.get("/portal/auth")
def auth_page() -> Response[str]:
    """One "Sign in" button: following the link uses nothing up (mail scanners follow links)."""
    csrf, cookies = web.signed_out_csrf()
    next_path = portal.safe_next(web.query("next"))
    return page("auth", token=web.query("token") or "", csrf=csrf, cookies=cookies, next_path=next_path)


@app.post("/portal/auth")
def auth() -> Response[str]:
    web.check_signed_out_csrf()
    session_token = portal.sign_in(wiring.store(), web.form().get("token", ""))
    if session_token is None:
        return page("link_expired", status=400)
    landing = portal.safe_next(web.form().get("next")) or urls.portal_home()
    return redirect(landing, cookies=[web.cookie_for(web.SESSION_COOKIE, session_token)])


@app.post("/portal/logout")
def logout() -> Response[str]:
    token = web.cookie(web.SESSION_COOKIE)
    session = portal.live_session(wiring.store(), token)
    if token and session is not None:  # an ended session has nothing to protect: just leave
        web.check_csrf(session.csrf)
        portal.sign_out(wiring.store(), token)
    return redirect(urls.login(), cookies=[web.cookie_for(web.SESSION_COOKIE, "", max_age=0)])


# -- the customer's licenses and downloads ---------------------------------------------------------


@app.get("/portal")
@app.get("/portal/")
@web.customer_page()
def home(visit: Visit) -> Response[str]:
    rows = portal.license_rows(wiring.store(), visit.contact, today())
    names = portal.product_names(wiring.store(), [row.license for row in rows])
    return visit.page("licenses", rows=rows, names=names)


@app.get("/portal/licenses/<license_id>")
@web.customer_page()
def license_page(visit: Visit, license_id: str) -> Response[str]:
    found = portal.license_detail(wiring.store(), visit.contact, license_id, today())
    return visit.page(
        "license",
        renewed_from=portal.renewed_from(web.query("renewed_from")),
        license=found.license,
        product_name=portal.product_names(wiring.store(), [found.license])[found.license.product],
        code=found.code,
        days_left=found.days_left,
        history=found.history,
    )


@app.get("/portal/products/<product>")
@web.customer_page()
def product_page(visit: Visit, product: str) -> Response[str]:
    found, rows = portal.product_releases(wiring.store(), visit.contact, product, today())
    return visit.page("product", product=found, rows=rows)


@app.get("/portal/products/<product>/releases/<version>/download")
@web.customer_page()
def download(visit: Visit, product: str, version: str) -> Response[str]:
    store, files = wiring.store(), wiring.files()
    return redirect(portal.download_release(store, files, visit.contact, product, version, today()))


@app.post("/portal/licenses/<license_id>/sites/deactivate")
@web.customer_page(post=True)
def deactivate_site(visit: Visit, license_id: str) -> Response[str]:
    """Removing a site asks first: the license page's button shows a confirmation page, whose own
    CSRF-protected form (with `confirm`) removes it."""
    site = web.form().get("site", "")
    if web.form().get("confirm") != "yes":
        license = portal.activated_site(wiring.store(), visit.contact, license_id, site)
        return visit.page("confirm_remove", license=license, site=site)
    license = portal.deactivate_site(wiring.store(), visit.contact, license_id, site)
    return redirect(urls.license_page(license.id))


@app.get("/portal/licenses/<license_id>/renew")
@web.customer_page()
def renew_page(visit: Visit, license_id: str) -> Response[str]:
    """The renewal page reminder emails link to: the price and the new end date."""
    offer = portal.renewal_offer(wiring.store(), visit.contact, license_id, today())
    return visit.page("renew", license=offer.license, product=offer.product, new_end=offer.new_end)


@app.post("/portal/licenses/<license_id>/renew")
@web.customer_page(post=True)
def renew(visit: Visit, license_id: str) -> Response[str]:
    """303 to the checkout page of the renewal; the paid checkout's webhook extends the license. A
    product without an online renewal price (a custom deal) asks the vendor's staff instead."""
    store, contact = wiring.store(), visit.contact
    if not portal.renewal_offer(store, contact, license_id, today()).online:
        offer = portal.request_renewal(store, wiring.publisher(), contact, license_id, today=today())
        return visit.page("renewal_requested", license=offer.license, product=offer.product)
    base_url = wiring.settings().require("public_base_url")
    return redirect(portal.start_renewal(store, wiring.checkout(), contact, license_id, today(), base_url))


@app.get("/portal/preferences")
@web.customer_page()
def preferences_page(visit: Visit) -> Response[str]:
    choices = portal.release_mail_choices(wiring.store(), visit.contact)
    return visit.page("preferences", choices=choices, saved=False)


@app.post("/portal/preferences")
@web.customer_page(post=True)
def save_preferences(visit: Visit) -> Response[str]:
    wanted = set(web.form_values().get("release_mails", []))
    choices = portal.save_release_mail_choices(wiring.store(), visit.contact, wanted)
    return visit.page("preferences", choices=choices, saved=True)


# -- release mails ---------------------------------------------------------------------------------


@app.get("/unsubscribe")
def unsubscribe_page() -> Response[str]:
    """A page with one button: the link itself changes nothing (mail scanners follow links)."""
    token = web.query("token") or ""
    found = portal.subscription(wiring.store(), wiring.token_key(), token)
    return page("unsubscribe", done=False, email=found.email, product_name=found.product_name, token=token)


@app.post("/unsubscribe")
def unsubscribe() -> Response[str]:
    """Opt out of a product's release mails: from the page's form, or one-click from a mail client
    (RFC 8058: the token in the link's query string, `List-Unsubscribe=One-Click` in the body)."""
    token = web.form().get("token") or web.query("token") or ""
    found = portal.unsubscribe(wiring.store(), wiring.token_key(), token)
    logger.info("release mails turned off", extra={"product": found.product})
    return page("unsubscribe", done=True, email=found.email, product_name=found.product_name)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
