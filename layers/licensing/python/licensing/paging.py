"""Staff lists that page on an index: one Query per page with Limit and ExclusiveStartKey, however
many items the list holds, and the place to go on carried as an opaque, URL-safe cursor.

A list is a sequence of index ranges (`Part`: an index, a partition, optionally a sort key prefix),
read one after the other: an email's accounts on gsi1, a product's statuses on gsi2. A page reads
one item more than it shows, so it knows whether there is a next page without reading it. The
cursor names the range and the key of the last item shown; it is bound to the list it came from
(`scope`), and anything else (garbled, truncated, from another search, with keys outside the range)
is refused as BadCursor (an InvalidInput), before any read."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from . import tables
from .errors import InvalidInput

T = TypeVar("T")
PAGE_SIZE = 50
MAX_CURSOR = 2048  # characters; a real one is a few hundred
BAD_CURSOR = "this next-page cursor is not valid (garbled, or from another list): start the list again"


class BadCursor(InvalidInput):
    """A cursor this list did not make: the console answers it with a 400 page."""


@dataclass(frozen=True)
class Part:
    """One index range of a list: `index`'s partition `pk`, the sort keys starting with `prefix`
    (or, with `lowest`, the sort keys from `lowest` on: one or the other)."""

    index: str
    pk: str
    prefix: str = ""
    newest_first: bool = False
    lowest: str = ""

    @property
    def attributes(self) -> tuple[str, str]:
        spec = next(index for index in tables.INDEXES if index.name == self.index)
        return spec.partition_key, spec.sort_key

    def key_names(self) -> tuple[str, ...]:
        """The attributes of an ExclusiveStartKey on this index: the table's key and the index's."""
        return (tables.PARTITION_KEY, tables.SORT_KEY, *self.attributes)


# Reads one Query page: (part, exclusive start key or None, limit) -> (items, LastEvaluatedKey or None).
ReadPage = Callable[[Part, dict[str, str] | None, int], tuple[list[dict[str, Any]], dict[str, str] | None]]


@dataclass
class Page(Generic[T]):
    items: list[T]
    next: str | None = None  # the cursor of the next page; None on the last one
    read: int = 0  # items the page read (shown or filtered out)
    partial: bool = False  # the read budget ran out before the page was full (filtered lists)
    extra: dict[str, Any] = field(default_factory=dict)


def scope_of(*values: Any) -> str:
    """A short fingerprint of what a list is (its criteria): a cursor only continues that list."""
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:16]


def encode_cursor(scope: str, part: int, key: dict[str, str] | None) -> str:
    data = {"v": 1, "s": scope, "p": part, "k": key}
    text = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(text).decode().rstrip("=")


def decode_cursor(token: str, scope: str, parts: Sequence[Part]) -> tuple[int, dict[str, str] | None]:
    """The range and start key a cursor names; BadCursor for anything not made for this list."""
    if not token or len(token) > MAX_CURSOR:
        raise BadCursor(BAD_CURSOR)
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError):
        raise BadCursor(BAD_CURSOR) from None
    if not isinstance(data, dict) or set(data) != {"v", "s", "p", "k"}:
        raise BadCursor(BAD_CURSOR)
    number, key = data["p"], data["k"]
    if data["v"] != 1 or data["s"] != scope or type(number) is not int or not 0 <= number < len(parts):
        raise BadCursor(BAD_CURSOR)
    if key is None:
        return number, None
    part = parts[number]
    if not isinstance(key, dict) or set(key) != set(part.key_names()):
        raise BadCursor(BAD_CURSOR)
    if not all(isinstance(value, str) and 0 < len(value) <= 1024 for value in key.values()):
        raise BadCursor(BAD_CURSOR)
    partition, sort = part.attributes
    if key[partition] != part.pk or not key[sort].startswith(part.prefix) or key[sort] < part.lowest:
        raise BadCursor(BAD_CURSOR)
    return number, key


def walk(
    read_page: ReadPage,
    parts: Sequence[Part],
    convert: Callable[[dict[str, Any]], T],
    *,
    scope: str,
    after: str | None = None,
    keep: Callable[[T], bool] | None = None,
    page_size: int = PAGE_SIZE,
    budget: int = 2000,
) -> Page[T]:
    """One page of the list: at most `page_size` items (those `keep` accepts), from the cursor on.

    Unfiltered, the page is one Query of `page_size + 1` items (more only where a range ends). With
    `keep`, it reads on in larger Queries until the page is full or `budget` items are read; then the
    page is `partial` and its cursor goes on from the last item read."""
    number, start = decode_cursor(after, scope, parts) if after is not None else (0, None)
    shown: list[tuple[T, int, dict[str, str]]] = []
    read = 0
    while number < len(parts):
        part = parts[number]
        wanted = page_size + 1 - len(shown)
        limit = wanted if keep is None else max(wanted, 200)
        items, last = read_page(part, start, limit)
        read += len(items)
        for item in items:
            value = convert(item)
            if keep is None or keep(value):
                shown.append((value, number, {name: str(item[name]) for name in part.key_names()}))
                if len(shown) > page_size:
                    _, at, key = shown[page_size - 1]
                    return Page([v for v, _, _ in shown[:page_size]], encode_cursor(scope, at, key), read)
        if last is None:
            number, start = number + 1, None
        else:
            start = {name: str(last[name]) for name in part.key_names()}
        if keep is not None and read >= budget and number < len(parts):
            cursor = encode_cursor(scope, number, start)
            return Page([v for v, _, _ in shown], cursor, read, partial=True)
    return Page([v for v, _, _ in shown], None, read)
