"""Server-rendered pages behind a Powertools resolver: cookies, forms, the CSRF rule, pages with
their security headers, redirects and error pages that are pages (never JSON to a browser).

The portal's handler holds only its routes; everything a browser-facing function needs around them
is here, once.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from . import urls, wiring
from .errors import InvalidInput, LicensingError
from .http import no_such_route
from .mail import environment  # and jinja2, in the init phase: nearly every answer is a page
from .models import Contact, PortalSession
from .services import portal
from .web import JSON, error_body, request_id

HTML = "text/html; charset=utf-8"

# Where a page's forms may go: this system, and Stripe Checkout (a renewal's form answers with a
# redirect there, which browsers check against form-action too).
FORM_TARGETS = "'self' https://checkout.stripe.com"

ERROR_TITLES = {400: "That did not work", 404: "Not found", 409: "Not possible"}


def security_headers(nonce: str) -> dict[str, str]:
    """No script at all, only the page's own style block (by nonce), no framing, no referrer (a
    sign-in link's token must not leak to another site), and nothing kept in a cache: pages show
    license keys."""
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'nonce-{nonce}'; img-src 'self' data:; "
            f"form-action {FORM_TARGETS}; frame-ancestors 'none'; base-uri 'none'"
        ),
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }


class Pages:
    """The web side of one resolver whose answers under `page_prefixes` are HTML pages rendered
    from `templates/<folder>/`; other paths keep the contract's JSON errors."""

    def __init__(
        self,
        app: APIGatewayHttpResolver,
        *,
        folder: str,
        page_prefixes: tuple[str, ...],
        logger: Logger,
        back: tuple[str, str] = ("/", "Back"),
        back_after_failure: tuple[str, str] | None = None,
    ) -> None:
        """`back` is the error pages' way back (address, label); `back_after_failure` that of the 500
        page, when starting over elsewhere suits it better."""
        self.app = app
        self.folder = folder
        self.page_prefixes = page_prefixes
        self.logger = logger
        self.back = back
        self.back_after_failure = back_after_failure
        self._install_error_handlers()

    # -- the request ---------------------------------------------------------------------------

    def cookie(self, name: str) -> str | None:
        for cookie in self.app.current_event.cookies or []:
            key, _, value = cookie.partition("=")
            if key.strip() == name:
                return value.strip()
        return None

    def form_values(self) -> dict[str, list[str]]:
        return parse_qs(self.app.current_event.decoded_body or "")

    def form(self) -> dict[str, str]:
        return {key: values[0] for key, values in self.form_values().items()}

    def query(self, name: str) -> str | None:
        return self.app.current_event.get_query_string_value(name)

    # -- cookies and CSRF ----------------------------------------------------------------------

    def cookie_for(self, name: str, value: str, *, path: str = "/", max_age: int | None = None) -> Cookie:
        """HttpOnly, SameSite=Lax, and Secure wherever the pages are served over https."""
        return Cookie(
            name=name,
            value=value,
            path=path,
            secure=wiring.settings().require("public_base_url").startswith("https://"),
            http_only=True,
            max_age=max_age,
            same_site=SameSite.LAX_MODE,
        )

    def csrf_token(self, expected: str | None, cookie: str, path: str) -> tuple[str, list[Cookie]]:
        """The page's CSRF token: the session's (`expected`), or before sign-in a double-submit
        cookie's, set now if the browser has none."""
        if expected:
            return expected, []
        existing = self.cookie(cookie)
        if existing:
            return existing, []
        token = secrets.token_urlsafe(24)
        return token, [self.cookie_for(cookie, token, path=path)]

    def check_csrf(self, expected: str | None) -> None:
        """A POST must carry the token of the page it came from."""
        if not expected or not secrets.compare_digest(self.form().get("csrf", ""), expected):
            raise InvalidInput("This form has expired: reload the page and try again.")

    # -- answers -------------------------------------------------------------------------------

    def page(
        self, template: str, *, status: int = 200, cookies: list[Cookie] | None = None, **context: Any
    ) -> Response[str]:
        settings = wiring.settings()
        nonce = secrets.token_urlsafe(16)
        html = environment(settings.templates_dir).get_template(f"{self.folder}/{template}.html")
        body = html.render(vendor_name=settings.vendor_name, csp_nonce=nonce, **context)
        return Response(
            status_code=status,
            content_type=HTML,
            body=body,
            cookies=cookies or [],
            headers=security_headers(nonce),
        )

    @staticmethod
    def redirect(location: str, cookies: list[Cookie] | None = None) -> Response[str]:
        return Response(status_code=303, headers={"Location": location}, body="", cookies=cookies or [])

    def error_page(
        self, status: int, title: str, message: str, back: tuple[str, str] | None = None
    ) -> Response[str]:
        back_url, back_label = back or self.back
        response = self.page(
            "error",
            status=status,
            title=title,
            message=message,
            back_url=back_url,
            back_label=back_label,
            request_id=request_id(self.app),
        )
        response.headers["X-Request-Id"] = request_id(self.app)
        return response

    def is_page(self) -> bool:
        return self.app.current_event.path.startswith(self.page_prefixes)

    def _json_error(self, status: int, code: str, message: str) -> Response[str]:
        return Response(status, JSON, error_body(code, message), {"X-Request-Id": request_id(self.app)})

    def _install_error_handlers(self) -> None:
        app = self.app

        @app.exception_handler(LicensingError)
        def domain_error(error: LicensingError) -> Response[str]:
            if not self.is_page():
                return self._json_error(error.status, error.code, error.message)
            title = ERROR_TITLES.get(error.status, "Something went wrong")
            return self.error_page(error.status, title, error.message)

        @app.not_found
        def not_found(_: NotFoundError) -> Response[str]:
            if self.is_page():
                return self.error_page(404, "Not found", "There is no such page.")
            return domain_error(no_such_route())

        @app.exception_handler(Exception)
        def unexpected_error(error: Exception) -> Response[str]:
            self.logger.exception("unexpected error", extra={"error_type": type(error).__name__})
            message = "Something went wrong on our side; please try again later."
            if not self.is_page():
                return self._json_error(500, "INTERNAL_ERROR", message)
            return self.error_page(500, "Something went wrong", message, back=self.back_after_failure)


