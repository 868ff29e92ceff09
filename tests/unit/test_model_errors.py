"""A refused value stays out of a validation error's message, and so out of any logged traceback
(an email Stripe accepted and our rule refuses, a mistyped key): the error still names the field
and the reason, which is what the CLI, the console and the API's `details` show."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

import pytest
from pydantic import BaseModel, ValidationError

import licensing
from licensing.license_api.models import ValidateRequest
from licensing.models import Contact
from licensing.settings import Settings

ODD_EMAIL = "bea.buyer@@acme-ltd.test"
LONG_KEY = "LIC-" + "Q7" * 200


@pytest.mark.parametrize(
    ("build", "secret", "field"),
    [
        (lambda: Contact(email=ODD_EMAIL), ODD_EMAIL, "email"),
        (lambda: ValidateRequest(key=LONG_KEY), LONG_KEY, "key"),
        (
            lambda: Settings.model_validate({"MAIL_RATE_PER_SECOND": "-7.123456"}),
            "-7.123456",
            "MAIL_RATE_PER_SECOND",
        ),
    ],
)
def test_a_refused_value_is_not_in_the_message_but_its_field_is(
    build: Callable[[], object], secret: str, field: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        build()
    assert secret not in str(raised.value)
    assert field in str(raised.value)
    assert raised.value.errors()[0]["loc"] == (field,)


def test_every_model_of_the_package_hides_refused_values() -> None:
    for module in pkgutil.walk_packages(licensing.__path__, "licensing."):
        importlib.import_module(module.name)
    models = [model for model in _subclasses(BaseModel) if model.__module__.startswith("licensing.")]
    assert len(models) > 30  # the domain, events, requests, answers, settings
    leaking = [model.__qualname__ for model in models if not model.model_config.get("hide_input_in_errors")]
    assert leaking == []


def _subclasses(base: type[BaseModel]) -> set[type[BaseModel]]:
    found: set[type[BaseModel]] = set()
    child: type[BaseModel]
    for child in base.__subclasses__():
        found |= {child, *_subclasses(child)}
    return found
