"""The one composition root: the real dependencies of every function, each built once per warm
process by a typed, cached getter, never at import time.

Handlers receive them the Powertools way (`Annotated[DynamoStore, Depends(wiring.store)]`, replaced
in tests with `app.dependency_overrides`) or call the getters directly (queue workers, jobs).
`reset()` forgets them all, for tests, the dev server and the staff CLI, which change the environment.
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import TYPE_CHECKING

from .settings import MissingSetting, Settings, get_settings, reset_settings

if TYPE_CHECKING:
    from .adapters.dynamo import DynamoStore
    from .adapters.events import EventBridgePublisher
    from .adapters.s3 import S3Files
    from .adapters.ses import SesMailer
    from .adapters.sqs import SqsQueues
    from .adapters.stripe_api import StripeApi, WebhookSecrets
    from .checkout import CheckoutPort
    from .services.pacing import DailyQuota, Pacer
    from .services.purchases import Purchases
    from .signing import Signer
    from .tokens import TokenKey


def settings() -> Settings:
    return get_settings()


@cache
def store() -> DynamoStore:
    from .adapters.dynamo import DynamoStore

    return DynamoStore(settings().require("table_name"))


@cache
def publisher() -> EventBridgePublisher:
    from .adapters.events import EventBridgePublisher

    return EventBridgePublisher(settings().require("event_bus_name"))


@cache
def files() -> S3Files:
    from .adapters.s3 import S3Files

    return S3Files(settings().require("release_bucket"))


@cache
def mailer() -> SesMailer:
    from .adapters.ses import SesMailer

    current = settings()
    return SesMailer(current.require("mail_from"), configuration_set=current.ses_configuration_set)


@cache
def queues() -> SqsQueues:
    """The queues a function receives from (a notifier hands a deferred mail back to its queue)."""
    from .adapters.sqs import SqsQueues

    return SqsQueues()


@cache
def daily_quota() -> DailyQuota:
    """The SES daily quota as this process last read it (once a minute)."""
    from .adapters.aws import client
    from .services.pacing import DailyQuota, read_quota

    return DailyQuota(lambda: read_quota(client("sesv2")), bulk_share=settings().mail_bulk_daily_share)


@cache
def pacer() -> Pacer:
    """The send schedule every worker shares: the configured rate, or the account's if lower."""
    from .services.pacing import Pacer, send_rate

    rate = send_rate(settings().mail_rate_per_second, daily_quota().quota())
    return Pacer(store(), rate_per_second=rate)


def signing_keys() -> tuple[Signer, ...]:
    """The deployment's signing keys, the current one first, then the next or previous one of a
    rotation (`licensing keys rotate`): their seeds from Secrets Manager in AWS (read again after
    the secrets' TTL, so a rotation reaches warm functions), `SIGNING_KEY` locally. MissingSetting
    when there is none or one is not a key (a deployment error, not one to retry)."""
    from .adapters.secrets import resolve_all

    current = settings()
    seeds = resolve_all(current.signing_key, current.signing_key_secret_arn)
    if not seeds:
        raise _key_missing("a signing key", "signing_key", "signing_key_secret_arn")
    try:
        return tuple(_signer_of(seed) for seed in seeds)
    except ValueError as error:
        raise _key_unusable(error, "signing_key", "signing_key_secret_arn") from None


def signer() -> Signer:
    """The key that signs answers now: the first of `signing_keys()`."""
    return signing_keys()[0]


@lru_cache(maxsize=4)
def _signer_of(seed_hex: str) -> Signer:
    from .signing import Signer

    return Signer.from_seed_hex(seed_hex)


def token_key() -> TokenKey:
    """The HMAC key of download and unsubscribe tokens: from Secrets Manager in AWS (read again
    after the secrets' TTL), `TOKEN_KEY` locally; apart from the signing key, so that the portal and
    the notifier never hold that. MissingSetting when it is not set or not a key."""
    from .adapters.secrets import resolve

    current = settings()
    key_hex = resolve(current.token_key, current.token_key_secret_arn)
    if not key_hex:
        raise _key_missing("the token key", "token_key", "token_key_secret_arn")
    try:
        return _token_key_of(key_hex)
    except ValueError as error:
        raise _key_unusable(error, "token_key", "token_key_secret_arn") from None


@lru_cache(maxsize=2)
def _token_key_of(key_hex: str) -> TokenKey:
    from .tokens import TokenKey

    return TokenKey.from_hex(key_hex)


def _key_missing(what: str, plain: str, secret_arn: str) -> MissingSetting:
    names = Settings.model_fields
    if getattr(settings(), secret_arn):
        return MissingSetting(f"the secret at {names[secret_arn].alias} holds no value: {what} is needed")
    return MissingSetting(
        f"{names[secret_arn].alias} (or {names[plain].alias} locally) is not set: {what} is needed"
    )


def _key_unusable(error: ValueError, plain: str, secret_arn: str) -> MissingSetting:
    # The message says what a key looks like, never the value.
    name = Settings.model_fields[secret_arn if getattr(settings(), secret_arn) else plain].alias
    return MissingSetting(f"{name} does not hold a usable key: {error}")


@cache
def stripe() -> StripeApi:
    """The Stripe API (read-only calls and the renewal's Checkout Session); disabled without a key."""
    from .adapters.secrets import resolve
    from .adapters.stripe_api import StripeApi

    current = settings()
    api_key = resolve(current.stripe_api_key, current.stripe_api_key_secret_arn)
    return StripeApi(api_key, current.stripe_api_base)


@cache
def webhook_secrets() -> WebhookSecrets:
    from .adapters.stripe_api import WebhookSecrets

    current = settings()
    return WebhookSecrets(current.stripe_webhook_secret_arn, current.stripe_webhook_secret)


@cache
def purchases() -> Purchases:
    """The Stripe purchases service of the webhook."""
    from .dates import today
    from .services.purchases import Purchases

    return Purchases(store=store(), events=publisher(), stripe=stripe(), today=today)


_checkout_override: CheckoutPort | None = None


def checkout() -> CheckoutPort:
    """Where a renewal is paid: Stripe Checkout, or the stand-in that the dev server provides."""
    if _checkout_override is not None:
        return _checkout_override
    from .checkout import StripeCheckout

    return StripeCheckout(stripe())


def provide_checkout(port: CheckoutPort | None) -> None:
    """The dev server's local checkout stand-in (production never calls this)."""
    global _checkout_override
    _checkout_override = port


_GETTERS = (
    store,
    publisher,
    files,
    mailer,
    queues,
    daily_quota,
    pacer,
    _signer_of,
    _token_key_of,
    stripe,
    webhook_secrets,
    purchases,
)


def reset() -> None:
    """Forget every built dependency, the settings and the AWS clients. A checkout stand-in given
    with `provide_checkout` stays: it is not built from the environment, and the dev server that
    gives it resets the rest whenever its environment changes."""
    from .adapters.aws import reset_clients
    from .adapters.secrets import secret_values

    for getter in _GETTERS:
        getter.cache_clear()
    secret_values.cache_clear()
    reset_settings()
    reset_clients()
