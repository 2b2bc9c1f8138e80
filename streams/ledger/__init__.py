"""The registrar ledger: recognition decisions, mobility status, deadline alerts and LA versions in SQL.

    >>> from streams.ledger import Ledger, LedgerWriter
    >>> ledger = Ledger("sqlite:///.hub-data/ledger.sqlite")        # doctest: +SKIP
    >>> await LedgerWriter(bootstrap, registry_url, ledger).run()   # doctest: +SKIP

Tables and columns are documented in ``streams.ledger.schema``.
"""

from streams.ledger.schema import (
    agreements,
    alerts,
    decisions,
    history,
    metadata,
    mobilities,
    offsets,
)
from streams.ledger.store import (
    RECOGNISED,
    Batch,
    Ledger,
    LedgerUnavailable,
    agreement_of,
)
from streams.ledger.writer import LEDGER_TOPICS, LedgerWriter

__all__ = [
    "LEDGER_TOPICS",
    "RECOGNISED",
    "Batch",
    "Ledger",
    "LedgerUnavailable",
    "LedgerWriter",
    "agreement_of",
    "agreements",
    "alerts",
    "decisions",
    "history",
    "metadata",
    "mobilities",
    "offsets",
]
