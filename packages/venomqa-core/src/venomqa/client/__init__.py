"""The HTTP client actions call as ``api``: records every exchange, retries, trips, redacts.

``Client`` (httpx-based) appends a redacted RequestRecord to ``history`` for every exchange;
``RetryPolicy`` and ``CircuitBreaker`` shape how it copes with a flaky API; ``BearerAuth``,
``ApiKeyAuth`` and ``BasicAuth`` authenticate; ``SensitiveDataFilter`` and ``SecretsManager``
keep credentials out of records and reports.

Names load on first use, so ``venomqa.client.redaction`` (used by reporters) does not import
httpx.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from venomqa.lazy import lazy_getattr

if TYPE_CHECKING:
    from venomqa.client._client import Client
    from venomqa.client.auth import ApiKeyAuth, BasicAuth, BearerAuth
    from venomqa.client.circuit import CircuitBreaker
    from venomqa.client.redaction import SensitiveDataFilter
    from venomqa.client.retry import RetryPolicy
    from venomqa.client.secrets import SecretsManager

_LAZY = {
    "Client": "venomqa.client._client",
    "ApiKeyAuth": "venomqa.client.auth",
    "BasicAuth": "venomqa.client.auth",
    "BearerAuth": "venomqa.client.auth",
    "CircuitBreaker": "venomqa.client.circuit",
    "SensitiveDataFilter": "venomqa.client.redaction",
    "RetryPolicy": "venomqa.client.retry",
    "SecretsManager": "venomqa.client.secrets",
}


__getattr__ = lazy_getattr(__name__, _LAZY)


__all__ = [
    "ApiKeyAuth",
    "BasicAuth",
    "BearerAuth",
    "CircuitBreaker",
    "Client",
    "RetryPolicy",
    "SecretsManager",
    "SensitiveDataFilter",
]
