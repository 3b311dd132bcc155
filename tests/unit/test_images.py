"""scripts/tapctl/stages/images.py: the image step before an apply. On the embedded AWS it
registers an OCI manifest through ``ecr:PutImage``; on AWS it logs Docker in and runs
``docker buildx build --push``. ECR is moto's in-process mock; Docker is faked."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import subprocess
import tarfile
from typing import Any

import boto3
import pytest

from lib.constructs.container_image import ContainerImage
from scripts.tapctl.core.cloud import Cloud
from scripts.tapctl.core.errors import StageFailed, TapError
from scripts.tapctl.stages import images
from tests.unit.offline_aws import mocked_aws

REGION = "us-east-1"
REPO = "pr-use1-txn-csv-validator-pr7"


def _spec(function: str = "csv_validator", repository: str = REPO) -> dict[str, Any]:
    return ContainerImage.for_function(
        system="transaction_pipeline",
        function=function,
        repository=repository,
        account_id="123456789012",
        region=REGION,
    ).to_metadata()


def _metadata(*specs: dict[str, Any]) -> dict[str, Any]:
    return {"stacks": {"transaction_pipeline": {"images": list(specs)}, "transaction_images": {"images": []}}}


@pytest.fixture
def ecr(monkeypatch, tmp_path):
    with mocked_aws(monkeypatch, region=REGION, TAP_WORKDIR=str(tmp_path / "work")):
        client = boto3.client("ecr", region_name=REGION)
        client.create_repository(repositoryName=REPO, imageTagMutability="IMMUTABLE")
        monkeypatch.setattr(images, "_client", lambda cloud, region: client)
        yield client


EMULATOR = Cloud(
    "emulator",
    {"AWS_ENDPOINT_URL": "http://127.0.0.1:1", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"},
)
AWS = Cloud("aws", {})


def test_emulator_registers_a_manifest_under_the_content_tag(ecr):
    spec = _spec()
    lines = images.publish(EMULATOR, _metadata(spec), "transaction_pipeline", log_name="t")
    assert len(lines) == 1
    assert "registered (emulated manifest)" in lines[0]
    detail = ecr.describe_images(repositoryName=REPO, imageIds=[{"imageTag": spec["tag"]}])["imageDetails"][0]
    manifest_text = ecr.batch_get_image(repositoryName=REPO, imageIds=[{"imageTag": spec["tag"]}])["images"][
        0
    ]["imageManifest"]
    manifest = json.loads(manifest_text)
    assert detail["imageDigest"] == "sha256:" + hashlib.sha256(manifest_text.encode()).hexdigest()
    assert manifest["mediaType"] == images.OCI_MANIFEST
    assert (
        manifest["annotations"][images.SOURCE_ANNOTATION] == "lib/lambda/transaction_pipeline/csv_validator"
    )
    assert manifest["annotations"][images.TAG_ANNOTATION] == spec["tag"]
    # a second publish finds the immutable tag and pushes nothing
    again = images.publish(EMULATOR, _metadata(spec), "transaction_pipeline", log_name="t")
    assert "already present" in again[0]
    assert len(ecr.list_images(repositoryName=REPO)["imageIds"]) == 1


def test_emulated_manifest_is_deterministic_and_describes_the_context():
    spec = images.ImageSpec.from_metadata(_spec())
    text, digest = images.emulated_manifest(spec)
    assert images.emulated_manifest(spec) == (text, digest)
    tar_bytes, layer = images.context_layer(spec.context_dir)
    manifest = json.loads(text)
    assert manifest["layers"][0]["digest"] == "sha256:" + hashlib.sha256(layer).hexdigest()
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        names = tar.getnames()
        assert {m.mtime for m in tar.getmembers()} == {0}
    assert "var/task/handler.py" in names
    assert "var/task/Dockerfile" in names
    assert spec.architecture == "arm64"


def test_a_stack_without_images_is_a_no_op():
    assert images.publish(AWS, _metadata(), "transaction_images", log_name="t") == []


def test_missing_repository_names_the_stack_to_apply_first(ecr):
    spec = _spec(repository="nope")
    with pytest.raises(TapError, match="ECR repository nope does not exist in us-east-1: apply the stack"):
        images.publish(EMULATOR, _metadata(spec), "transaction_pipeline", log_name="t")


def test_incomplete_metadata_asks_for_a_new_synth():
    raw = _spec()
    del raw["tag"]
    with pytest.raises(TapError, match="lacks 'tag': re-run `scripts/tap synth`"):
        images.images_of(_metadata(raw), "transaction_pipeline")


def test_aws_without_docker_is_refused(monkeypatch):
    monkeypatch.setattr(images.shutil, "which", lambda name: None)
    with pytest.raises(TapError, match="needs docker with buildx on PATH"):
        images.publish(AWS, _metadata(_spec()), "transaction_pipeline", log_name="t")


class FakeDocker:
    """Records docker commands; a buildx push registers the image in (mocked) ECR."""

    def __init__(self, ecr: Any, *, fail: str | None = None, push: bool = True) -> None:
        self.ecr, self.fail, self.push = ecr, fail, push
        self.calls: list[tuple[list[str], bytes | None]] = []

    def __call__(self, cmd, *, input=None, stdout=None, **_kw):
        self.calls.append((cmd, input))
        if self.fail and self.fail in cmd:
            stdout.write(b"ERROR: failed to solve: base image not found\n")
            return subprocess.CompletedProcess(cmd, 1)
        if "buildx" in cmd and self.push:
            uri = cmd[cmd.index("--tag") + 1]
            repo, tag = uri.split("/", 1)[1].split(":")
            spec = images.ImageSpec.from_metadata(_spec())
            text, _ = images.emulated_manifest(spec)
            self.ecr.put_image(repositoryName=repo, imageManifest=text, imageTag=tag)
        return subprocess.CompletedProcess(cmd, 0)


def test_aws_logs_in_and_builds_with_buildx_for_arm64(ecr, monkeypatch):
    monkeypatch.setattr(images.shutil, "which", lambda name: "/usr/bin/docker")
    fake = FakeDocker(ecr)
    monkeypatch.setattr(images.subprocess, "run", fake)
    spec = _spec()
    lines = images.publish(AWS, _metadata(spec), "transaction_pipeline", log_name="t")
    assert "built for linux/arm64 and pushed" in lines[0]
    login, password = fake.calls[0]
    assert login[:4] == ["docker", "login", "--username", "AWS"]
    token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    assert password == base64.b64decode(token).decode().partition(":")[2].encode()
    build = fake.calls[1][0]
    assert build[:3] == ["docker", "buildx", "build"]
    assert build[build.index("--platform") + 1] == "linux/arm64"
    assert {"--provenance=false", "--sbom=false", "--push"} <= set(build)
    assert build[build.index("--tag") + 1] == spec["uri"]
    assert build[-1].endswith("lib/lambda/transaction_pipeline/csv_validator")


def test_a_failed_build_reports_the_log_tail(ecr, monkeypatch, tmp_path):
    monkeypatch.setattr(images.shutil, "which", lambda name: "/usr/bin/docker")
    monkeypatch.setattr(images.subprocess, "run", FakeDocker(ecr, fail="buildx"))
    with pytest.raises(StageFailed, match=r"docker buildx failed \(exit 1\)[\s\S]*base image not found"):
        images.publish(AWS, _metadata(_spec()), "transaction_pipeline", log_name="t")


def test_a_push_ecr_does_not_list_is_an_error(ecr, monkeypatch):
    monkeypatch.setattr(images.shutil, "which", lambda name: "/usr/bin/docker")
    monkeypatch.setattr(images.subprocess, "run", FakeDocker(ecr, push=False))
    with pytest.raises(StageFailed, match="but ECR does not list it"):
        images.publish(AWS, _metadata(_spec()), "transaction_pipeline", log_name="t")
