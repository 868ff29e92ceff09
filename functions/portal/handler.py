"""The customer portal (API.md section 3). So far: the unsubscribe links of release mails, which
work without signing in (a signed per-contact token, also RFC 8058 one-click)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from licensing.web import create_resolver

logger = Logger(service="portal")
app = create_resolver(enable_validation=False)
HTML = "text/html; charset=utf-8"


@lru_cache(maxsize=1)
def dependencies() -> tuple[Any, Any, Any]:
    from licensing.adapters.dynamo import DynamoStore
    from licensing.settings import get_settings
    from licensing.signing import load_signer

    settings = get_settings()
    return DynamoStore(settings.table_name), load_signer(), settings


def page(template: str, **context: Any) -> Response[str]:
    from licensing.mail import environment

    _, _, settings = dependencies()
    html = environment(settings.templates_dir).get_template(f"portal/{template}.html")
    return Response(
        status_code=200, content_type=HTML, body=html.render(vendor_name=settings.vendor_name, **context)
    )


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
    form = parse_qs(event.decoded_body or "")
    token = (form.get("token") or [""])[0] or event.get_query_string_value("token") or ""
    email, product, product_name = _subscription(token)
    store, _, _ = dependencies()
    store.set_release_mails(email, product, enabled=False)
    logger.info("release mails turned off", extra={"product": product})
    return page("unsubscribe", done=True, email=email, product_name=product_name)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
