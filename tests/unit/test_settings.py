"""A function deployed without one of its resources fails at its first use, naming the variable,
rather than talking to a resource of a default name."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from licensing import wiring
from licensing.settings import MissingSetting


@pytest.fixture
def fresh() -> Iterator[None]:
    wiring.reset()
    yield
    wiring.reset()


@pytest.mark.parametrize(
    ("variable", "getter"),
    [
        ("LICENSING_TABLE", wiring.store),
        ("EVENT_BUS_NAME", wiring.publisher),
        ("RELEASE_BUCKET", wiring.files),
        ("MAIL_FROM", wiring.mailer),
        # The links of mails and answers: never a default that sends a customer to 127.0.0.1.
        ("PUBLIC_BASE_URL", lambda: wiring.settings().require("public_base_url")),
    ],
)
def test_a_missing_resource_variable_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, fresh: None, variable: str, getter: object
) -> None:
    monkeypatch.delenv(variable)
    with pytest.raises(MissingSetting, match=variable):
        getter()  # type: ignore[operator]


def test_with_its_variable_set_the_store_names_that_table(
    monkeypatch: pytest.MonkeyPatch, fresh: None
) -> None:
    monkeypatch.setenv("LICENSING_TABLE", "prod-licensing-table")
    assert wiring.store().table_name == "prod-licensing-table"


@pytest.mark.parametrize(
    ("variable", "getter"), [("SIGNING_KEY", wiring.signer), ("TOKEN_KEY", wiring.token_key)]
)
def test_a_missing_or_unusable_key_is_a_deployment_error_naming_its_variable(
    monkeypatch: pytest.MonkeyPatch, fresh: None, variable: str, getter: object
) -> None:
    monkeypatch.delenv(variable)
    with pytest.raises(MissingSetting, match=rf"{variable}_SECRET_ARN \(or {variable} locally\) is not set"):
        getter()  # type: ignore[operator]
    wiring.reset()
    short = "ab" * 8
    monkeypatch.setenv(variable, short)
    with pytest.raises(MissingSetting, match=f"{variable} does not hold a usable key") as refused:
        getter()  # type: ignore[operator]
    assert short not in str(refused.value)


def test_a_webhook_without_its_secret_is_a_deployment_error() -> None:
    from licensing.adapters.stripe_api import verify_event

    with pytest.raises(MissingSetting, match="STRIPE_WEBHOOK_SECRET"):
        verify_event(b"{}", "t=1,v1=00", ())
