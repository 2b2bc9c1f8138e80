"""The loop every connector shares: read, map, publish, flush, save the cursor; back off; stop cleanly."""

from __future__ import annotations

import gc
import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import structlog

from connectors.sdk._connector import Connector
from connectors.sdk._errors import PublishFailed, SourceUnavailable, StopConnector
from connectors.sdk._process import Outcome, Output, Processor
from connectors.sdk._publish import Publisher, Serializer
from connectors.sdk._records import Checkpoint, Item, resolve_cursor
from connectors.sdk._retry import Backoff, sleep_unless
from connectors.sdk._source import Source
from connectors.sdk._store import CursorStore

log = structlog.get_logger()
_UNSET = object()
_GC_GEN0 = 20_000


@dataclass
class Totals:
    """Counts since this process started (the store keeps the all-time ones)."""

    published: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)

    def add(self, outcome: Outcome) -> None:
        for out in outcome.outputs:
            self.published[out.topic] += 1
        if outcome.dead_letter is not None:
            self.rejected[outcome.rejected_kind or "rejected"] += 1
        if outcome.skipped is not None:
            self.skipped[outcome.skipped] += 1

    def merge(self, other: Totals) -> None:
        self.published.update(other.published)
        self.rejected.update(other.rejected)
        self.skipped.update(other.skipped)

    def as_counters(self) -> dict[str, int]:
        out = {f"published:{k}": v for k, v in self.published.items()}
        out.update({f"rejected:{k}": v for k, v in self.rejected.items()})
        out.update({f"skipped:{k}": v for k, v in self.skipped.items()})
        return out


@dataclass
class _SourceState:
    source: Source
    cursor: Any
    backoff: Backoff
    iterator: Iterator[Item] | None = None
    next_read: float = 0.0
    caught_up: bool = False
    inflight: tuple[Any, Totals] | None = None


