"""`licensing keys`: the signing keys that `GET /v1/keys` publishes, and their rotation."""

from __future__ import annotations

import click

from .context import CliContext, StaffGroup, emit, pass_obj

KEY_COLUMNS = ["role", "kid"]


@click.group(cls=StaffGroup)
def keys() -> None:
    """The signing keys of the deployed stage (the `<stage>-licensing/signing-key` secret)."""


def _secret_id(obj: CliContext, secret_id: str | None) -> str:
    if obj.local:
        raise click.ClickException(
            "the local system signs with SIGNING_KEY (a fresh key at each start): nothing to rotate"
        )
    from ..catalogue import deployed_stack_name

    return secret_id or f"{deployed_stack_name()}/signing-key"


def _client() -> object:
    from ..adapters.aws import client

    return client("secretsmanager")


def _rows(keys: dict[str, str]) -> list[dict[str, str]]:
    from ..signing import Signer

    # The seeds never leave the secret: only their public names are shown.
    return [{"role": role, "kid": Signer.from_seed_hex(seed).kid} for role, seed in keys.items()]


_SECRET_OPTION = click.option(
    "--secret-id", default=None, help="The signing-key secret (default: that of LICENSING_STAGE's stack)."
)


@keys.command("list")
@_SECRET_OPTION
@pass_obj
def keys_list(obj: CliContext, secret_id: str | None) -> None:
    """The keys `/v1/keys` lists, the one signing answers first."""
    from ..services import key_rotation

    emit(obj, _rows(key_rotation.read(_client(), _secret_id(obj, secret_id))), KEY_COLUMNS)


@keys.command("rotate")
@_SECRET_OPTION
@pass_obj
def keys_rotate(obj: CliContext, secret_id: str | None) -> None:
    """Take the next step of a rotation that overlaps old and new keys (no flag day):

    \b
    1. add next: a new key is listed beside the current one, answers still signed with the current;
       wait until every extension has fetched /v1/keys again (a week is safe);
    2. promote: answers are signed with the new key, the old one stays listed;
    3. retire: after 30 days (the offline files it signed have run out) the old key goes.

    Warm functions see each step within five minutes (the secrets' TTL).
    """
    from ..services import key_rotation

    target = _secret_id(obj, secret_id)
    secretsmanager = _client()
    step = key_rotation.next_step(key_rotation.read(secretsmanager, target))
    shown = ", ".join(f"{row['role']} {row['kid']}" for row in _rows(step.after))
    obj.confirm(f"{step.name.capitalize()}: the keys become {shown}. Go on?")
    key_rotation.write(secretsmanager, target, step.after)
    emit(obj, _rows(step.after), KEY_COLUMNS)
    click.echo(f"{step.name}: {step.advice}", err=True)
