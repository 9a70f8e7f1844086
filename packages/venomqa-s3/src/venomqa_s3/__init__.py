"""VenomQA's S3 store: checkpoint and roll back a bucket (or a prefix) another process writes."""

from venomqa_s3.store import S3Store

__all__ = ["S3Store"]