class ConnectorRunner:
    """Runs one connector: ``run()`` until stopped (or once through with ``once=True``).

    A cursor is saved only after ``publisher.flush()`` returned, i.e. after Kafka
    acknowledged every record read before it; a kill at any moment loses nothing.
    """

    def __init__(
        self,
        connector: Connector,
        publisher: Publisher,
        store: CursorStore,
        *,
        serializer: Serializer | None = None,
        batch_size: int = 1000,
        backoff: Callable[[], Backoff] = lambda: Backoff(base=0.5, cap=30.0),
        progress: Callable[[Totals], None] | None = None,
    ) -> None:
        self.connector = connector
        self.publisher = publisher
        self.store = store
        self.processor = Processor(connector, serializer)
        self.batch_size = batch_size
        self._backoff = backoff
        self._progress = progress
        self._stop = threading.Event()
        self.totals = Totals()
        self._outbox: list[Output] = []
        self.log = log.bind(connector=connector.name, hei=connector.hei)

    def stop(self) -> None:
        """Ask the loop to finish the current record, flush, save and return."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self, once: bool = False, sources: list[Source] | None = None) -> Totals:
        """Read every source until stopped; with ``once`` return when each has caught up."""
        self.totals = Totals()  # counts of this run; the store keeps the all-time ones
        srcs = sources if sources is not None else self.connector.sources(self.connector.settings)
        states = [_SourceState(s, self.store.load(s.name), self._backoff()) for s in srcs]
        opened: list[Source] = []
        last_progress = 0.0
        gc_threshold = gc.get_threshold()
        # each record makes dozens of short-lived objects; collecting every 700 allocations costs ~8% of the CPU
        gc.set_threshold(max(gc_threshold[0], _GC_GEN0), *gc_threshold[1:])
        try:
            for st in states:
                st.source.open()
                opened.append(st.source)
            self.store.note("last_run", f"started once={once}")
            while not self._stop.is_set():
                now = time.monotonic()
                for st in states:
                    if st.next_read <= now and not self._stop.is_set():
                        self._step(st, once)
                if self._progress and time.monotonic() - last_progress >= 1.0:
                    self._progress(self.totals)
                    last_progress = time.monotonic()
                if once and all(st.caught_up for st in states):
                    break
                wait = min(st.next_read for st in states) - time.monotonic()
                if wait > 0:
                    sleep_unless(self._stop.is_set, min(wait, 1.0))
        finally:
            gc.set_threshold(*gc_threshold)
            for st in states:
                try:
                    self._settle(st)
                except PublishFailed as exc:
                    self.log.warning("commit_failed", source=st.source.name, error=str(exc))
                if st.iterator is not None:
                    _close(st.iterator)
            for s in opened:
                try:
                    s.close()
                except Exception as exc:
                    self.log.warning("source_close_failed", source=s.name, error=str(exc))
            if self._progress:
                self._progress(self.totals)
            self.store.note("last_run", "stopped")
        return self.totals

    def _step(self, st: _SourceState, once: bool) -> None:
        src = st.source
        batch = Totals()
        items: list[Item] = []
        cursor: Any = _UNSET
        full = False
        problem: BaseException | None = None
        try:
            if st.iterator is None:
                st.iterator = iter(src.read(st.cursor))
            while not self._stop.is_set():
                if len(items) >= self.batch_size:
                    full = True
                    break
                try:
                    item = next(st.iterator)
                except StopIteration:
                    st.iterator = None
                    st.caught_up = True
                    st.next_read = time.monotonic() + src.poll_interval
                    break
                items.append(item)
                if item.cursor is not None:  # None: this item does not move the cursor
                    cursor = item.cursor
                if isinstance(item, Checkpoint):
                    break  # a checkpoint (a file finished, a page passed) is saved at once
        except (SourceUnavailable, StopConnector, Exception) as exc:  # what was read before it still counts
            problem = exc
        try:
            self._process(src.name, items, batch)
            if cursor is not _UNSET:
                # a full batch in the middle of a source stays in flight while the next one is mapped
                self._commit(st, cursor, batch, defer=full and problem is None)
            else:
                self._settle(st)
        except PublishFailed as exc:
            self._fail(st, str(exc), None, once)
            if isinstance(problem, StopConnector):
                raise problem from None
            return
        except SourceUnavailable as exc:  # a mapping's lookup is down: the records are fine, retry them later
            self._unavailable_while_mapping(st, exc, once)
            return
        if problem is None:
            st.backoff.reset()
        elif isinstance(problem, SourceUnavailable):
            self._fail(st, f"{src.describe()} unavailable: {problem}", problem.retry_after, once)
        elif isinstance(problem, StopConnector):
            raise problem
        else:
            self.log.error("source_failed", source=src.name, error=f"{type(problem).__name__}: {problem}",
                           exc_info=problem)
            self._fail(st, f"{src.describe()} failed: {type(problem).__name__}: {problem}", None, once)

    def _unavailable_while_mapping(self, st: _SourceState, exc: SourceUnavailable, once: bool) -> None:
        """Nothing of this batch is sent nor its cursor saved; the batch before it still counts."""
        self._outbox.clear()
        try:
            self._settle(st)
        except PublishFailed as failed:
            self._fail(st, str(failed), None, once)
            return
        self._fail(st, f"mapping {st.source.name} needs a service that is unavailable: {exc}", exc.retry_after, once)

    def _process(self, source: str, items: list[Item], batch: Totals) -> None:
        records = [i for i in items if not isinstance(i, Checkpoint)]
        letters: Counter[str] = Counter()
        for outcome in self.processor.process_many(source, records):  # type: ignore[arg-type]
            outputs: list[Output] = outcome.outputs or ([outcome.dead_letter] if outcome.dead_letter else [])
            self._outbox.extend(outputs)
            if outcome.dead_letter is not None:
                letter = outcome.dead_letter.event
                kind = outcome.rejected_kind or "rejected"
                letters[kind] += 1
                self.log.info("dead_letter", source=source, location=letter.source_location,  # type: ignore[attr-defined]
                              error_kind=kind, reason=letter.reason)  # type: ignore[attr-defined]
            batch.add(outcome)
        if letters:  # one line per batch at warning: operators see bad input without one line per record
            self.log.warning("dead_letters", source=source, dead_letters=sum(letters.values()), records=len(records),
                             by_reason=dict(sorted(letters.items())))

    def _commit(self, st: _SourceState, cursor: Any, batch: Totals, defer: bool = False) -> None:
        """Send the mapped batch; save its cursor once Kafka acknowledged it (at once, or after the next batch is mapped)."""
        value = resolve_cursor(cursor)  # now: a source's state moves on with the next record
        self._settle(st)
        # mapped first, sent in one burst: the producer's sender thread fights the mapping less for the GIL
        outbox, self._outbox = self._outbox, []
        for out in outbox:
            self.publisher.send(out.topic, out.key, out.value)
        if defer:
            st.inflight = (value, batch)
            return
        self.publisher.flush()
        self._save(st, value, batch)

    def _settle(self, st: _SourceState) -> None:
        """Wait for Kafka's acknowledgement of the batch in flight, then save its cursor."""
        if st.inflight is not None:
            self.publisher.flush()
            value, batch = st.inflight
            st.inflight = None
            self._save(st, value, batch)

    def _save(self, st: _SourceState, value: Any, batch: Totals) -> None:
        self.store.save(st.source.name, value, batch.as_counters())
        st.cursor = value
        self.totals.merge(batch)
        st.source.committed(value)
        self.log.debug("cursor_saved", source=st.source.name, cursor=value, published=sum(batch.published.values()))

    def _fail(self, st: _SourceState, message: str, retry_after: float | None, once: bool) -> None:
        self._outbox.clear()
        st.inflight = None  # not acknowledged: it is read again from the saved cursor
        if st.iterator is not None:
            _close(st.iterator)
        st.iterator = None  # re-read from the saved cursor: records after it were not acknowledged
        delay = st.backoff.next_delay(retry_after)
        st.next_read = time.monotonic() + delay
        self.store.note("last_error", message)
        self.log.warning("retrying", source=st.source.name, error=message, in_seconds=round(delay, 2),
                         failures=st.backoff.failures)
        if once and st.backoff.failures >= st.backoff.attempts:
            raise SourceUnavailable(f"gave up after {st.backoff.failures} attempts: {message}")

    # --- reading without publishing -------------------------------------------

    def outcomes(self, cursors: dict[str, Any] | None = None, limit: int | None = None,
                 chunk: int = 500) -> Iterator[tuple[str, Item, Outcome]]:
        """Map records from the saved cursors (or ``cursors``) without publishing or saving anything."""
        left = limit
        for src in self.connector.sources(self.connector.settings):
            src.open()
            try:
                start = cursors[src.name] if cursors is not None and src.name in cursors else self.store.load(src.name)
                items = (i for i in src.read(start) if not isinstance(i, Checkpoint))
                while left is None or left > 0:
                    part = list(itertools.islice(items, chunk if left is None else min(chunk, left)))
                    if not part:
                        break
                    for item, outcome in zip(part, self.processor.process_many(src.name, part), strict=True):  # type: ignore[arg-type]
                        yield src.name, item, outcome
                    if left is not None:
                        left -= len(part)
            finally:
                src.close()

    def replay(self, cursor: Any = None, source: str | None = None) -> list[str]:
        """Reset saved cursors (all sources, or one) to ``cursor`` (``None`` = the beginning)."""
        names = []
        for src in self.connector.sources(self.connector.settings):
            if source is None or src.name == source:
                if cursor is None:
                    src.rewind()
                self.store.reset(src.name, cursor)
                names.append(src.name)
        if source is not None and not names:
            raise KeyError(f"{self.connector.name} has no source {source!r}")
        return names


def _close(iterator: Iterator[Item]) -> None:
    close = getattr(iterator, "close", None)
    if close is not None:
        try:
            close()
        except Exception:
            pass

