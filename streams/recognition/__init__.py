"""Credit recognition and grade conversion as pure code (DESIGN.md §6); no Kafka or faust here.

Front door::

    from streams.recognition import RecognitionEngine, StudentRecognition, convert, HostResult

- ``StudentRecognition(esi).apply(event) -> list[RecognitionDecision]``: the state
  machine for one student (``to_dict()`` / ``from_dict()`` for a faust table);
- ``RecognitionEngine().apply(event)``: the same for many students, routed by ESI;
- ``convert(HostResult(scheme_id, label), home_hei, field=, year=) -> Converted``:
  one grade conversion with its provenance; ``explain_conversion`` says it in words;
- ``load_tables(folder)`` / ``default_tables()``: validated ECTS grading tables.
"""

from .conversion import Converted, Converter, HostResult, convert, converter_for
from .engine import RecognitionEngine, Unroutable
from .explain import conversion_clause, decision_line, explain_conversion
from .rules import StudentRecognition, apply
from .tables import DEFAULT_TABLES_DIR, GradingTable, GradingTables, TableError, default_tables, load_tables

__all__ = [
    "DEFAULT_TABLES_DIR",
    "Converted",
    "Converter",
    "GradingTable",
    "GradingTables",
    "HostResult",
    "RecognitionEngine",
    "StudentRecognition",
    "TableError",
    "Unroutable",
    "apply",
    "conversion_clause",
    "convert",
    "converter_for",
    "decision_line",
    "default_tables",
    "explain_conversion",
    "load_tables",
]
