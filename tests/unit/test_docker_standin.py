"""The runner image's docker stand-in: what `scripts/tap apply` asks of docker on real AWS."""

from __future__ import annotations

import json

import boto3
import pytest

from scripts.tapctl.gitops.act import docker_standin
from scripts.tapctl.stages import images
from tests.unit.offline_aws import mocked_aws

REGION = "us-east-1"
REPO = "pr-use1-txn-csv-validator-pr7"
REGISTRY = f"123456789012.dkr.ecr.{REGION}.amazonaws.com"
URI = f"{REGISTRY}/{REPO}:0123456789ab"
CONTEXT = "lib/lambda/transaction_pipeline/csv_validator"
BUILD = ["buildx", "build", "--platform", "linux/arm64", "--provenance=false", "--sbom=false", "--push"]


@pytest.fixture
def ecr(monkeypatch, tmp_path):
    with mocked_aws(monkeypatch, region=REGION, TAP_ACT_WORKDIR=str(tmp_path)):
        monkeypatch.delenv("DOCKER_CONFIG", raising=False)
        client = boto3.client("ecr", region_name=REGION)
        client.create_repository(repositoryName=REPO)
        yield client


def test_a_push_after_login_registers_the_image_the_emulator_path_would(ecr, capsys):
    assert (
        docker_standin.main(["login", "--username", "AWS", "--password-stdin", f"https://{REGISTRY}"], "t0k")
        == 0
    )
    assert capsys.readouterr().out.strip() == "Login Succeeded"
    assert docker_standin.main([*BUILD, "--tag", URI, CONTEXT]) == 0
    found = ecr.batch_get_image(repositoryName=REPO, imageIds=[{"imageTag": "0123456789ab"}])["images"]
    manifest = json.loads(found[0]["imageManifest"])
    assert manifest["annotations"][images.SOURCE_ANNOTATION] == CONTEXT
    assert manifest["mediaType"] == images.OCI_MANIFEST


def test_a_push_without_login_is_refused_as_docker_would(ecr, capsys):
    assert docker_standin.main([*BUILD, "--tag", URI, CONTEXT]) == 1
    assert "no basic auth credentials" in capsys.readouterr().err
    assert ecr.list_images(repositoryName=REPO)["imageIds"] == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "alpine"], "runs only `login` and `buildx build`"),
        ([*BUILD[:-1], "--tag", URI, CONTEXT], "only builds to push"),
        ([*BUILD[:4], "--push", "--tag", URI, CONTEXT], "image index"),
        ([*BUILD, "--tag", "docker.io/library/x:1", CONTEXT], "not an ECR image URI"),
        ([*BUILD, "--tag", URI, "lib/lambda"], "failed to solve"),
    ],
)
def test_what_it_does_not_emulate_fails_loudly(ecr, capsys, argv, message):
    docker_standin.main(["login", "--username", "AWS", "--password-stdin", REGISTRY], "t0k")
    assert docker_standin.main(argv) == 1
    assert message in capsys.readouterr().err
