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
