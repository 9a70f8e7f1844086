"""Listing a bucket (or prefix) fast, and removing object versions.

boto3 spends about four times as long parsing a listing page as S3 takes to send it, and the
store lists after every action. So listings go through URLs presigned by the boto3 client (same
endpoint, credentials and addressing as every other call) sent by botocore's own HTTP session,
and the XML is parsed with ElementTree (namespaces dropped), only when it is read. Errors come
back as botocore ``ClientError`` (with the HTTP status), with the client's connect and read
timeouts. A listing of the current objects comes with the server's time (see ``_freshness``).

Most pages of a listing of a bucket the API mostly leaves alone are byte for byte the pages of
the listing before: ``list_current`` keeps the previous listing's pages (raw bytes and what they
said) and takes a page it has seen again without parsing it. Its cost in VenomQA's process is
then O(pages that changed); the server still sends every page.
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from venomqa_s3._freshness import server_time

_BATCH = 1000  # DeleteObjects takes at most 1,000 entries per request

Current = tuple[str, int, str]  # (ETag, size, LastModified) of a key's current version
CurrentListing = dict[str, Current]


class Page:
    """One page of a listing: its body, parsed (namespaces dropped) when ``root`` is first
    read, and the ``Date`` header of its answer."""

    def __init__(self, body: bytes, date: str | None) -> None:
        self.body = body
        self.date = date

    @cached_property
    def root(self) -> ET.Element:
        root = ET.fromstring(self.body)
        for element in root.iter():  # S3 uses a namespace, some compatible servers do not
            if element.tag.startswith("{"):
                element.tag = element.tag.partition("}")[2]
        return root


#: What a page of current objects said: its entries, and the next page's continuation token
#: (None on the last page).
CurrentPage = tuple[CurrentListing, str | None]


@dataclass
class Lister:
    """Sends presigned listing requests for one boto3 S3 client."""

    client: Any
    _http: Any = None
    #: The pages of the previous ``list_current``, by body (see the module docstring).
    last_pages: dict[bytes, CurrentPage] = field(default_factory=dict)

    def pages(self, operation: str, params: dict[str, Any]) -> Iterator[Page]:
        """Every page of ``operation`` (list_objects_v2 / list_object_versions)."""
        params = dict(params)
        while True:
            page = self.get(operation, params)
            yield page
            root = page.root
            if _text(root, "IsTruncated") != "true":
                return
            if operation == "list_objects_v2":
                params["ContinuationToken"] = _text(root, "NextContinuationToken")
            else:
                params["KeyMarker"] = _text(root, "NextKeyMarker")
                params["VersionIdMarker"] = _text(root, "NextVersionIdMarker")

    def get(self, operation: str, params: dict[str, Any]) -> Page:
        """One page of ``operation`` with these parameters."""
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
        return Page(body, response.headers.get("Date"))


def list_current(lister: Lister, bucket: str, prefix: str) -> tuple[CurrentListing, datetime]:
    """Every current object under ``prefix`` (key -> (ETag, size, LastModified)), and the
    server's time when it answered the first page. A page equal byte for byte to one of the
    previous listing's is not parsed again."""
    listing: CurrentListing = {}
    started: datetime | None = None
    params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    pages: dict[bytes, CurrentPage] = {}
    while True:
        page = lister.get("list_objects_v2", params)
        started = started or server_time(page.date)
        said = lister.last_pages.get(page.body) or pages.get(page.body) or _current_page(page)
        pages[page.body] = said
        listing.update(said[0])
        if said[1] is None:
            break
        params["ContinuationToken"] = said[1]
    lister.last_pages = pages
    return listing, started or server_time(None)


def _current_page(page: Page) -> CurrentPage:
    root = page.root
    entries = {
        _text(entry, "Key"): (
            _text(entry, "ETag"),
            int(_text(entry, "Size") or 0),
            _text(entry, "LastModified"),
        )
        for entry in root.iter("Contents")
    }
    more = _text(root, "IsTruncated") == "true"
    return entries, _text(root, "NextContinuationToken") if more else None


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
