"""The three secrets exist with generated placeholders, are retained, and their ARNs are outputs."""

from __future__ import annotations

import string
from typing import Any

import pytest

from infra import constants
from tests.infra.conftest import Deployment

SECRETS = (constants.STRIPE_WEBHOOK_SECRET, constants.STRIPE_API_KEY_SECRET, constants.SIGNING_KEY_SECRET)


def _secret(stack: Deployment, construct_id: str) -> tuple[str, dict[str, Any]]:
    logical_id = stack.logical_id(f"{constants.SECRETS}{construct_id}", "AWS::SecretsManager::Secret")
    return logical_id, stack.resources("AWS::SecretsManager::Secret")[logical_id]


@pytest.mark.parametrize("construct_id", SECRETS)
def test_secret_is_generated_retained_and_its_arn_is_an_output(stack: Deployment, construct_id: str) -> None:
    logical_id, secret = _secret(stack, construct_id)
    assert "GenerateSecretString" in secret["Properties"]
    assert "SecretString" not in secret["Properties"]
    assert secret["DeletionPolicy"] == "Retain"
    outputs = stack.json["Outputs"].values()
    assert {"Ref": logical_id} in [output["Value"] for output in outputs]


def test_generated_signing_key_is_a_uniform_256_bit_hex_seed(stack: Deployment) -> None:
    _, secret = _secret(stack, constants.SIGNING_KEY_SECRET)
    generator = secret["Properties"]["GenerateSecretString"]
    assert generator["PasswordLength"] == 64
    assert generator["ExcludePunctuation"] is True
    assert generator["ExcludeUppercase"] is True
    assert generator["IncludeSpace"] is False
    assert generator["RequireEachIncludedType"] is False
    alphabet = set(string.ascii_lowercase + string.digits) - set(generator["ExcludeCharacters"])
    assert alphabet == set(string.hexdigits.lower())
