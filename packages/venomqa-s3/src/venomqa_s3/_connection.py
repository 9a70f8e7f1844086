"""How the store reaches S3: the connection options, the boto3 client, and error translation.

Explicit credentials are kept out of every ``repr`` and message: ``Connection.redact`` replaces
them wherever a driver message might echo them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from venomqa.errors import StoreError, StorePermissionError

ADAPTER = "s3"
_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@/\s]+@")
_DENIED = {"AccessDenied", "AllAccessDisabled", "AccessDeniedException", "Forbidden", "403"}
_BAD_KEYS = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken"}

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
    _client: Any = field(default=None, init=False, repr=False, compare=False)

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
                        retries={"max_attempts": 3, "mode": "standard"},
                        max_pool_connections=16,
                    ),
                )
        return self._client

    def redact(self, text: str) -> str:
        """``text`` with every explicit credential replaced by ``***``."""
        for secret in (self.aws_secret_access_key, self.aws_session_token, self.aws_access_key_id):
            if secret:
                text = text.replace(secret, "***")
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
        code = error_code(exc)
        detail = self.redact(f"{type(exc).__name__}: {exc}")
        where = f"{operation} on {self.where} failed"
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
        if type(exc).__name__ in {"EndpointConnectionError", "ConnectTimeoutError"}:
            return StoreError(
                f"{where}: S3 is unreachable ({detail}); check `endpoint_url` and that the "
                "server is running",
                store=ADAPTER,
            )
        return StoreError(f"{where}: {detail}", store=ADAPTER)


def error_code(exc: Exception) -> str:
    """The S3 error code of a botocore ClientError ('' for other errors)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""
