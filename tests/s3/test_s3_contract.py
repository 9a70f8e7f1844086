"""venomqa.testing's store contract suite, run against S3Store on a real SeaweedFS server.

The writer is a separate Python process with its own boto3 client, like an API under test.
Its snapshot holds the versioning status and every version of every key (content, content type,
user metadata), so "teardown leaves no trace" also proves the versions VenomQA caused are gone.
"""

from __future__ import annotations

from typing import Any

import pytest
from _support_s3 import SeaweedFS
from venomqa.testing import StoreContract, SubprocessWriter
from venomqa_s3 import S3Store


class S3Writer(SubprocessWriter):
    prelude = (
        "import boto3\n"
        "from botocore.config import Config\n"
        "s3 = boto3.client('s3', endpoint_url=options['endpoint_url'],"
        " config=Config(s3={'addressing_style': 'path'}))\n"
        "bucket, prefix = options['bucket'], options['prefix']\n"
    )
    write_code = (
        "s3.put_object(Bucket=bucket, Key=prefix + key, Body=value.encode(),"
        " ContentType='text/x-' + value, Metadata={'written': value})"
    )
    delete_code = "s3.delete_object(Bucket=bucket, Key=prefix + key)"
    read_all_code = (
        "result = {}\n"
        "for page in s3.get_paginator('list_objects_v2').paginate(Bucket=bucket, Prefix=prefix):\n"
        "    for e in page.get('Contents', []):\n"
        "        o = s3.get_object(Bucket=bucket, Key=e['Key'])\n"
        "        result[e['Key'][len(prefix):]] = o['Body'].read().decode()\n"
        "        assert o['ContentType'] == 'text/x-' + result[e['Key'][len(prefix):]]\n"
        "        assert o['Metadata'] == {'written': result[e['Key'][len(prefix):]]}\n"
    )
    snapshot_code = (
        "status = s3.get_bucket_versioning(Bucket=bucket).get('Status')\n"
        "keys = {}\n"
        "for page in s3.get_paginator('list_object_versions').paginate(Bucket=bucket):\n"
        "    for v in page.get('Versions', []):\n"
        "        o = s3.get_object(Bucket=bucket, Key=v['Key'], VersionId=v['VersionId'])\n"
        "        keys.setdefault(v['Key'], []).append([v['VersionId'], v['IsLatest'],"
        " o['Body'].read().decode(), o['ContentType'], o['Metadata']])\n"
        "    for m in page.get('DeleteMarkers', []):\n"
        "        keys.setdefault(m['Key'], []).append([m['VersionId'], m['IsLatest']])\n"
        "result = [status, sorted([k, sorted(v, key=repr)] for k, v in keys.items())]\n"
    )


@pytest.fixture(params=["Suspended", "Enabled"])
def versioned_bucket(request: pytest.FixtureRequest, bucket: str, s3: Any) -> str:
    """The test bucket with versioning Suspended or Enabled before the store sees it."""
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": request.param})
    return bucket


class TestS3StoreContract(StoreContract):
    @pytest.fixture
    def store(self, seaweed: SeaweedFS, versioned_bucket: str) -> S3Store:
        return S3Store(bucket=versioned_bucket, endpoint_url=seaweed.endpoint_url)

    @pytest.fixture
    def writer(self, seaweed: SeaweedFS, versioned_bucket: str) -> S3Writer:
        return S3Writer(endpoint_url=seaweed.endpoint_url, bucket=versioned_bucket, prefix="")


class TestS3StoreContractWithPrefix(StoreContract):
    """Only ``app/`` is the store's; an object outside it must come through untouched."""

    @pytest.fixture
    def store(self, seaweed: SeaweedFS, bucket: str) -> S3Store:
        return S3Store(bucket=bucket, prefix="app/", endpoint_url=seaweed.endpoint_url)

    @pytest.fixture
    def writer(self, seaweed: SeaweedFS, bucket: str, s3: Any) -> S3Writer:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        s3.put_object(Bucket=bucket, Key="outside", Body=b"never touched")
        return S3Writer(endpoint_url=seaweed.endpoint_url, bucket=bucket, prefix="app/")
