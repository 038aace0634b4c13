"""Strict request parsing every backend shares: bounded ASCII integers, printable text, parameter shapes."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

import msgspec
from litestar.params import Parameter

from backends.common.problems import invalid
from backends.common.validation import SLUG

# Row ids, outbox sequence numbers and versions are `Integer` columns: 32-bit on PostgreSQL, so a larger
# value is refused here rather than overflowing in the driver (a 500 on PostgreSQL, on SQLite past 2**63).
MAX_ID = 2**31 - 1
# `str.isdigit()` accepts `²`, `①` and other scripts' digits; `int()` then refuses some and accepts others.
ASCII_INT = re.compile(r"[0-9]{1,19}")
# No C0/C1 control characters, DEL or line/paragraph separators: text that is stored, logged or put in a URL.
PRINTABLE = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$"
# Multi-line text (descriptions, rich text): anything but NUL, which PostgreSQL cannot store in a text column.
NO_NUL = r"^[^\x00]*$"
# An absolute URL path as it goes on the wire: visible ASCII only (anything else is percent-encoded).
URL_PATH = r"^/[!-~]*$"
REGION_CODE = r"^[a-z0-9]{1,16}$"
# A decimal amount or percentage as sent ("19.90", "12.5"): `Decimal()` alone accepts other scripts' digits.
AMOUNT = r"^-?[0-9]{1,12}(?:\.[0-9]{1,6})?$"


def parse_int(raw: str, field: str, *, low: int = 0, high: int = MAX_ID, source: str = "query") -> int:
    """`raw` as an integer in [low, high] written with ASCII digits only, or a 422 naming `field`."""
    if not ASCII_INT.fullmatch(raw):
        raise invalid(field, "must be written with the digits 0-9", source=source)
    value = int(raw)
    if not low <= value <= high:
        raise invalid(field, f"must be between {low} and {high}", source=source)
    return value


def bounded_int(raw: str | None, low: int, high: int) -> int | None:
    """`raw` (surrounding spaces allowed) as an integer in [low, high] in ASCII digits, or None: for HTML
    forms and page queries, which answer with a page rather than a 422."""
    if raw is None or not ASCII_INT.fullmatch(raw.strip()):
        return None
    value = int(raw.strip())
    return value if low <= value <= high else None


def is_ascii_int(raw: str) -> bool:
    return bool(ASCII_INT.fullmatch(raw))


def ascii_digits(raw: str) -> bool:
    """True for a non-empty run of 0-9 of any length (card numbers), nothing else."""
    return raw.isascii() and raw.isdigit()


# Litestar parameter shapes: bounds and patterns are enforced (a 422) and documented in the OpenAPI schema.
IdPath = Annotated[int, Parameter(ge=1, le=MAX_ID, description="A positive 32-bit row id.")]
Cursor = Annotated[int, Parameter(ge=0, le=MAX_ID, description="Outbox sequence number to read after.")]
RegionQuery = Annotated[str, Parameter(max_length=16, pattern=REGION_CODE, description="A region code.")]
RegionPath = Annotated[str, Parameter(max_length=16, pattern=REGION_CODE, description="A region code.")]
SlugPath = Annotated[str, Parameter(max_length=80, pattern=SLUG.pattern)]

# msgspec field shapes for request bodies.
Version = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]
PrintableText = Annotated[str, msgspec.Meta(pattern=PRINTABLE)]


def instant(at: datetime, field: str, *, source: str = "query") -> datetime:
    """`at` in UTC (naive means UTC), or a 422 when it is outside 1970-9000: instants near `datetime`'s
    limits overflow its arithmetic (an offset to UTC at year 1, a window end plus a day)."""
    if not datetime(1970, 1, 2) <= at.replace(tzinfo=None) <= datetime(8999, 12, 31):
        raise invalid(field, "must be between 1970 and 9000", source=source)
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
