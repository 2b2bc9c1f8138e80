"""The stages' on-disk working copy of their state rows, and the cached key partitioner."""

from __future__ import annotations

import random

from aiokafka.partitioner import DefaultPartitioner
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.catalogue import LIFECYCLE_HEADER
from streams.ledger.store import may_carry_agreement
from streams.partitioning import CachedPartitioner
from streams.state_store import StateStore

keys = st.binary(min_size=0, max_size=6)
ops = st.lists(st.tuples(st.integers(0, 2), keys, st.one_of(st.none(), st.binary(max_size=8))), max_size=40)


@settings(max_examples=150, deadline=None)
@given(batches=st.lists(ops, max_size=6), prefix=keys)
def test_rows_match_a_dict_of_the_same_writes(batches, prefix):
    store, model = StateStore(":memory:"), {}
    for batch in batches:
        store.write(batch)
        for p, k, v in batch:
            if v is None:
                model.pop((p, k), None)
            else:
                model[(p, k)] = v
    assert store.count() == len(model)
    for (p, k), v in model.items():
        assert store.get(p, k) == v
    for p in range(3):
        expected = sorted((k, v) for (q, k), v in model.items() if q == p and k.startswith(prefix))
        assert store.prefixed(p, prefix) == expected
        asked = {k for (q, k) in model if q == p} | {prefix}
        assert store.get_many(p, asked) == {k: v for (q, k), v in model.items() if q == p}


def test_get_many_reads_more_keys_than_one_statement_takes(monkeypatch):
    monkeypatch.setattr("streams.state_store.GET_MANY_CHUNK", 7)
    store = StateStore(":memory:")
    store.write([(1, b"k%d" % i, b"v%d" % i) for i in range(30)] + [(2, b"k1", b"other partition")])
    got = store.get_many(1, [b"k%d" % i for i in range(40)])
    assert got == {b"k%d" % i: b"v%d" % i for i in range(30)}


def test_prefix_of_high_bytes_and_the_empty_prefix():
    store = StateStore(":memory:")
    store.write([(0, b"a\xff", b"1"), (0, b"a\xff\x00", b"2"), (0, b"b", b"3"), (0, b"\xff\xff", b"4"), (1, b"a\xff", b"5")])
    assert store.prefixed(0, b"a\xff") == [(b"a\xff", b"1"), (b"a\xff\x00", b"2")]
    assert store.prefixed(0, b"\xff") == [(b"\xff\xff", b"4")]
    assert [k for k, _ in store.prefixed(0, b"")] == [b"a\xff", b"a\xff\x00", b"b", b"\xff\xff"]


def test_a_file_left_by_an_earlier_worker_is_not_read(tmp_path):
    path = tmp_path / "state" / "n1.sqlite"
    old = StateStore(path)
    old.write([(0, b"k", b"stale")])
    old._db.close()  # a killed worker leaves its file behind
    assert path.exists()
    fresh = StateStore(path)
    assert fresh.get(0, b"k") is None and fresh.count() == 0
    fresh.write([(0, b"k", b"new")])
    assert fresh.get(0, b"k") == b"new"
    fresh.clear()
    assert fresh.count() == 0
    fresh.close()
    assert not path.exists()


@settings(max_examples=300, deadline=None)
@given(key=st.binary(max_size=64), n=st.sampled_from([1, 2, 3, 6, 12, 50]))
def test_cached_partitioner_places_keys_as_kafka_does(key, n):
    partitions = list(range(n))
    cached = CachedPartitioner(size=4)
    for _ in range(2):  # from the hash and from the cache
        assert cached(key, partitions, partitions) == DefaultPartitioner()(key, partitions, partitions)


def test_cached_partitioner_stays_bounded():
    cached = CachedPartitioner(size=100)
    for _ in range(1000):
        cached(random.randbytes(10), [0, 1, 2], [0, 1, 2])
    assert len(cached._hashes) <= 100
    assert cached(None, [0, 1, 2], [2]) == 2  # no key: an available partition


def test_lifecycle_header_lets_the_ledger_read_past_mobilities_without_an_agreement():
    assert may_carry_agreement([(LIFECYCLE_HEADER, b"LA_APPROVED")])
    assert may_carry_agreement([(LIFECYCLE_HEADER, b"LA_CHANGED")])
    assert not may_carry_agreement([(LIFECYCLE_HEADER, b"STARTED")])
    assert not may_carry_agreement([("other", b"x"), (LIFECYCLE_HEADER, b"TOR_ISSUED")])
    assert may_carry_agreement(None) and may_carry_agreement([("other", b"STARTED")])  # no header: decode to know
