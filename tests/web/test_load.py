"""What keeps the inbox fast under many registrars: a stale page is computed once however many ask at the same time,
a reload of an unchanged ledger is served from the cache, and a signed-out session stops working at once."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from hub.web.cache import OnceCache


def test_a_missing_key_is_computed_once_for_all_who_ask_at_once():
    cache: OnceCache[str] = OnceCache(size=8)
    calls, gate = [], threading.Event()

    def slow() -> str:
        calls.append(1)
        gate.wait(5)
        return "page"

    with ThreadPoolExecutor(12) as pool:
        answers = [pool.submit(cache.get, "v1", slow) for _ in range(12)]
        time.sleep(0.3)  # every request is waiting for the one that computes
        gate.set()
        assert {a.result(5) for a in answers} == {"page"}
    assert len(calls) == 1 and cache.computed == 1


def test_a_failed_computation_is_not_cached_and_the_waiters_compute_themselves():
    cache: OnceCache[str] = OnceCache(size=8)
    started, attempts = threading.Event(), []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            started.set()
            time.sleep(0.2)
            raise RuntimeError("database went away")
        return "page"

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(cache.get, "k", flaky)
        started.wait(5)
        second = pool.submit(cache.get, "k", flaky)
        assert second.result(5) == "page"
        assert isinstance(first.exception(5), RuntimeError)
    assert cache.get("k", flaky) == "page" and len(attempts) == 2


def test_least_recently_used_values_leave_first_and_invalid_ones_are_replaced():
    cache: OnceCache[int] = OnceCache(size=2)
    cache.get("a", lambda: 1)
    cache.get("b", lambda: 2)
    cache.get("a", lambda: 0)  # a is used again
    cache.get("c", lambda: 3)  # b leaves
    assert cache.peek("b") is None and cache.peek("a") == 1 and len(cache) == 2
    assert cache.get("a", lambda: 10, valid=lambda v: v > 5) == 10 and cache.peek("a") == 10


def test_reloads_of_an_unchanged_ledger_compute_the_inbox_once(site):
    state = site.state
    client, _ = site.browser("reg-hh")
    with client:
        client.get("/inbox?q=om-1-")  # a query of its own, so the cache starts cold
        before = (state.pages.computed, state.tables.computed)
        for _ in range(20):
            assert client.get("/inbox?q=om-1-").status_code == 200
    # the ledger version may turn once within these requests (it is looked up every 0.2 s), never more
    assert state.pages.computed - before[0] <= 1 and state.tables.computed - before[1] <= 1


def test_sign_out_ends_the_session_at_once_despite_the_session_cache(site):
    from hub.web.accounts import Role

    store = site.state.accounts
    store.add("reg-short", Role.REGISTRAR, "hh.se", "a long enough password")
    sid, _ = store.open_session(store.check_password("reg-short", "a long enough password"))
    assert store.session(sid).name == "reg-short" and store.session(sid).name == "reg-short"  # the second from the cache
    store.close_session(sid)
    assert store.session(sid) is None
    sid, _ = store.open_session(store.check_password("reg-short", "a long enough password"))
    assert store.session(sid) is not None
    store.remove("reg-short")
    assert store.session(sid) is None