@dataclass(frozen=True)
class Visit:
    """A signed-in customer's request: their session and contact."""

    session: PortalSession
    contact: Contact
    pages: CustomerPages

    def page(self, template: str, **context: Any) -> Response[str]:
        """A page with the sign-out form (the session's CSRF token) and the customer's email."""
        return self.pages.page(template, csrf=self.session.csrf, email=self.contact.email, **context)


View = Callable[..., Response[str]]


class CustomerPages(Pages):
    """Pages of customers who sign in by email link: a server-side session (hashed token) checked
    at every request, and before sign-in a double-submit CSRF cookie."""

    SESSION_COOKIE = "lm_session"
    CSRF_COOKIE = "lm_csrf"

    def signed_out_csrf(self) -> tuple[str, list[Cookie]]:
        return self.csrf_token(None, self.CSRF_COOKIE, urls.PORTAL)

    def check_signed_out_csrf(self) -> None:
        self.check_csrf(self.cookie(self.CSRF_COOKIE))

    def customer_page(self, *, post: bool = False) -> Callable[[View], View]:
        """A page of a signed-in customer: the view gets the visit; without a live session (or with
        a contact removed from its accounts) the answer is the sign-in page. A POST's CSRF token is
        checked before the view runs."""

        def decorate(view: View) -> View:
            @wraps(view)
            def signed_in_view(**path_parameters: str) -> Response[str]:
                visitor = portal.signed_in(wiring.store(), self.cookie(self.SESSION_COOKIE))
                if visitor is None:
                    # Back to this page after signing in (a reminder's renew link); a POST starts over.
                    path = self.app.current_event.path
                    return self.redirect(
                        urls.login(None if post or path in (urls.PORTAL, urls.portal_home()) else path)
                    )
                if post:
                    self.check_csrf(visitor.session.csrf)
                return view(Visit(visitor.session, visitor.contact, self), **path_parameters)

            return signed_in_view

        return decorate
