import contextlib
import json
import sqlite3
from pathlib import Path

import pytest

from anxin.edge.queue import DiskQueue


def bodies(prefix: str):  # type: ignore[no-untyped-def]
    return lambda seqs: [json.dumps({"seq": s, "what": prefix}) for s in seqs]


def test_sequence_numbers_survive_reopening(tmp_path: Path) -> None:
    queue = DiskQueue(tmp_path / "q.sqlite")
    assert queue.put("observations", 3, bodies("a")) == [0, 1, 2]
    queue.ack([0, 1, 2])
    queue.close()
    reopened = DiskQueue(tmp_path / "q.sqlite")
    assert reopened.put("observations", 1, bodies("b")) == [3]


def test_alerts_go_first_and_acked_rows_are_gone(tmp_path: Path) -> None:
    queue = DiskQueue(tmp_path / "q.sqlite")
    queue.put("observations", 2, bodies("obs"))
    queue.put("alerts", 1, bodies("alert"))
    order = [(m.seq, m.channel) for m in queue.peek(10)]
    assert order == [(2, "alerts"), (0, "observations"), (1, "observations")]
    assert [m.seq for m in queue.peek(10, exclude={2})] == [0, 1]
    queue.ack([2, 0])
    assert [m.seq for m in queue.peek(10)] == [1]
    assert queue.depth() == 1


def test_unacknowledged_rows_survive_a_crash(tmp_path: Path) -> None:
    queue = DiskQueue(tmp_path / "q.sqlite")
    queue.put("observations", 5, bodies("x"))
    # No close(): the process dies with the connection open.
    survivor = DiskQueue(tmp_path / "q.sqlite")
    assert [m.seq for m in survivor.peek(10)] == [0, 1, 2, 3, 4]


def test_a_failed_body_maker_leaves_nothing_behind(tmp_path: Path) -> None:
    queue = DiskQueue(tmp_path / "q.sqlite")

    def broken(seqs: list[int]) -> list[str]:
        raise ValueError("cannot encode")

    with contextlib.suppress(ValueError):
        queue.put("observations", 2, broken)
    assert queue.depth() == 0
    assert queue.put("observations", 1, bodies("ok")) == [0]


def test_a_full_queue_sheds_the_oldest_raw_samples_and_never_an_alert(tmp_path: Path) -> None:
    queue = DiskQueue(tmp_path / "q.sqlite", max_messages=10)
    queue.put("observations", 2, bodies("weight"))  # 0, 1: spot readings, kept
    queue.put("observations", 6, bodies("hr"), sheddable=True)  # 2..7
    queue.put("alerts", 1, bodies("sos"))  # 8
    queue.put("observations", 4, bodies("hr"), sheddable=True)  # 9..12: 3 over the bound
    assert queue.depth() == 10
    assert queue.shed == 3
    kept = {m.seq: json.loads(m.body)["what"] for m in queue.peek(100)}
    assert sorted(kept) == [0, 1, 5, 6, 7, 8, 9, 10, 11, 12]  # 2, 3, 4 were the oldest samples
    assert kept[8] == "sos" and kept[0] == kept[1] == "weight"


def test_a_queue_of_only_what_must_not_be_shed_grows_past_its_bound(tmp_path: Path) -> None:
    queue = DiskQueue(tmp_path / "q.sqlite", max_messages=10)
    queue.put("observations", 8, bodies("hr"), sheddable=[True, False] * 4)
    queue.put("alerts", 6, bodies("fall"))
    assert queue.shed == 4  # every sample went, and only samples
    assert queue.depth() == 10
    queue.put("alerts", 3, bodies("sos"))
    assert queue.shed == 4
    assert queue.depth() == 13
    assert sum(json.loads(m.body)["what"] == "sos" for m in queue.peek(100)) == 3


def test_the_depth_is_right_after_acks_and_reopening(tmp_path: Path) -> None:
    queue = DiskQueue(tmp_path / "q.sqlite", max_messages=5)
    queue.put("observations", 7, bodies("hr"), sheddable=True)
    queue.ack([5, 6, 99])  # 99 was never queued
    assert queue.depth() == 3
    queue.close()
    reopened = DiskQueue(tmp_path / "q.sqlite", max_messages=5)
    assert reopened.depth() == 3
    reopened.put("observations", 3, bodies("hr"), sheddable=True)
    assert reopened.depth() == 5
    assert [m.seq for m in reopened.peek(10)] == [3, 4, 7, 8, 9]


def test_a_queue_written_before_the_bound_is_opened_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.executescript(
            """
            CREATE TABLE outbox (seq INTEGER PRIMARY KEY, channel TEXT NOT NULL,
                priority INTEGER NOT NULL, body TEXT NOT NULL, queued_ms INTEGER NOT NULL);
            CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
            INSERT INTO meta VALUES ('next_seq', 2);
            INSERT INTO outbox VALUES (0, 'observations', 1, '{"what": "old"}', 1);
            INSERT INTO outbox VALUES (1, 'observations', 1, '{"what": "old"}', 1);
            """
        )
        db.commit()
    queue = DiskQueue(path, max_messages=2)
    assert queue.put("observations", 1, bodies("hr"), sheddable=True) == [2]
    assert [m.seq for m in queue.peek(10)] == [0, 1]  # old rows count as not sheddable
    assert queue.shed == 1


def test_sheddable_flags_must_match_the_rows(tmp_path: Path) -> None:
    queue = DiskQueue(tmp_path / "q.sqlite")
    with pytest.raises(ValueError, match="2 flags for 3 rows"):
        queue.put("observations", 3, bodies("hr"), sheddable=[True, False])
    assert queue.depth() == 0
