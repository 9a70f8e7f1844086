"""How the store reaches S3: the connection options, the boto3 client, waiting out a brief
outage (``_patience``), and error translation.

Each request waits at most ``CONNECT_TIMEOUT_S`` to connect and ``READ_TIMEOUT_S`` for an
answer; a failed one is retried for up to ``retry_for_s`` seconds per outage. So a dead server
stops the run after about ``retry_for_s`` seconds (a server that accepts connections but never
answers, after at most ``retry_for_s + READ_TIMEOUT_S``).

Explicit credentials are kept out of every ``repr`` and message: ``Connection.redact`` replaces
them wherever a driver message might echo them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from venomqa.errors import StoreError, StorePermissionError, StoreUnreachableError

from venomqa_s3._patience import Patience, S3Contradicts, S3Unanswered

T = TypeVar("T")

ADAPTER = "s3"
#: The first request of ``setup()``: failing to connect then means S3 cannot be reached.
CHECK_BUCKET = "check the bucket"
_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@/\s]+@")
# What a presigned URL carries in its query: keys, signatures, session tokens.
_PRESIGNED = re.compile(
    r"([?&](?:AWSAccessKeyId|Signature|X-Amz-Credential|X-Amz-Signature|X-Amz-Security-Token)=)"
    r"[^&\s\"'<>]+",
    re.IGNORECASE,
)
_DENIED = {"AccessDenied", "AllAccessDisabled", "AccessDeniedException", "Forbidden", "403"}
_BAD_KEYS = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken"}

#: Seconds to wait for a connection, and for an answer once connected, per request.
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 10.0
#: Default of the ``retry_for_s`` option: how long an outage the store waits out.
RETRY_FOR_S = 20.0

# What the store does with the bucket, for permission errors.
NEEDED_PERMISSIONS = (
    "s3:ListBucket, s3:ListBucketVersions, s3:GetBucketVersioning, s3:PutBucketVersioning, "
    "s3:GetObject, s3:GetObjectVersion, s3:PutObject, s3:DeleteObject, s3:DeleteObjectVersion"
)


@dataclass
class Connection:
    """Where the bucket lives and how to sign requests; builds the boto3 client on first use."""

    bucket: str
    endpoint_url: str | None = None
    region_name: str | None = None
    aws_access_key_id: str | None = field(default=None, repr=False)
    aws_secret_access_key: str | None = field(default=None, repr=False)
    aws_session_token: str | None = field(default=None, repr=False)
    addressing_style: str | None = None
    retry_for_s: float = RETRY_FOR_S
    _client: Any = field(default=None, init=False, repr=False, compare=False)
    _patience: Patience | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def endpoint(self) -> str:
        """The endpoint URL without credentials (AWS's default endpoint when none is set)."""
        if not self.endpoint_url:
            return f"AWS S3 ({self.region_name or 'default region'})"
        return _URL_PASSWORD.sub(r"\1***@", self.endpoint_url)

    @property
    def bucket_label(self) -> str:
        """``bucket 'NAME'``."""
        return f"bucket {self.bucket!r}"

    @property
    def where(self) -> str:
        """The bucket and endpoint, for messages (no credentials)."""
        endpoint = _URL_PASSWORD.sub(r"\1***@", self.endpoint_url) if self.endpoint_url else None
        return f"bucket {self.bucket!r}" + (f" at {endpoint}" if endpoint else "")

    def client(self) -> Any:
        """The boto3 S3 client (imports boto3 on the first call)."""
        if self._client is None:
            import boto3
            from botocore.config import Config

            style = self.addressing_style or ("path" if self.endpoint_url else "auto")
            with self.errors("create the S3 client"):
                self._client = boto3.session.Session().client(
                    "s3",
                    endpoint_url=self.endpoint_url,
                    region_name=self.region_name,
                    aws_access_key_id=self.aws_access_key_id,
                    aws_secret_access_key=self.aws_secret_access_key,
                    aws_session_token=self.aws_session_token,
                    config=Config(
                        s3={"addressing_style": style},
                        retries={"total_max_attempts": 1},  # Patience retries, with a deadline
                        connect_timeout=CONNECT_TIMEOUT_S,
                        read_timeout=READ_TIMEOUT_S,
                        max_pool_connections=16,
                    ),
                )
        return self._client

    @property
    def patience(self) -> Patience:
        """The retry policy shared by every request to this bucket (see ``_patience``)."""
        if self._patience is None:
            self._patience = Patience(self.retry_for_s, self.where, self.redact)
        return self._patience

    def call(self, operation: str, fn: Callable[[], T]) -> T:
        """``fn()`` (requests to S3), retried through a brief outage; a failure becomes the
        StoreError ``translate`` makes of it."""
        with self.errors(operation):
            return self.patience.call(fn)

    def redact(self, text: str) -> str:
        """``text`` with every explicit credential, and the keys, signatures and tokens of
        presigned URLs (the listings use them), replaced by ``***``."""
        for secret in (self.aws_secret_access_key, self.aws_session_token, self.aws_access_key_id):
            if secret:
                text = text.replace(secret, "***")
        text = _PRESIGNED.sub(r"\1***", text)
        return _URL_PASSWORD.sub(r"\1***@", text)

    @contextmanager
    def errors(self, operation: str) -> Iterator[None]:
        """Turn botocore errors raised inside into StoreError / StorePermissionError."""
        try:
            yield
        except StoreError:
            raise
        except Exception as exc:
            raise self.translate(operation, exc) from exc

    def translate(self, operation: str, exc: Exception) -> StoreError:
        """The StoreError a user can act on for a driver error met while doing ``operation``."""
        where = f"{operation} on {self.where} failed"
        if isinstance(exc, S3Unanswered) and isinstance(exc.cause, S3Contradicts):
            return StoreError(
                f"{where}: for {exc.waited_s:.0f}s S3 kept answering that {exc.cause}: either "
                "the server answers inconsistently, or the API under test deletes object "
                "versions by id, which the store cannot roll back",
                store=ADAPTER,
            )
        if isinstance(exc, S3Unanswered) and operation == CHECK_BUCKET and _unreachable(exc.cause):
            cause = self.redact(f"{type(exc.cause).__name__}: {exc.cause}")
            return StoreUnreachableError(
                f"cannot connect to {self.endpoint} ({self.bucket_label}): {cause} (no answer "
                f"for {exc.waited_s:.0f}s; option `retry_for_s` sets how long to wait)",
                store=ADAPTER,
            )
        if isinstance(exc, S3Unanswered):
            cause = self.redact(f"{type(exc.cause).__name__}: {exc.cause}")
            return StoreError(
                f"{where}: S3 did not answer for {exc.waited_s:.0f}s (last: {cause}); the store "
                f"waits up to {self.retry_for_s:g}s (option `retry_for_s`) for it to come back. "
                "Check `endpoint_url` and that the server is running",
                store=ADAPTER,
            )
        code = error_code(exc)
        detail = self.redact(f"{type(exc).__name__}: {exc}")
        if code in _DENIED:
            return StorePermissionError(
                f"{where}: access denied ({detail}); the credentials need {NEEDED_PERMISSIONS}",
                store=ADAPTER,
            )
        if code in _BAD_KEYS or type(exc).__name__ in {"NoCredentialsError", "PartialCredentials"}:
            return StoreError(
                f"{where}: the credentials were refused or are missing ({detail}); set "
                "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile, or the store's "
                "aws_access_key_id/aws_secret_access_key options",
                store=ADAPTER,
            )
        if code in {"NoSuchBucket", "404"} and "bucket" in operation:
            return StoreError(
                f"{where}: the bucket does not exist; create it or fix the `bucket` option",
                store=ADAPTER,
            )
        if _unreachable(exc) and operation == CHECK_BUCKET:
            return StoreUnreachableError(
                f"cannot connect to {self.endpoint} ({self.bucket_label}): {detail}",
                store=ADAPTER,
            )
        if _unreachable(exc):
            return StoreError(
                f"{where}: S3 is unreachable ({detail}); check `endpoint_url` and that the "
                "server is running",
                store=ADAPTER,
            )
        return StoreError(f"{where}: {detail}", store=ADAPTER)


def _unreachable(exc: BaseException | None) -> bool:
    """Whether ``exc`` says no connection to S3 could be opened."""
    return type(exc).__name__ in {"EndpointConnectionError", "ConnectTimeoutError"}


def error_code(exc: Exception) -> str:
    """The S3 error code of a botocore ClientError ('' for other errors)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""
