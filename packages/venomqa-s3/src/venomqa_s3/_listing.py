"""Listing a bucket (or prefix) fast, and removing object versions.

boto3 spends about four times as long parsing a listing page as S3 takes to send it, and the
store lists after every action. So listings go through URLs presigned by the boto3 client (same
endpoint, credentials and addressing as every other call) sent by botocore's own HTTP session,
and the XML is parsed with ElementTree (namespaces dropped). Errors come back as botocore
``ClientError`` (with the HTTP status), with the client's connect and read timeouts. A listing of
the current objects comes with the server's time (see ``_freshness``).
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from venomqa_s3._freshness import server_time

_BATCH = 1000  # DeleteObjects takes at most 1,000 entries per request

Current = tuple[str, int, str]  # (ETag, size, LastModified) of a key's current version
CurrentListing = dict[str, Current]


@dataclass(frozen=True)
class Page:
    """One page of a listing (namespaces dropped) and the ``Date`` header of its answer."""

    root: ET.Element
    date: str | None


@dataclass
class Lister:
    """Sends presigned listing requests for one boto3 S3 client."""

    client: Any
    _http: Any = None

    def pages(self, operation: str, params: dict[str, Any]) -> Iterator[Page]:
        """Every page of ``operation`` (list_objects_v2 / list_object_versions)."""
        params = dict(params)
        while True:
            page = self._get(operation, params)
            yield page
            root = page.root
            if _text(root, "IsTruncated") != "true":
                return
            if operation == "list_objects_v2":
                params["ContinuationToken"] = _text(root, "NextContinuationToken")
            else:
                params["KeyMarker"] = _text(root, "NextKeyMarker")
                params["VersionIdMarker"] = _text(root, "NextVersionIdMarker")

    def _get(self, operation: str, params: dict[str, Any]) -> Page:
        from botocore.awsrequest import AWSRequest
        from botocore.exceptions import ClientError
        from botocore.httpsession import URLLib3Session
        from botocore.utils import get_environ_proxies

        if self._http is None:  # the proxies from the environment, as boto3's own session
            endpoint, config = self.client.meta.endpoint_url, self.client.meta.config
            self._http = URLLib3Session(
                proxies=get_environ_proxies(endpoint),
                timeout=(config.connect_timeout, config.read_timeout),
                max_pool_connections=16,
            )
        url = self.client.generate_presigned_url(operation, Params=params, ExpiresIn=600)
        response = self._http.send(AWSRequest(method="GET", url=url).prepare())
        body = response.content
        if response.status_code != 200:
            code, message = str(response.status_code), body[:200].decode(errors="replace")
            try:
                error = ET.fromstring(body)
                code = error.findtext("Code") or code
                message = error.findtext("Message") or message
            except ET.ParseError:
                pass
            raise ClientError(
                {
                    "Error": {"Code": code, "Message": message},
                    "ResponseMetadata": {"HTTPStatusCode": response.status_code},
                },
                operation,
            )
        root = ET.fromstring(body)
        for element in root.iter():  # S3 uses a namespace, some compatible servers do not
            if element.tag.startswith("{"):
                element.tag = element.tag.partition("}")[2]
        return Page(root, response.headers.get("Date"))


def list_current(lister: Lister, bucket: str, prefix: str) -> tuple[CurrentListing, datetime]:
    """Every current object under ``prefix`` (key -> (ETag, size, LastModified)), and the
    server's time when it answered the first page."""
    listing: CurrentListing = {}
    started: datetime | None = None
    for page in lister.pages("list_objects_v2", {"Bucket": bucket, "Prefix": prefix}):
        started = started or server_time(page.date)
        for entry in page.root.iter("Contents"):
            listing[_text(entry, "Key")] = (
                _text(entry, "ETag"),
                int(_text(entry, "Size") or 0),
                _text(entry, "LastModified"),
            )
    return listing, started or server_time(None)


def list_versions(lister: Lister, bucket: str, prefix: str) -> dict[str, frozenset[str]]:
    """Every key under ``prefix`` with the ids of all its versions and delete markers."""
    found: dict[str, set[str]] = {}
    for page in lister.pages("list_object_versions", {"Bucket": bucket, "Prefix": prefix}):
        for tag in ("Version", "DeleteMarker"):
            for entry in page.root.iter(tag):
                found.setdefault(_text(entry, "Key"), set()).add(_text(entry, "VersionId"))
    return {key: frozenset(ids) for key, ids in found.items()}


def key_versions(lister: Lister, bucket: str, key: str) -> frozenset[str]:
    """The ids of every version and delete marker of exactly ``key``.

    Keys sort after their prefixes, so the key's own entries come first; the listing stops at
    the first other key instead of reading every key that starts with this one.
    """
    ids: set[str] = set()
    params = {"Bucket": bucket, "Prefix": key, "MaxKeys": 100}
    for page in lister.pages("list_object_versions", params):
        others = False
        for tag in ("Version", "DeleteMarker"):
            for entry in page.root.iter(tag):
                if _text(entry, "Key") == key:
                    ids.add(_text(entry, "VersionId"))
                else:
                    others = True
        if others:
            break
    return frozenset(ids)


def fingerprint(listing: CurrentListing) -> str:
    """16 hex digits from the current keys, ETags and sizes."""
    digest = hashlib.blake2b(digest_size=8)
    for key in sorted(listing):
        etag, size, _ = listing[key]
        digest.update(f"{key}\0{etag}\0{size}\n".encode())
    return digest.hexdigest()


class RefusedDeletes(RuntimeError):
    """S3 refused to delete some versions of a DeleteObjects request; ``codes`` says why."""

    def __init__(self, message: str, codes: frozenset[str]) -> None:
        super().__init__(message)
        self.codes = codes


def delete_versions(client: Any, bucket: str, versions: Iterable[tuple[str, str]]) -> None:
    """Permanently remove the given (key, version id) entries, 1,000 per request.

    Deleting a version that is already gone succeeds, so a repeated call is harmless.
    Raises RefusedDeletes naming the entries S3 refused to delete.
    """
    pending = [{"Key": key, "VersionId": version} for key, version in versions]
    for start in range(0, len(pending), _BATCH):
        batch = pending[start : start + _BATCH]
        if len(batch) == 1:
            client.delete_object(Bucket=bucket, **batch[0])
            continue
        answer = client.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
        failed = answer.get("Errors") or []
        if failed:
            shown = ", ".join(
                f"{e.get('Key')}@{e.get('VersionId')}: {e.get('Code')} {e.get('Message', '')}"
                for e in failed[:5]
            )
            raise RefusedDeletes(
                f"S3 refused to delete {len(failed)} version(s): {shown}",
                frozenset(str(e.get("Code", "")) for e in failed),
            )


def _text(element: ET.Element, tag: str) -> str:
    return element.findtext(tag) or ""
