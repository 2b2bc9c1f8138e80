"""A faust consumer that never hands on records fetched before a rebalance or a seek.

faust-streaming 0.15 fetches in a consumer thread.  A fetch can be in flight
while the group rebalances: faust then seeks every partition back to its
committed offset, but the fetch still returns the records it read before the
seek, with a generation id read only after they arrived.  The drain loop
takes the jump from the committed offset to those records as a gap, gap
offsets count as acknowledged, and the records in between are committed
without ever reaching an agent (faust-streaming issues #216 and #221 describe
the symptoms).  Worse, aiokafka's ``seek_to_committed`` leaves a partition
that has no committed offset yet where it is, so the seek back does not
rewind it at all.

Here a fetch that overlapped a seek or a generation change is dropped and the
partitions are sought back to their committed offsets again, those without
one to their beginning (the ``earliest`` reset the app asks for), so those
records are fetched anew and processed (at least once: the agents' state
makes a repeat harmless).
"""

from __future__ import annotations

import structlog
from faust.transport.drivers import aiokafka as faust_aiokafka

__all__ = ["RebalanceSafeConsumer", "use_rebalance_safe_consumer"]

log = structlog.get_logger("streams.consumer")


class RebalanceSafeConsumer(faust_aiokafka.Consumer):
    """faust's aiokafka consumer, minus the stale fetch after a rebalance."""

    _seeks = 0  # seeks so far: a fetch that overlapped one returns records from before it

    async def perform_seek(self) -> None:
        self._seeks += 1
        await super().perform_seek()

    async def seek_to_committed(self):
        committed = await super().seek_to_committed()
        fresh = [tp for tp, offset in committed.items() if not offset]  # aiokafka skips these (None or 0)
        if fresh:
            consumer = self._thread._ensure_consumer()
            await self._thread.call_thread(consumer.seek_to_beginning, *fresh)
        return committed

    async def seek(self, partition, offset: int) -> None:
        self._seeks += 1
        await super().seek(partition, offset)

    async def _wait_next_records(self, timeout: float):
        if not self.flow_active:  # count seeks only after it: a rebalance ends with a seek, then resumes the flow
            await self.wait(self.can_resume_flow)
        seeks, generation = self._seeks, self.app.consumer_generation_id
        records, active = await super()._wait_next_records(timeout)
        if records and (seeks != self._seeks or generation != self.app.consumer_generation_id):
            log.warning("stale_fetch_dropped", partitions=len(records), records=sum(map(len, records.values())),
                        why="fetched before a rebalance or seek; seeking back to the committed offsets")
            try:
                await self.perform_seek()
            except Exception as exc:  # noqa: BLE001 - the rebalance in progress seeks again when it resumes
                log.warning("seek_after_stale_fetch_failed", error=repr(exc))
            return {}, active
        return records, active


def use_rebalance_safe_consumer(app) -> None:
    """Make ``app`` create :class:`RebalanceSafeConsumer` (call before the worker starts)."""
    app.transport.Consumer = RebalanceSafeConsumer
