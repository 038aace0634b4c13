"""Logging for every service: one handler on the root logger, JSON lines or terminal text, secrets scrubbed.

Structured fields travel on a record as `extra={"fields": {...}}` (the request and purge lines do so); the JSON
formatter writes them beside `timestamp`, `level`, `service`, `logger` and `message`, plus `trace_id` and `span_id`
when a span is current. Why the standard library rather than structlog: every library we run (uvicorn, httpx,
SQLAlchemy, Litestar) already logs through it, so one handler and one filter see every line, with no second
pipeline to keep consistent.

Nothing here should ever see a secret: request lines carry route templates, never paths, query strings, headers
or bodies. The redaction filter is defence in depth for what other code might log by mistake: card-number-like
digit runs that pass the Luhn check, e-mail addresses, `Bearer` credentials and the configured tokens themselves.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Iterable
from typing import IO, Any

import msgspec
from opentelemetry import trace

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
_LEVELS["critical"] = logging.CRITICAL
# 13 to 19 digits, optionally grouped by single spaces or dashes: how card numbers are written.
_PAN = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
# Whatever the level, these say nothing below WARNING: aiosqlite's debug lines are every SQL statement with its
# bound values (cart ids, e-mail addresses), httpx logs each request it sends with its query string at INFO, and
# the rest is per-byte chatter.
_QUIET = ("aiosqlite", "httpx", "httpcore", "multipart", "python_multipart", "hpack")
# Loggers that may bring a handler of their own: Litestar, uvicorn, and granian (its Rust side logs as `_granian`).
_OWN_HANDLERS = ("litestar", "uvicorn", "uvicorn.error", "_granian", "granian.access")


def luhn_valid(digits: str) -> bool:
    """The check digit test every card number passes (and about one digit run in ten by chance)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _pan(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    return "[card]" if luhn_valid(digits) else match.group()


class Redactor:
    """Scrubs card numbers, e-mail addresses, bearer credentials and the given secrets from text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        self._secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "[secret]")
        if "@" in text:
            text = _EMAIL.sub("[email]", text)
        text = _BEARER.sub(lambda m: f"{m.group(1)} [redacted]", text)
        return _PAN.sub(_pan, text)


class RedactingFilter(logging.Filter):
    """Defence in depth on the handler: the message, its arguments, the traceback and string fields scrubbed."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self._redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redact(record.stack_info)
        fields = getattr(record, "fields", None)
        if fields:
            record.fields = {k: self._redact(v) if isinstance(v, str) else v for k, v in fields.items()}
        return True


def _trace_ids() -> dict[str, str]:
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {"trace_id": format(context.trace_id, "032x"), "span_id": format(context.span_id, "016x")}


class _TraceFilter(logging.Filter):
    """Notes the current span's ids on the record while the emitting code's context is still current."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.trace_ids = _trace_ids()
        return True


def _timestamp(record: logging.LogRecord) -> str:
    seconds = time.gmtime(record.created)
    return time.strftime("%Y-%m-%dT%H:%M:%S", seconds) + f".{int(record.msecs):03d}Z"


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def __init__(self, service: str = "") -> None:
        super().__init__()
        self._service = service
        self._encode = msgspec.json.Encoder().encode

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": _timestamp(record),
            "level": record.levelname.lower(),
            "service": self._service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(getattr(record, "fields", None) or {})
        line.update(getattr(record, "trace_ids", None) or {})
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        return self._encode(line).decode()


class TextFormatter(logging.Formatter):
    """For a terminal: time, level, service, message, then the structured fields as `key=value`."""

    def __init__(self, service: str = "") -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        fields = {**(getattr(record, "fields", None) or {}), **(getattr(record, "trace_ids", None) or {})}
        service = fields.pop("service", self._service)
        clock = time.strftime("%H:%M:%S", time.localtime(record.created)) + f".{int(record.msecs):03d}"
        parts = [clock, f"{record.levelname:<7}", service or record.name, record.getMessage()]
        parts += [f"{key}={value}" for key, value in fields.items() if value is not None]
        text = " ".join(parts)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        return f"{text}\n{record.exc_text}" if record.exc_text else text


def wants_json(fmt: str, stream: IO[str]) -> bool:
    """`json` and `text` are what they say; `auto` is text on a terminal and JSON everywhere else."""
    if fmt != "auto":
        return fmt == "json"
    isatty = getattr(stream, "isatty", None)
    return not (isatty is not None and isatty())


def configure_logging(
    *, service: str, level: str = "info", fmt: str = "auto", secrets: Iterable[str] = (), stream: IO[str] | None = None
) -> logging.Handler:
    """Make this process's logging ours: one handler on the root logger (replacing every other there, such as the
    one Litestar installs as an app is built), JSON or text on `stream` (stderr), below `level` dropped. Loggers
    that kept handlers of their own (Litestar's) hand their records to it instead."""
    stream = stream if stream is not None else sys.stderr
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(service) if wants_json(fmt, stream) else TextFormatter(service))
    handler.addFilter(_TraceFilter())
    handler.addFilter(RedactingFilter(Redactor(secrets)))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(_LEVELS[level])
    for name in _OWN_HANDLERS:
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            logger.removeHandler(old)
        logger.propagate = True
    for name in _QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, _LEVELS[level]))
    # Uvicorn's access log would repeat each request line without the fields; ours is the one.
    logging.getLogger("uvicorn.access").disabled = True
    return handler
