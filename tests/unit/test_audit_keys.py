"""The audit key in the configuration, the keyed entry hash, and reading checkpoint files."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from anxin.cloud.audit import chain, keys
from anxin.cloud.audit.checkpoints import Checkpoint, read_anchors
from anxin.config import CloudConfig, ConfigError, load_config

HEX = "00112233445566778899aabbccddeeff" * 2
FIELDS = ("0" * 64, 1_700_000_000_000, "admin", "read", "persons/p1", "p1", {"n": 1})


def test_a_key_is_read_from_hex_or_base64_and_the_same_key_has_the_same_id() -> None:
    as_base64 = base64.b64encode(bytes.fromhex(HEX)).decode()
    assert keys.decode_key(HEX) == keys.decode_key(as_base64) == bytes.fromhex(HEX)
    assert (
        keys.AuditKeys.from_texts(HEX).current_id == keys.AuditKeys.from_texts(as_base64).current_id
    )


@pytest.mark.parametrize(
    ("value", "says"),
    [("not a key", "64 hex digits or base64"), ("c2hvcnQ=", "got 5 bytes")],
)
def test_a_bad_audit_key_is_refused_naming_the_setting(value: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(CloudConfig, environ={"ANXIN_AUDIT__KEY": value})
    assert "audit.key" in str(caught.value) and says in str(caught.value)
    with pytest.raises(ConfigError, match=r"audit\.old_keys"):
        load_config(CloudConfig, environ={"ANXIN_AUDIT__OLD_KEYS": f"{HEX},{value}"})


def test_keyed_hashes_need_the_key_and_differ_from_the_unkeyed_recipe() -> None:
    one = keys.AuditKeys.from_texts(HEX)
    other = keys.AuditKeys.from_texts(keys.new_key())
    keyed = chain.entry_hash(*FIELDS, one.current_id, one)
    assert keyed != chain.entry_hash(*FIELDS)  # the unkeyed SHA-256 of earlier releases
    assert keyed != chain.entry_hash(*FIELDS, other.current_id, other)
    with pytest.raises(KeyError):
        chain.entry_hash(*FIELDS, one.current_id, other)


def test_recording_without_a_key_writes_nothing_and_names_the_setting() -> None:
    with keys.using(None), pytest.raises(keys.MissingAuditKeyError, match=r"\[audit\] key"):
        chain.record(None, "admin", "read", "persons/p1")  # type: ignore[arg-type]


def signed(audit_keys: keys.AuditKeys, **fields: object) -> str:
    unsigned = Checkpoint.model_validate(
        {"at_ms": 1, "entries": 2, "last_id": 2, "last_hash": "a" * 64,
         "key_id": audit_keys.current_id, "writer": "host:1", **fields}
    )  # fmt: skip
    mac = audit_keys.mac(audit_keys.current_id, unsigned.signed_part())
    return unsigned.model_copy(update={"mac": mac}).model_dump_json()


def test_checkpoint_lines_that_are_altered_unsigned_or_malformed_are_each_reported(
    tmp_path: Path,
) -> None:
    mine = keys.AuditKeys.from_texts(HEX)
    stranger = keys.AuditKeys.from_texts(keys.new_key())
    good = signed(mine)
    altered = json.dumps(json.loads(good) | {"entries": 1})
    path = tmp_path / "checkpoints.jsonl"
    # The cut-off last line (a crash in the middle of a write) is passed over.
    path.write_text("\n".join([good, altered, signed(stranger), "{]", good[:40]]))
    anchors, problems = read_anchors(path, mine)
    assert [anchor.line for anchor in anchors] == [1]
    assert [(p.place, p.what.split(":")[0].split(",")[0]) for p in problems] == [
        (f"checkpoint line 2 of {path}", "its signature does not match"),
        (f"checkpoint line 3 of {path}", f"is signed with audit key {stranger.current_id}"),
        (f"checkpoint line 4 of {path}", "is not a checkpoint"),
    ]
