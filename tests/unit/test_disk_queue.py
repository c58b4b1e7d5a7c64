import contextlib
import json
from pathlib import Path

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
