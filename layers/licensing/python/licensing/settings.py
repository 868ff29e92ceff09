"""Settings read from the environment, once, lazily (never at import time)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field

_LAYER_TEMPLATES = Path("/opt/templates")


def _default_templates_dir() -> str:
    # In the repository the templates sit at the top level; in Lambda the layer puts them in /opt
    # (where this file is /opt/python/licensing/settings.py, with fewer parents).
    parents = Path(__file__).resolve().parents
    repository = parents[4] / "templates" if len(parents) > 4 else None
    return str(repository if repository is not None and repository.is_dir() else _LAYER_TEMPLATES)


class MissingSetting(RuntimeError):
    """The environment lacks a variable the code path needs (a deployment error, not bad input)."""


class Settings(BaseModel):
    # The resources a function uses: the stack sets each one with the right that grants it, the dev
    # server and `licensing --local` set them all. No default: a function missing its table must
    # fail at its first use of it (`require`), not talk to a table of another name.
    table_name: str | None = Field(default=None, alias="LICENSING_TABLE")
    release_bucket: str | None = Field(default=None, alias="RELEASE_BUCKET")
    event_bus_name: str | None = Field(default=None, alias="EVENT_BUS_NAME")
    mail_from: str | None = Field(default=None, alias="MAIL_FROM")
    # The stage's SES configuration set (bounces and complaints to `ses_events`), named on every
    # send; none locally. The stack sets it with `mail_from`.
    ses_configuration_set: str | None = Field(default=None, alias="SES_CONFIGURATION_SET")
    vendor_name: str = Field(default="DevCRM Extensions", alias="VENDOR_NAME")
    # The vendor's staff: told about what needs a person (a paid checkout without an email, a
    # renewal request); the stack sets it from the `staff_email` context, the dev server locally.
    staff_email: str | None = Field(default=None, alias="STAFF_EMAIL")
    # Where the links of mails and answers point, and whether cookies are Secure: the stack sets the
    # API's URL (or the stage's domain), the dev server its own; no default that would send a
    # customer to 127.0.0.1 (read with `require`).
    public_base_url: str | None = Field(default=None, alias="PUBLIC_BASE_URL")
    templates_dir: str = Field(default_factory=_default_templates_dir, alias="TEMPLATES_DIR")
    stripe_webhook_secret: str | None = Field(default=None, alias="STRIPE_WEBHOOK_SECRET")
    stripe_webhook_secret_arn: str | None = Field(default=None, alias="STRIPE_WEBHOOK_SECRET_ARN")
    stripe_api_key: str | None = Field(default=None, alias="STRIPE_API_KEY")
    stripe_api_key_secret_arn: str | None = Field(default=None, alias="STRIPE_API_KEY_SECRET_ARN")
    stripe_api_base: str | None = Field(default=None, alias="STRIPE_API_BASE")
    signing_key_secret_arn: str | None = Field(default=None, alias="SIGNING_KEY_SECRET_ARN")
    signing_key: str | None = Field(default=None, alias="SIGNING_KEY")
    token_key_secret_arn: str | None = Field(default=None, alias="TOKEN_KEY_SECRET_ARN")
    token_key: str | None = Field(default=None, alias="TOKEN_KEY")
    signin_link_days: int = Field(default=7, alias="SIGNIN_LINK_DAYS")
    reminder_days: str = Field(default="30,7,1", alias="REMINDER_DAYS")
    # The most mails per second, below the SES account's own rate (14 for a new production account).
    mail_rate_per_second: float = Field(default=14, gt=0, alias="MAIL_RATE_PER_SECOND")
    # Licenses read per fan-out invocation (one page of the `active` index).
    fanout_page_size: int = Field(default=500, ge=1, le=1000, alias="FANOUT_PAGE_SIZE")
    # The share of the SES daily quota bulk mail may use; the rest stays for keys and sign-in links.
    mail_bulk_daily_share: float = Field(default=0.9, gt=0, le=1, alias="MAIL_BULK_DAILY_SHARE")

    model_config = {"populate_by_name": True, "hide_input_in_errors": True}

    def require(self, name: str) -> str:
        """A setting the caller cannot do without; a clear error naming its variable if unset."""
        value = getattr(self, name)
        if not value:
            alias = type(self).model_fields[name].alias
            raise MissingSetting(f"{alias} is not set: the function was deployed without this resource")
        return str(value)

    @property
    def reminder_days_tuple(self) -> tuple[int, ...]:
        """Days before the end date on which reminders go out (`REMINDER_DAYS`, e.g. "30,7,1")."""
        return tuple(sorted({int(day) for day in self.reminder_days.split(",") if day.strip()}, reverse=True))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    import os

    return Settings.model_validate({k: v for k, v in os.environ.items() if v != ""})


def reset_settings() -> None:
    """Forget the cached settings (tests and the dev server change the environment)."""
    get_settings.cache_clear()
