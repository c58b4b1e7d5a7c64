"""Log lines: JSON for collectors, carrying the fields a call passes in ``extra``."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator

import pytest

from anxin.logs import JsonFormatter, configure_logging


@pytest.fixture
def restored_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_the_message_and_the_extra_fields() -> None:
    record = logging.LogRecord(
        "anxin.edge.gateway", logging.WARNING, __file__, 1, "ALERT %s", ("sos",), None
    )
    record.__dict__.update({"event": "alert", "device_id": "按钮-1", "seq": 7})
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["message"] == "ALERT sos"
    assert entry["level"] == "WARNING" and entry["logger"] == "anxin.edge.gateway"
    assert (entry["event"], entry["device_id"], entry["seq"]) == ("alert", "按钮-1", 7)
    assert entry["ts"].endswith("+00:00")
    assert "按钮-1" in line  # Chinese stays readable
    assert not {"args", "msg", "levelno", "pathname"} & set(entry)


def test_an_exception_is_kept_in_its_line() -> None:
    try:
        raise ValueError("bad frame")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), None)
        record.exc_info = sys.exc_info()
    entry = json.loads(JsonFormatter().format(record))
    assert "ValueError: bad frame" in entry["exception"]


@pytest.mark.usefixtures("restored_root_logger")
def test_configure_logging_json_writes_one_object_per_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("info", "json")
    logging.getLogger("anxin.test").info("hello %d", 1, extra={"event": "probe"})
    logging.getLogger("bumble").info("chatter")  # quietened
    lines = capsys.readouterr().err.strip().splitlines()
    assert [json.loads(line)["message"] for line in lines] == ["hello 1"]
    assert json.loads(lines[0])["event"] == "probe"
