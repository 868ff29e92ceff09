"""Rotating the signing key on Secrets Manager (moto): `licensing keys rotate` overlaps old and new
keys in `/v1/keys`, and warm functions follow each step once the secrets' TTL has passed."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from licensing import wiring
from licensing.adapters import secrets as secret_adapter
from licensing.cli import main
from licensing.signing import Signer

SECRET_ID = "dev-licensing/signing-key"


class Clock:
    """The secrets cache's clock, moved on by the test instead of waiting five minutes."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def pass_ttl(self) -> None:
        self.now += secret_adapter.TTL_SECONDS + 1


@pytest.fixture
def seed() -> str:
    return secrets.token_hex(32)


@pytest.fixture
def signing_secret(aws: dict[str, Any], seed: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    client = boto3.client("secretsmanager")
    arn = client.create_secret(Name=SECRET_ID, SecretString=seed)["ARN"]
    monkeypatch.setenv("SIGNING_KEY_SECRET_ARN", arn)
    monkeypatch.delenv("LICENSING_STAGE", raising=False)
    wiring.reset()
    yield arn
    client.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
    wiring.reset()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(secret_adapter.secret_values, "clock", clock)
    return clock


def rotate(*extra: str) -> list[dict[str, str]]:
    result = CliRunner().invoke(main, ["--json", "keys", "rotate", "--yes", *extra])
    assert result.exit_code == 0, result.output
    rows: list[dict[str, str]] = json.loads(result.stdout)
    return rows


def published(url: str) -> list[str]:
    return [key["kid"] for key in requests.get(f"{url}/v1/keys", timeout=10).json()["keys"]]


def signed_by(url: str) -> str:
    """The kid of a validation answer, once its signature is verified with that key of /v1/keys."""
    answer = requests.post(
        f"{url}/v1/licenses/validate", json={"key": "NOPE-NOPE", "product": "crm-exporter"}, timeout=10
    )
    kid = answer.headers["X-Signature-Key-Id"]
    keys = {key["kid"]: key for key in requests.get(f"{url}/v1/keys", timeout=10).json()["keys"]}
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(keys[kid]["public_key"]))
    public.verify(base64.b64decode(answer.headers["X-Signature"]), answer.content)
    return kid


def test_a_rotation_adds_the_next_key_promotes_it_then_retires_the_old_one(
    signing_secret: str, seed: str, clock: Clock, gateway_url: str
) -> None:
    old = Signer.from_seed_hex(seed).kid
    assert published(gateway_url) == [old] and signed_by(gateway_url) == old

    added = rotate()
    assert [row["role"] for row in added] == ["current", "next"] and added[0]["kid"] == old
    new = added[1]["kid"]
    assert new != old
    # Warm functions keep the keys they read until the TTL has passed, then read them again.
    assert published(gateway_url) == [old]
    clock.pass_ttl()
    assert published(gateway_url) == [old, new] and signed_by(gateway_url) == old

    assert rotate() == [{"role": "current", "kid": new}, {"role": "previous", "kid": old}]
    clock.pass_ttl()
    assert published(gateway_url) == [new, old] and signed_by(gateway_url) == new

    assert rotate() == [{"role": "current", "kid": new}]
    clock.pass_ttl()
    assert published(gateway_url) == [new] and signed_by(gateway_url) == new
    listed = CliRunner().invoke(main, ["--json", "keys", "list"])
    assert json.loads(listed.stdout) == [{"role": "current", "kid": new}]
    # The seeds themselves never reach the output.
    stored = boto3.client("secretsmanager").get_secret_value(SecretId=SECRET_ID)["SecretString"]
    assert json.loads(stored)["current"] not in listed.output


def test_a_secret_the_rotation_cannot_read_is_refused_and_left_as_it_was(signing_secret: str) -> None:
    client = boto3.client("secretsmanager")
    two_bare = f"{secrets.token_hex(32)},{secrets.token_hex(32)}"
    short_seed = json.dumps({"current": secrets.token_hex(16)})
    for unreadable, says in ((two_bare, "several bare values"), (short_seed, "current seed is not usable")):
        client.put_secret_value(SecretId=SECRET_ID, SecretString=unreadable)
        for arguments in (["keys", "rotate", "--yes"], ["--local", "keys", "rotate", "--yes"]):
            result = CliRunner().invoke(main, arguments)
            assert result.exit_code != 0 and len(result.stderr.strip().splitlines()) == 1, result.output
            # The stage's secret says what is wrong with it; the local system has no secret to rotate.
            assert (says if arguments[0] == "keys" else "nothing to rotate") in result.stderr
        assert client.get_secret_value(SecretId=SECRET_ID)["SecretString"] == unreadable
    # Answering no to the confirmation changes nothing either.
    one = secrets.token_hex(32)
    client.put_secret_value(SecretId=SECRET_ID, SecretString=one)
    unanswered = CliRunner().invoke(main, ["keys", "rotate"], input="n\n")
    assert unanswered.exit_code != 0
    assert client.get_secret_value(SecretId=SECRET_ID)["SecretString"] == one
