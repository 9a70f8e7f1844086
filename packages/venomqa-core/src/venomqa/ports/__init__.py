"""Ports: the Protocols the engine talks to. No dependencies beyond the models."""

from venomqa.ports.cache import CachePort
from venomqa.ports.client import ClientPort, HttpResponse
from venomqa.ports.database import DatabasePort, QueryParams
from venomqa.ports.queue import QueuePort
from venomqa.ports.reporter import ExplorationObserver, ReporterPort, notify
from venomqa.ports.source import ActionSourcePort, Contribution
from venomqa.ports.storage import StoragePort
from venomqa.ports.store import (
    REQUIRED_STORE_METHODS,
    FieldValue,
    RecordChange,
    StorePort,
    SupportsClone,
    SupportsRecords,
    SupportsRelease,
    missing_store_methods,
    optional_release,
    records_of,
)

__all__ = [
    "REQUIRED_STORE_METHODS",
    "ActionSourcePort",
    "CachePort",
    "ClientPort",
    "Contribution",
    "DatabasePort",
    "ExplorationObserver",
    "FieldValue",
    "HttpResponse",
    "QueryParams",
    "QueuePort",
    "RecordChange",
    "ReporterPort",
    "StoragePort",
    "StorePort",
    "SupportsClone",
    "SupportsRecords",
    "SupportsRelease",
    "missing_store_methods",
    "notify",
    "optional_release",
    "records_of",
]
