"""The venomqa-s3 plugin: registers the ``s3`` store adapter. Does not import boto3."""

from __future__ import annotations

from venomqa import hookimpl


@hookimpl
def venomqa_register_adapters() -> list[type]:
    from venomqa_s3.store import S3Store

    return [S3Store]
