"""Emulator patches the transaction pipeline and file-processing stacks need:
``ListStateMachineVersions``, ``EventBridgeConfiguration`` read back, and TLS-only
bucket policies evaluated as for an HTTPS request (moto in-process)."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from scripts.tapctl.emulator.patches import (
    patch_s3_eventbridge_notification,
    patch_s3_policy_secure_transport,
    patch_stepfunctions_list_versions,
)
from tests.unit.offline_aws import mocked_aws

DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})


@pytest.fixture
def aws(monkeypatch):
    with mocked_aws(monkeypatch):
        yield


def test_state_machine_versions_are_listed(aws):
    patch_stepfunctions_list_versions()
    sfn = boto3.client("stepfunctions")
    role = "arn:aws:iam::123456789012:role/sfn"
    plain = sfn.create_state_machine(name="plain", definition=DEFINITION, roleArn=role, type="EXPRESS")
    assert (
        sfn.list_state_machine_versions(stateMachineArn=plain["stateMachineArn"])["stateMachineVersions"]
        == []
    )
    published = sfn.create_state_machine(name="published", definition=DEFINITION, roleArn=role, publish=True)
    versions = sfn.list_state_machine_versions(stateMachineArn=published["stateMachineArn"])[
        "stateMachineVersions"
    ]
    assert [v["stateMachineVersionArn"] for v in versions] == [published["stateMachineArn"] + ":1"]


def test_eventbridge_delivery_is_read_back(aws):
    patch_s3_eventbridge_notification()
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="events-on")
    s3.create_bucket(Bucket="events-off")
    s3.put_bucket_notification_configuration(
        Bucket="events-on", NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    on = s3.get_bucket_notification_configuration(Bucket="events-on")
    assert on["EventBridgeConfiguration"] == {}
    off = s3.get_bucket_notification_configuration(Bucket="events-off")
    assert "EventBridgeConfiguration" not in off


def _policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def test_tls_only_policy_does_not_deny_but_other_denies_still_do(aws):
    patch_s3_policy_secure_transport()
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="tls-only")
    tls_only = {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": ["arn:aws:s3:::tls-only", "arn:aws:s3:::tls-only/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    s3.put_bucket_policy(Bucket="tls-only", Policy=_policy(tls_only))
    s3.put_object(Bucket="tls-only", Key="a.txt", Body=b"hello")
    assert s3.get_object(Bucket="tls-only", Key="a.txt")["Body"].read() == b"hello"
    deny_reads = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::tls-only/*",
    }
    s3.put_bucket_policy(Bucket="tls-only", Policy=_policy(tls_only, deny_reads))
    with pytest.raises(ClientError, match="403"):
        s3.get_object(Bucket="tls-only", Key="a.txt")


def test_each_db_instance_has_its_own_resource_id(aws):
    from scripts.tapctl.emulator.patches import patch_rds_unique_resource_id

    patch_rds_unique_resource_id()
    rds = boto3.client("rds")
    for name in ("db-one", "db-two"):
        rds.create_db_instance(
            DBInstanceIdentifier=name, Engine="postgres", DBInstanceClass="db.t3.micro", AllocatedStorage=20
        )
    ids = {d["DBInstanceIdentifier"]: d["DbiResourceId"] for d in rds.describe_db_instances()["DBInstances"]}
    assert len(set(ids.values())) == 2
    found = rds.describe_db_instances(Filters=[{"Name": "dbi-resource-id", "Values": [ids["db-one"]]}])
    assert [d["DBInstanceIdentifier"] for d in found["DBInstances"]] == ["db-one"]
