"""Source kinds any partner connector can use: HTTP polling, Atom feed, file drop, SQL polling, webhook, EWP."""

from connectors.sources._atom import AtomEntry, AtomFeedSource, AtomRecord
from connectors.sources._ewp import EwpSource
from connectors.sources._ewp_parse import (
    EwpComponent,
    LaVersion,
    LearningAgreementDoc,
    OMobilityDoc,
    TorResult,
    TranscriptDoc,
    parse_la,
    parse_omobility,
    parse_tor,
)
from connectors.sources._files import FileDropSource, element_dict
from connectors.sources._http import HttpSource, dig
from connectors.sources._httpclient import RetryingClient, retry_after_seconds
from connectors.sources._sql import SqlSource
from connectors.sources._webhook import WebhookSource

__all__ = [
    "AtomEntry",
    "AtomFeedSource",
    "AtomRecord",
    "EwpComponent",
    "EwpSource",
    "FileDropSource",
    "HttpSource",
    "LaVersion",
    "LearningAgreementDoc",
    "OMobilityDoc",
    "RetryingClient",
    "SqlSource",
    "TorResult",
    "TranscriptDoc",
    "WebhookSource",
    "dig",
    "element_dict",
    "parse_la",
    "parse_omobility",
    "parse_tor",
    "retry_after_seconds",
]
