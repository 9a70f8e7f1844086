"""The HTTP client actions call as ``api``: records every exchange, retries, trips, redacts.

``Client`` (httpx-based) appends a redacted RequestRecord to ``history`` for every exchange;
``RetryPolicy`` and ``CircuitBreaker`` shape how it copes with a flaky API; ``BearerAuth``,
``ApiKeyAuth`` and ``BasicAuth`` authenticate; ``SensitiveDataFilter`` and ``SecretsManager``
keep credentials out of records and reports.
"""

from venomqa.client._client import Client
from venomqa.client.auth import ApiKeyAuth, BasicAuth, BearerAuth
from venomqa.client.circuit import CircuitBreaker
from venomqa.client.redaction import SensitiveDataFilter
from venomqa.client.retry import RetryPolicy
from venomqa.client.secrets import SecretsManager

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
