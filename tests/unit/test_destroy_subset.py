"""``scripts/tap destroy --stacks``: a job per stack destroys the deepest level first; a
subset that would pull a stack out from under a deployed dependent is refused."""

from __future__ import annotations

from types import SimpleNamespace

import boto3
import pytest

from lib.config import resolve_target
from scripts.tapctl.core.errors import TapError
from scripts.tapctl.stages import destroy
from tests.unit.offline_aws import mocked_aws

BUCKET = "tap-state"
DEPS = {"transaction_images": [], "transaction_pipeline": ["transaction_images"], "platform": []}


def session(*chosen: str) -> SimpleNamespace:
    return SimpleNamespace(stacks=list(chosen), deps=DEPS, target=resolve_target("pr", "pr7"))


@pytest.fixture
def s3(monkeypatch):
    with mocked_aws(monkeypatch):
        client = boto3.client("s3")
        client.create_bucket(Bucket=BUCKET)
        yield client


def test_a_dependency_is_refused_while_its_dependent_still_has_state(s3):
    s3.put_object(Bucket=BUCKET, Key="pr7/transaction_pipeline.tfstate", Body=b"{}")
    refused = "transaction_pipeline depends on transaction_images and still has state"
    with pytest.raises(TapError, match=refused):
        destroy._refuse_orphaning_dependents(session("transaction_images"), s3, BUCKET)


def test_the_dependent_first_then_its_dependency_is_allowed(s3):
    s3.put_object(Bucket=BUCKET, Key="pr7/transaction_pipeline.tfstate", Body=b"{}")
    destroy._refuse_orphaning_dependents(session("transaction_pipeline"), s3, BUCKET)
    destroy._refuse_orphaning_dependents(session("transaction_images", "transaction_pipeline"), s3, BUCKET)
    s3.delete_object(Bucket=BUCKET, Key="pr7/transaction_pipeline.tfstate")
    destroy._refuse_orphaning_dependents(session("transaction_images"), s3, BUCKET)
    destroy._refuse_orphaning_dependents(session("platform"), s3, BUCKET)
