"""The console's guard: it is an admin surface on the staff member's own machine, so it must not
be reachable from anything but that person's browser (API.md section 4, issue 12 "Security").

- it binds 127.0.0.1 only;
- the URL it opens carries a random one-time token, exchanged for an HttpOnly SameSite=Strict
  session cookie (then a redirect drops the token from the address bar and the history);
- the Host header must name the console itself (a DNS-rebinding page's Host names its own domain);
- every POST comes from the console's own origin and carries the console's CSRF token;
- every answer forbids caching, framing and referrers, and scripts other than the console's file.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from ..errors import Forbidden, InvalidInput

BIND_HOST = "127.0.0.1"
SESSION_COOKIE = "lm_console"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    # Pages show license keys and personal data: nothing is kept in the browser's cache.
    "Cache-Control": "no-store",
}


def check_bind_host(host: str) -> str:
    """The console listens on loopback only: any other address would put an admin surface on a
    network."""
    if host.strip() != BIND_HOST:
        raise InvalidInput(f"the console binds {BIND_HOST} only (not {host!r}): it must not face a network")
    return BIND_HOST


@dataclass
class Guard:
    """The secrets of one console run: the sign-in token (used once), the session and the CSRF
    token. One staff member runs one console; a restart signs everyone out."""

    port: int = 0
    login_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    session: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    token_used: bool = False

    def origins(self) -> set[str]:
        return {f"http://{host}" for host in self.hosts()}

    def hosts(self) -> set[str]:
        return {f"127.0.0.1:{self.port}", f"localhost:{self.port}"}

    def sign_in_url(self) -> str:
        return f"http://{BIND_HOST}:{self.port}/login?token={self.login_token}"

    def check_host(self, host: str | None) -> None:
        if (host or "").lower() not in self.hosts():
            raise Forbidden("This console answers on 127.0.0.1 only.")

    def exchange(self, token: str | None) -> str:
        """The session for the sign-in token, once; a wrong or used token gets nothing."""
        if self.token_used or not token or not secrets.compare_digest(token, self.login_token):
            raise Forbidden(
                "This sign-in link is not valid (it works once): restart `licensing console` for a new one."
            )
        self.token_used = True
        return self.session

    def check_session(self, cookie: str | None) -> None:
        if not cookie or not secrets.compare_digest(cookie, self.session):
            raise Forbidden("Open the console with the link `licensing console` printed.")

    def check_post(self, *, origin: str | None, fetch_site: str | None, csrf: str | None) -> None:
        """A change comes from the console's own page: its origin and its CSRF token. The pages'
        `Referrer-Policy: no-referrer` makes Chromium send `Origin: null` on form posts, so a null
        origin passes only with the browser's own `Sec-Fetch-Site: same-origin`."""
        same_origin = origin in self.origins() or (origin == "null" and fetch_site == "same-origin")
        if not same_origin:
            raise Forbidden("This change did not come from the console's own page.")
        if not csrf or not secrets.compare_digest(csrf, self.csrf):
            raise Forbidden("This form has expired: reload the page and try again.")
