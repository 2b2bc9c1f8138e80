"""What can go wrong when starting a broker, named for what the caller does next.

::

    BrokerError                 base class
    ├── EngineUnavailable       this engine cannot run here: install what is named, or pick another engine
    └── BrokerStartFailed       the engine ran but never answered: read the broker output in the message
"""

from __future__ import annotations


class BrokerError(RuntimeError):
    """Base class of every embedded-broker error."""


class EngineUnavailable(BrokerError):
    """The requested engine cannot run on this machine (Java, Maven, jars or the Tansu binary missing)."""


class BrokerStartFailed(BrokerError):
    """The broker process started but did not answer a metadata request in time, or it exited."""

    def __init__(self, message: str, output_tail: str = "") -> None:
        self.output_tail = output_tail
        text = message if not output_tail else f"{message}\n--- last lines of the broker output ---\n{output_tail}"
        super().__init__(text)
