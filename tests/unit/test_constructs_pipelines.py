"""Constructs added for the IoT and data pipelines: RestApi logging, SecureBucket
archive rule, PrivateNetwork."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.construct_harness import NAMER, synth_stack


def test_rest_api_refuses_an_unknown_logging_level() -> None:
    from lib.constructs.rest_api import RestApi, RestApiError, Throttle

    def build(stack: Any) -> None:
        api = RestApi(
            stack,
            "api",
            name="a",
            description="d",
            stage_name="v1",
            throttle=Throttle(rate_limit=1, burst_limit=1),
        )
        api.lambda_route("/x", "GET", function_name="f", invoke_arn="arn", authorization="AWS_IAM")
        api.deploy(logging_level="DEBUG")

    with pytest.raises(RestApiError, match="logging level 'DEBUG' is not ERROR or INFO"):
        synth_stack(build)


def test_private_network_and_archived_bucket() -> None:
    from lib.constructs.private_network import PrivateNetwork, PrivateNetworkProps
    from lib.constructs.secure_bucket import SecureBucket, SecureBucketProps

    def build(stack: Any) -> None:
        PrivateNetwork(
            stack,
            "net",
            PrivateNetworkProps(
                service=NAMER.for_service("x"),
                cidr="10.20.0.0/20",
                logs_key_arn="arn:aws:kms:us-east-1:111111111111:key/k",
                log_retention_days=7,
            ),
        )
        SecureBucket(
            stack,
            "b",
            SecureBucketProps(
                name="bucket",
                kms_key_arn="arn:aws:kms:us-east-1:111111111111:key/k",
                noncurrent_expiration_days=3,
                glacier_transition_days=30,
            ),
        )

    out = synth_stack(build)["resource"]
    cidrs = sorted(s["cidr_block"] for s in out["aws_subnet"].values())
    assert cidrs == sorted(["10.20.8.0/24", "10.20.9.0/24", "10.20.10.0/24"])
    assert sorted(e["service_name"] for e in out["aws_vpc_endpoint"].values()) == [
        "com.amazonaws.us-east-1.dynamodb",
        "com.amazonaws.us-east-1.s3",
    ]
    assert "aws_internet_gateway" not in out
    assert "aws_nat_gateway" not in out
    (flow,) = out["aws_flow_log"].values()
    assert flow["traffic_type"] == "ALL"
    (lifecycle,) = out["aws_s3_bucket_lifecycle_configuration"].values()
    rules = {r["id"]: r for r in lifecycle["rule"]}
    assert rules["archive-to-glacier"]["transition"] == [{"days": 30, "storage_class": "GLACIER"}]
    assert rules["expire-noncurrent-versions"]["noncurrent_version_expiration"] == [{"noncurrent_days": 3}]
