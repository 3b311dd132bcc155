"""Removing a state key's object versions (destroy, and a fingerprint record's ``forget``):
every version and delete marker of exactly that key, across pages, and nothing else."""

from __future__ import annotations

import boto3

from scripts.tapctl.stages import state
from tests.unit.offline_aws import mocked_aws

BUCKET = "tap-state"
KEY = "pr7/file_processing.tfstate"


def _bucket():
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return s3


def _versions(s3, key: str) -> int:
    resp = s3.list_object_versions(Bucket=BUCKET, Prefix=key)
    return sum(1 for v in resp.get("Versions", []) + resp.get("DeleteMarkers", []) if v["Key"] == key)


def test_every_version_and_delete_marker_of_exactly_the_key_go_across_pages(monkeypatch):
    with mocked_aws(monkeypatch):
        s3 = _bucket()
        for n in range(3):
            s3.put_object(Bucket=BUCKET, Key=KEY, Body=f"state {n}".encode())
        s3.delete_object(Bucket=BUCKET, Key=KEY)  # a delete marker
        s3.put_object(Bucket=BUCKET, Key=f"{KEY}.tflock", Body=b"lock")
        s3.put_object(Bucket=BUCKET, Key=f"{KEY}.bak", Body=b"a neighbour sharing the prefix")
        real = s3.get_paginator

        def small_pages(name):  # one version per page: the loop must follow the pages
            paginator = real(name)
            paginate = paginator.paginate
            paginator.paginate = lambda **kw: paginate(**kw, PaginationConfig={"PageSize": 1})
            return paginator

        s3.get_paginator = small_pages
        assert state.delete_versions(s3, BUCKET, KEY) == 4
        assert _versions(s3, KEY) == 0
        assert _versions(s3, f"{KEY}.tflock") == 1
        assert _versions(s3, f"{KEY}.bak") == 1
        assert state.delete_all_versions(s3, BUCKET, KEY) == 1  # the lock object is left
        assert _versions(s3, f"{KEY}.tflock") == 0
        assert _versions(s3, f"{KEY}.bak") == 1
