"""Release versions: a sort key so that a Query returns releases newest first, and host checks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from packaging.version import InvalidVersion, Version

from .errors import InvalidInput

if TYPE_CHECKING:
    from packaging.specifiers import SpecifierSet

_PRE_ORDER = {"a": "1", "b": "2", "rc": "3"}


def parse_version(text: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion as error:
        raise InvalidInput(f"'{text}' is not a version (use e.g. 1.2.0)") from error


def version_sort_key(text: str) -> str:
    """A string that sorts like the version: 1.10.0 after 1.9.0, 2.0.0rc1 before 2.0.0."""
    version = parse_version(text)
    parts = [*version.release, 0, 0, 0, 0][:4]
    release = ".".join(f"{part:06d}" for part in parts)
    if version.pre:
        kind, number = version.pre
        stage = f"{_PRE_ORDER[kind]}{number:06d}"
    else:
        stage = "9"  # a final release sorts after its pre-releases
    return f"{version.epoch:03d}!{release}~{stage}~{version.post or 0:06d}"


def parse_specifier(text: str) -> SpecifierSet:
    # Imported here: packaging.specifiers loads packaging.tags (platform sniffing, the costliest
    # part of packaging), and the store's keys import this module on every function's cold path.
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        return SpecifierSet(text)
    except InvalidSpecifier as error:
        raise InvalidInput(f"'{text}' is not a version specifier (use e.g. >=8.0,<10)") from error


def supports_host(requires_host: str | None, host_version: str | None) -> bool:
    """Whether a release declaring `requires_host` supports the caller's host version."""
    if not requires_host or not host_version:
        return True
    try:
        return Version(host_version) in parse_specifier(requires_host)
    except InvalidVersion:
        return False
