"""Write-back sinks: recognised credits from ``hub.recognitions`` into a home SIS (CSV export or SQL insert)."""

from connectors.sinks._runner import SinkRunner, SinkTotals
from connectors.sinks._sink import COLUMNS, FileExportSink, Sink, SqlInsertSink, row_of

__all__ = ["COLUMNS", "FileExportSink", "Sink", "SinkRunner", "SinkTotals", "SqlInsertSink", "row_of"]
