"""Rotating the signing key without a flag day (`licensing keys rotate`).

Installed extensions verify answers with the keys of `GET /v1/keys`, which lists every value of the
signing-key secret; answers are signed with the first. The secret holds a JSON object whose names
say where a rotation stands, and each run of `rotate` takes the next step:

1. ``{"current": A}`` (or a bare seed): **add next** -> ``{"current": A, "next": B}``. Answers are
   still signed with A; `/v1/keys` lists A and B. Wait until every extension has fetched the keys
   again (the PHP client does at each start without a cached key, and when it meets an unknown kid).
2. ``{"current": A, "next": B}``: **promote** -> ``{"current": B, "previous": A}``. Answers are signed
   with B; A stays listed, so offline license files and cached answers signed with A still verify.
3. ``{"current": B, "previous": A}``: **retire** -> ``{"current": B}``, once A's offline files have
   run out (30 days at most).

Warm functions see each step within the secrets' TTL (five minutes); no deploy is needed.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from ..errors import InvalidInput
from ..signing import Signer

CURRENT, NEXT, PREVIOUS = "current", "next", "previous"


@dataclass(frozen=True)
class Step:
    name: str  # "add next", "promote", "retire"
    before: dict[str, str]
    after: dict[str, str]
    advice: str

    def kids(self, keys: dict[str, str]) -> dict[str, str]:
        return {role: Signer.from_seed_hex(seed).kid for role, seed in keys.items()}


def parse(secret_text: str) -> dict[str, str]:
    """The roles and seeds a signing-key secret holds; InvalidInput for anything else."""
    text = secret_text.strip()
    if not text.startswith("{"):
        values = [value.strip() for value in text.replace("\n", ",").split(",") if value.strip()]
        if len(values) != 1:
            raise InvalidInput("the signing-key secret holds several bare values: write it as JSON roles")
        keys = {CURRENT: values[0]}
    else:
        loaded = json.loads(text)
        if not isinstance(loaded, dict) or not all(isinstance(v, str) for v in loaded.values()):
            raise InvalidInput("the signing-key secret is not a JSON object of seeds")
        keys = dict(loaded)
    if (
        CURRENT not in keys
        or next(iter(keys)) != CURRENT
        or set(keys) - {CURRENT, NEXT, PREVIOUS}
        or len(keys) > 2
    ):
        raise InvalidInput(f"the signing-key secret has unexpected roles: {', '.join(keys)}")
    for role, seed in keys.items():
        try:
            Signer.from_seed_hex(seed)
        except ValueError as error:
            raise InvalidInput(f"the signing-key secret's {role} seed is not usable: {error}") from None
    return keys


def next_step(keys: dict[str, str], new_seed: str | None = None) -> Step:
    """The next step of the rotation from where the secret stands."""
    if NEXT in keys:
        after = {CURRENT: keys[NEXT], PREVIOUS: keys[CURRENT]}
        advice = (
            "Answers are now signed with the new key; the old one stays listed for the offline files "
            "it signed. Run `licensing keys rotate` again in 30 days to retire it."
        )
        return Step("promote", keys, after, advice)
    if PREVIOUS in keys:
        advice = "The rotation is complete: only the current key is listed."
        return Step("retire", keys, {CURRENT: keys[CURRENT]}, advice)
    seed = new_seed or secrets.token_hex(32)
    advice = (
        "The next key is listed by /v1/keys; answers are still signed with the current one. Once every "
        "extension has fetched the keys again (a week is safe), run `licensing keys rotate` to promote it."
    )
    return Step("add next", keys, {CURRENT: keys[CURRENT], NEXT: seed}, advice)


def read(secretsmanager: object, secret_id: str) -> dict[str, str]:
    answer = secretsmanager.get_secret_value(SecretId=secret_id)  # type: ignore[attr-defined]
    return parse(str(answer.get("SecretString", "")))


def write(secretsmanager: object, secret_id: str, keys: dict[str, str]) -> None:
    secretsmanager.put_secret_value(SecretId=secret_id, SecretString=json.dumps(keys))  # type: ignore[attr-defined]
