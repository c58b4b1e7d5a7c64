"""The JSON text of a request body: what parses, and what is refused with which message."""

from __future__ import annotations

from typing import Any

import pytest

from anxin.cloud.api.json_body import MAX_DEPTH, BadJson, parse_json


def nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (b"", None),
        (b"  \n", None),
        (b'{"a": [1, 2.5, "x", true, null]}', {"a": [1, 2.5, "x", True, None]}),
        (str(2**63 - 1).encode(), 2**63 - 1),
        (str(-(2**63)).encode(), -(2**63)),
        (b"[" * MAX_DEPTH + b"]" * MAX_DEPTH, nested(MAX_DEPTH)),
        ('{"名": "张秀英"}'.encode(), {"名": "张秀英"}),
    ],
)
def test_what_parses(raw: bytes, value: Any) -> None:
    assert parse_json(raw) == value


@pytest.mark.parametrize(
    ("raw", "code", "says"),
    [
        (b"{oops", "bad_json", "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "bad_json", "nested more than 32 levels"),
        (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), "bad_json", "levels deep (0.0.0"),
        (b'{"a": ' + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"}", "bad_json", "(a.0.0.0"),
        (b'{"n": ' + b"9" * 5_000 + b"}", "bad_json", "number out of range at line 1"),
        (b'{"n": ' + str(2**63).encode() + b"}", "bad_parameter", "'n': the number must fit"),
        (b'{"n": [0, ' + str(-(2**63) - 1).encode() + b"]}", "bad_parameter", "'n.1': the number"),
        (b'{"x": 1e400}', "bad_parameter", "'x': the number is too large"),
        (b'{"x": NaN}', "bad_json", "not valid JSON"),
        (b'{"x": -Infinity}', "bad_json", "not valid JSON"),
        (b'"\\ud800"', "bad_json", "not valid JSON"),
        (b"\xff\xfe{}", "bad_json", "not valid JSON"),
    ],
)
def test_what_is_refused(raw: bytes, code: str, says: str) -> None:
    with pytest.raises(BadJson) as refused:
        parse_json(raw)
    assert refused.value.code == code
    assert says in str(refused.value)
