"""Log lines: JSON or terminal text as configured, trace ids when a span is current, secrets scrubbed."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider

from backends.common.logs import Redactor, configure_logging, luhn_valid, wants_json


@pytest.fixture
def restore_root() -> Iterator[None]:
    """`configure_logging` takes the root logger over; give it back to pytest afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_auto_is_text_on_a_terminal_and_json_elsewhere() -> None:
    assert wants_json("auto", io.StringIO()) and not wants_json("auto", _Terminal())
    assert wants_json("json", _Terminal()) and not wants_json("text", io.StringIO())


@pytest.mark.parametrize(
    ("text", "scrubbed"),
    [
        ("card 4242 4242 4242 4242 declined", "card [card] declined"),
        ("card 4000-0000-0000-0002", "card [card]"),
        ("pan=4242424242424242;", "pan=[card];"),
        ("amex 378282246310005 ok", "amex [card] ok"),
        ("order 1234567890123456 total", "order 1234567890123456 total"),  # fails the Luhn check: not a card
        ("to Grace.Hopper+shop@mail.example.org now", "to [email] now"),
        ("Authorization: Bearer abc.DEF-123_x=", "Authorization: Bearer [redacted]"),
        ("token my-admin-token-123 leaked", "token [secret] leaked"),
    ],
)
def test_redaction(text: str, scrubbed: str) -> None:
    assert Redactor(["my-admin-token-123"])(text) == scrubbed


def test_luhn() -> None:
    assert luhn_valid("4242424242424242") and luhn_valid("79927398713")
    assert not luhn_valid("4242424242424241")


def test_json_lines_carry_fields_trace_ids_and_no_secrets(restore_root: None) -> None:
    stream = io.StringIO()
    configure_logging(service="checkout", level="info", fmt="auto", secrets=["s3cret-token-value"], stream=stream)
    log = logging.getLogger("tests.logs")
    log.debug("hidden below the level")
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("work") as span:
        log.info("paid with %s by %s", "4242 4242 4242 4242", "ada@example.com", extra={"fields": {"status": 201}})
    try:
        raise ValueError("bad card 4000000000000002 for s3cret-token-value")
    except ValueError:
        log.exception("failed")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    context = span.get_span_context()
    assert first["message"] == "paid with [card] by [email]" and first["status"] == 201
    assert (first["service"], first["level"], first["logger"]) == ("checkout", "info", "tests.logs")
    assert (first["trace_id"], first["span_id"]) == (f"{context.trace_id:032x}", f"{context.span_id:016x}")
    assert first["timestamp"].endswith("Z")
    assert "trace_id" not in second and "ValueError: bad card [card] for [secret]" in second["exception"]
    assert "4000000000000002" not in stream.getvalue() and "s3cret" not in stream.getvalue()


def test_text_on_a_terminal(restore_root: None) -> None:
    stream = _Terminal()
    configure_logging(service="origin", level="debug", stream=stream)
    fields = {"method": "GET", "route": "/{region}/{lang}/", "status": 200}
    logging.getLogger("tests.logs").info("request", extra={"fields": fields})
    line = stream.getvalue().strip()
    assert "INFO" in line and "origin request method=GET route=/{region}/{lang}/ status=200" in line


def test_chatty_libraries_stay_quiet_at_debug(restore_root: None) -> None:
    stream = io.StringIO()
    configure_logging(service="checkout", level="debug", fmt="json", stream=stream)
    logging.getLogger("aiosqlite").debug("INSERT INTO carts VALUES ('cart-token', 'ada@example.com')")
    logging.getLogger("httpx").info("HTTP Request: GET http://checkout/carts/cart-token")
    assert stream.getvalue() == ""
