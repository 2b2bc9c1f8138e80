"""When the pipeline bench starts its clock with several workers: once their stages share the partitions out."""

from __future__ import annotations

import json

from bench.pipeline import shared_out


def _log(path, *assignments, event="recognise-restored"):
    lines = ["not json: a line of another kind", json.dumps({"event": "recognise-started"})]
    lines += [json.dumps({"component": "recognise", "partitions": a, "event": event}) for a in assignments]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_partitions_are_shared_out_once_each_stage_last_restored_its_share(tmp_path):
    first = _log(tmp_path / "r1.log", [0, 1, 2, 3, 4, 5], [0, 1, 2])
    second = _log(tmp_path / "r2.log", [3, 4, 5])
    assert shared_out([first, second], "recognise-restored", 6)


def test_not_while_a_worker_holds_everything_and_the_other_has_not_joined(tmp_path):
    first = _log(tmp_path / "r1.log", [0, 1, 2, 3, 4, 5])
    assert not shared_out([first, tmp_path / "r2.log"], "recognise-restored", 6)  # no log yet
    second = _log(tmp_path / "r2.log")  # started, nothing restored
    assert not shared_out([first, second], "recognise-restored", 6)


def test_not_while_the_first_worker_still_holds_what_the_second_restored(tmp_path):
    first = _log(tmp_path / "r1.log", [0, 1, 2, 3, 4, 5])
    second = _log(tmp_path / "r2.log", [3, 4, 5])
    assert not shared_out([first, second], "recognise-restored", 6)


def test_one_worker_with_every_partition(tmp_path):
    assert shared_out([_log(tmp_path / "r1.log", [0, 1, 2, 3, 4, 5])], "recognise-restored", 6)
    assert not shared_out([_log(tmp_path / "n1.log", [0, 1, 2, 3, 4, 5], event="normalise-restored")],
                          "recognise-restored", 6)
