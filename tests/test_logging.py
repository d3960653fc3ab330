"""Logging set-up: JSON lines, stdlib records, redaction (:mod:`okrsync.logging`)."""

from __future__ import annotations

import io
import json
import logging
from datetime import datetime

import pytest
import structlog
from pydantic import SecretStr

from okrsync.logging import HANDLER_NAME, MASK, configure_logging, get_logger

SECRET = "pat-na1-5ecret-t0ken"  # noqa: S105 - a dummy, to check it is never written


@pytest.fixture
def stream():
    """A stream to log into; structlog and the root logger are restored afterwards."""
    root = logging.getLogger()
    level = root.level
    out = io.StringIO()
    yield out
    structlog.reset_defaults()
    for handler in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(handler)
    root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines(stream):
    """Each event is one JSON object per line with `event`, `level`, `timestamp`, `logger`."""
    configure_logging("info", "json", stream=stream)
    log = get_logger("okrsync.sync", workspace="acme")
    log.info("sync.pull.completed", connector="hubspot", records=3)
    log.warning("sync.write.partial", failed=1)
    first, second = lines(stream)
    assert first["event"] == "sync.pull.completed"
    assert first["level"] == "info"
    assert first["logger"] == "okrsync.sync"
    assert (first["workspace"], first["connector"], first["records"]) == ("acme", "hubspot", 3)
    assert second["level"] == "warning"
    stamp = datetime.fromisoformat(str(first["timestamp"]))
    assert stamp.utcoffset() is not None
    assert stamp.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_auto_is_json_when_not_a_terminal(stream):
    """`auto` writes JSON lines to a stream that is not a terminal."""
    configure_logging(stream=stream)
    get_logger("okrsync").info("daemon.started")
    assert lines(stream)[0]["event"] == "daemon.started"


def test_level_filters_events(stream):
    """Events below the configured level are not written."""
    configure_logging("warning", "json", stream=stream)
    get_logger("okrsync").info("sync.pull.completed")
    logging.getLogger("urllib3.connectionpool").info("Starting new HTTPS connection")
    get_logger("okrsync").error("sync.failed")
    assert [e["event"] for e in lines(stream)] == ["sync.failed"]


def test_stdlib_records_use_the_same_renderer(stream):
    """A standard-library logger's record comes out as the same kind of JSON line."""
    configure_logging("debug", "json", stream=stream)
    logging.getLogger("apscheduler.scheduler").warning("Job %s missed by %d s", "sync", 4)
    [event] = lines(stream)
    assert event["event"] == "Job sync missed by 4 s"
    assert event["level"] == "warning"
    assert event["logger"] == "apscheduler.scheduler"
    assert "timestamp" in event


def test_configure_twice_adds_one_handler(stream):
    """Configuring again replaces the handler instead of adding a second one."""
    configure_logging("info", "json", stream=io.StringIO())
    configure_logging("info", "json", stream=stream)
    named = [h for h in logging.getLogger().handlers if h.get_name() == HANDLER_NAME]
    assert len(named) == 1
    get_logger("okrsync").info("daemon.started")
    assert len(lines(stream)) == 1


def test_redacts_secret_in_event_values(stream):
    """A redacted value is masked inside strings, nested values and stdlib messages."""
    configure_logging("info", "json", stream=stream, redact=[SECRET, "ab"])
    log = get_logger("okrsync.connector")
    log.info("http.request", url=f"https://api.example.com/?token={SECRET}", about="abc")
    log.info("http.headers", headers={"Authorization": [f"Bearer {SECRET}"]})
    logging.getLogger("urllib3").warning("retrying with %s", SECRET)
    text = stream.getvalue()
    assert SECRET not in text
    first, second, third = lines(stream)
    assert first["url"] == f"https://api.example.com/?token={MASK}"
    assert first["about"] == "abc"  # values shorter than 4 characters are not redacted
    assert second["headers"] == {"Authorization": [f"Bearer {MASK}"]}
    assert third["event"] == f"retrying with {MASK}"


def test_redacts_secret_in_exception(stream):
    """A secret in an exception's message is masked in the rendered traceback."""
    configure_logging("info", "json", stream=stream, redact=[SECRET])
    try:
        raise RuntimeError(f"401 for token {SECRET}")  # noqa: TRY301 - the test needs a traceback
    except RuntimeError:
        get_logger("okrsync").exception("sync.failed")
        logging.getLogger("apscheduler.executors").exception("Job raised")
    assert SECRET not in stream.getvalue()
    for event in lines(stream):
        assert f"RuntimeError: 401 for token {MASK}" in str(event["exception"])


def test_secretstr_rendered_masked(stream):
    """A `SecretStr` value is written as the mask, even when not listed for redaction."""
    configure_logging("info", "json", stream=stream)
    get_logger("okrsync").info("auth.configured", token=SecretStr(SECRET))
    assert lines(stream)[0]["token"] == MASK
    assert SECRET not in stream.getvalue()


def test_console_format(stream):
    """`console` writes structlog's readable lines, redacted too, exceptions included."""
    configure_logging("info", "console", stream=stream, redact=[SECRET])
    get_logger("okrsync.sync").info("sync.pull.completed", records=3, token=SECRET)
    try:
        raise ValueError(SECRET)  # noqa: TRY301 - the test needs a traceback
    except ValueError:
        get_logger("okrsync.sync").exception("sync.failed")
    text = stream.getvalue()
    first = text.splitlines()[0]
    assert "sync.pull.completed" in first
    assert "records=3" in first
    assert f"token={MASK}" in first
    assert not first.startswith("{")
    assert "\x1b[" not in text  # no colours when not writing to a terminal
    assert f"ValueError: {MASK}" in text
    assert SECRET not in text


def test_bad_level_is_rejected(stream):
    """An unknown level name is a `ValueError` naming it."""
    with pytest.raises(ValueError, match="'loud'"):
        configure_logging("loud", stream=stream)
