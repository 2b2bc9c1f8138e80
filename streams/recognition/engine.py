"""Recognition over many students at once: routes events to each student's state.

The stream processor keys state by student ESI; this is the same routing for the
``hub decide`` command, tests and the benchmark.  Registrar decisions carry no ESI,
so they are routed by their mobility id (one registrar decision for a mobility not
seen yet waits until the mobility arrives).
"""

from __future__ import annotations

from schemas.models import Event, Grade, Mobility, RecognitionDecision, RegistrarDecision

from .conversion import converter_for
from .rules import StudentRecognition
from .tables import GradingTables

__all__ = ["RecognitionEngine", "Unroutable"]


class Unroutable(ValueError):
    """An event that names no student (a grade without ``student_esi``); skip it and say so."""


class RecognitionEngine:
    """A dict of StudentRecognition by ESI with the routing the hub topics give for free."""

    def __init__(self, tables: GradingTables | None = None):
        self.converter = converter_for(tables)
        self.students: dict[str, StudentRecognition] = {}
        self._student_of: dict[str, str] = {}  # omobility_id -> ESI
        self._waiting: dict[str, list[RegistrarDecision]] = {}

    def student(self, esi: str) -> StudentRecognition:
        state = self.students.get(esi)
        if state is None:
            state = self.students[esi] = StudentRecognition(esi, converter=self.converter)
        return state

    def apply(self, event: Event) -> list[RecognitionDecision]:
        """Route one event; return the decisions it changes. Other event types change nothing."""
        kind = type(event)
        if kind is Grade or (kind is not Mobility and isinstance(event, Grade)):
            esi = event.student_esi
            if not esi:
                raise Unroutable(f"grade {event.result_id} at {event.hei} has no student_esi: the normaliser must set it")
            state = self.students.get(esi)
            if state is None:
                state = self.student(esi)
            # the handler itself: StudentRecognition.apply would only look it up by type
            return state._grade(event) if kind is Grade else state.apply(event)
        if kind is Mobility or isinstance(event, Mobility):
            esi = event.student_esi
            self._student_of[event.omobility_id] = esi
            state = self.students.get(esi)
            if state is None:
                state = self.student(esi)
            out = state._mobility(event) if kind is Mobility else state.apply(event)
            if self._waiting:
                for waiting in self._waiting.pop(event.omobility_id, ()):
                    out.extend(state.apply(waiting))
            return out
        if isinstance(event, RegistrarDecision):
            esi = self._student_of.get(event.omobility_id)
            if esi is None:
                self._waiting.setdefault(event.omobility_id, []).append(event)
                return []
            return self.student(esi).apply(event)
        return []

    def run(self, events) -> list[RecognitionDecision]:
        out: list[RecognitionDecision] = []
        for event in events:
            out.extend(self.apply(event))
        return out
