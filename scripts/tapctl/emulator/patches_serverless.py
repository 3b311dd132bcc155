"""Gap patches for the serverless services: Step Functions, S3, SQS, Lambda (and Docker's absence).

Each makes the provider's second plan after an apply show no changes, lets an
apply succeed, or makes the emulator behave as AWS does where the systems rely
on it. Listed in docs/emulator.md; applied by :func:`scripts.tapctl.emulator.patches.apply_all`.
"""

from __future__ import annotations

import json
import re
from typing import Any


def _validate_definition(definition: str) -> list[dict[str, str]]:
    """A structural subset of Amazon States Language validation."""
    diagnostics: list[dict[str, str]] = []

    def error(code: str, message: str, location: str) -> None:
        diagnostics.append({"severity": "ERROR", "code": code, "message": message, "location": location})

    try:
        doc = json.loads(definition)
    except (TypeError, ValueError) as exc:
        error("INVALID_JSON_DESCRIPTION", f"definition is not valid JSON: {exc}", "/")
        return diagnostics
    if not isinstance(doc, dict):
        error("SCHEMA_VALIDATION_FAILED", "definition must be an object", "/")
        return diagnostics

    def check_machine(machine: dict[str, Any], where: str) -> None:
        states = machine.get("States")
        if not isinstance(states, dict) or not states:
            error("SCHEMA_VALIDATION_FAILED", "States must be a non-empty object", f"{where}/States")
            return
        if machine.get("StartAt") not in states:
            error("MISSING_TRANSITION_TARGET", "StartAt names no state", f"{where}/StartAt")
        for name, state in states.items():
            loc = f"{where}/States/{name}"
            if not isinstance(state, dict) or "Type" not in state:
                error("SCHEMA_VALIDATION_FAILED", "a state needs a Type", loc)
                continue
            targets = [state.get("Next"), state.get("Default")]
            targets += [c.get("Next") for c in state.get("Choices", []) if isinstance(c, dict)]
            targets += [c.get("Next") for c in state.get("Catch", []) if isinstance(c, dict)]
            for target in targets:
                if target is not None and target not in states:
                    error("MISSING_TRANSITION_TARGET", f"transition to unknown state {target!r}", loc)
            if state["Type"] not in ("Succeed", "Fail", "Choice") and not (
                state.get("End") is True or "Next" in state
            ):
                error("SCHEMA_VALIDATION_FAILED", "a state needs Next or End", loc)
            for i, branch in enumerate(state.get("Branches", [])):
                check_machine(branch, f"{loc}/Branches/{i}")
            for key in ("Iterator", "ItemProcessor"):
                if isinstance(state.get(key), dict):
                    check_machine(state[key], f"{loc}/{key}")

    check_machine(doc, "")
    return diagnostics


def patch_stepfunctions_validate() -> None:
    """moto 5.2.5 lacks ``ValidateStateMachineDefinition``; the provider calls it
    at plan time and fails on the resulting HTTP 500."""
    from moto.core.responses import ActionResult
    from moto.stepfunctions.responses import StepFunctionResponse

    def validate_state_machine_definition(self: StepFunctionResponse) -> ActionResult:
        diagnostics = _validate_definition(self._get_param("definition"))
        return ActionResult({"result": "FAIL" if diagnostics else "OK", "diagnostics": diagnostics})

    StepFunctionResponse.validate_state_machine_definition = validate_state_machine_definition  # type: ignore[attr-defined]


def patch_stepfunctions_list_versions() -> None:
    """moto 5.2.5 lacks ``ListStateMachineVersions``; the provider calls it after
    creating an ``aws_sfn_state_machine`` and retries the HTTP 500 until its
    create timeout. List the versions moto already keeps (``publish``)."""
    from moto.core.responses import ActionResult
    from moto.stepfunctions.responses import StepFunctionResponse

    def list_state_machine_versions(self: StepFunctionResponse) -> ActionResult:
        machine = self.stepfunction_backend.describe_state_machine(self._get_param("stateMachineArn"))
        versions = [
            {"stateMachineVersionArn": v.arn, "creationDate": v.creation_date}
            for v in sorted(getattr(machine, "versions", {}).values(), key=lambda v: -v.version)
        ]
        return ActionResult({"stateMachineVersions": versions})

    StepFunctionResponse.list_state_machine_versions = list_state_machine_versions  # type: ignore[attr-defined]


def patch_s3_eventbridge_notification() -> None:
    """moto 5.2.5 stores ``EventBridgeConfiguration`` from
    PutBucketNotificationConfiguration but leaves it out of
    GetBucketNotificationConfiguration, so ``aws_s3_bucket_notification`` with
    ``eventbridge = true`` showed an update on every plan. Add the (empty)
    element AWS returns when EventBridge delivery is on."""
    from moto.s3.responses import S3Response

    original = S3Response.get_bucket_notification

    def get_bucket_notification(self: S3Response) -> Any:
        status, headers, body = original(self)
        config = self.backend.get_bucket(self.bucket_name).notification_configuration
        if status == 200 and config is not None and config.event_bridge is not None:
            text = body.decode() if isinstance(body, bytes) else body
            if "EventBridgeConfiguration" not in text:
                element = "<EventBridgeConfiguration></EventBridgeConfiguration></NotificationConfiguration>"
                # moto writes an otherwise empty configuration as a self-closing element
                text = re.sub(
                    r"<NotificationConfiguration([^>]*)/>", rf"<NotificationConfiguration\1>{element}", text
                )
                text = (
                    text.replace("</NotificationConfiguration>", element, 1) if element not in text else text
                )
                headers.pop("Content-Length", None)
                headers.pop("content-length", None)
                body = text.encode() if isinstance(body, bytes) else text
        return status, headers, body

    S3Response.get_bucket_notification = get_bucket_notification  # type: ignore[method-assign]


#: The condition of a TLS-only bucket policy's Deny statement.
INSECURE_TRANSPORT = {"Bool": {"aws:SecureTransport": "false"}}


def patch_s3_policy_secure_transport() -> None:
    """moto 5.2.5 enforces bucket policies on object requests but ignores their
    ``Condition``: the standard TLS-only statement (Deny ``s3:*`` when
    ``aws:SecureTransport`` is ``false``) becomes an unconditional Deny and every
    GetObject/PutObject answers 403. The emulator's loopback HTTP endpoint stands
    in for AWS's HTTPS one, so evaluate that statement as AWS does for an HTTPS
    request: it does not match. Every other statement is evaluated as before."""
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.s3.models import FakeBucket

    def get_permission(self: FakeBucket, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        document = json.loads(self.policy.decode())
        statements = document.get("Statement", [])
        if isinstance(statements, dict):
            statements = [statements]
        document["Statement"] = [s for s in statements if s.get("Condition") != INSECURE_TRANSPORT]
        if not document["Statement"]:
            return PermissionResult.NEUTRAL
        return IAMPolicy(json.dumps(document)).is_action_permitted(action, resource)

    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]


def patch_sqs_event_source_push() -> None:
    """moto delivers to an SQS event source mapping *synchronously inside
    SendMessage*: it receives up to a batch of visible messages and runs the
    function in Docker. With no Docker engine every send is a failed poll that
    counts a receive on every visible message, and the sender waits for the
    function. Real Lambda polls asynchronously: so does the emulator's poller
    (``scripts/tapctl/emulator/sqs_poller.py``: ``SqsPoller``). Mappings are still created,
    listed and deleted normally."""
    from moto.sqs.models import Queue

    def _no_push(self: Queue) -> dict[str, object]:
        return {}

    def _ignore(self: Queue, value: object) -> None:
        return None

    Queue.lambda_event_source_mappings = property(_no_push, _ignore)  # type: ignore[assignment]


def patch_lambda_requires_ecr_image() -> None:
    """moto accepts any ``ImageUri`` for a ``PackageType=Image`` function unless
    ``MOTO_LAMBDA_STUB_ECR`` is ``false``; AWS refuses a tag that is not in ECR.
    Make the emulator refuse it too, so the image push step before an apply is
    exercised (``scripts/tapctl/stages/images.py`` registers the manifest). Stricter,
    not looser: nothing a stack synthesizes changes."""
    import os

    os.environ["MOTO_LAMBDA_STUB_ECR"] = "false"


def patch_docker_client_absent() -> None:
    """Without a Docker engine, reading ``docker_client`` of a Lambda function
    model raises ``DockerException``, which moto's state dump
    (``/moto-api/data.json``, the CLI's health check) does not catch: once a
    stack has created a function the emulator answers 500 and the CLI reports
    it as not running. The patched property raises an error that is both a
    ``DockerException`` (invoke still fails as before, "error running docker")
    and an ``AttributeError`` (the state dump skips the attribute)."""
    import docker.errors
    from moto.utilities.docker_utilities import DockerModel

    class NoDockerEngine(docker.errors.DockerException, AttributeError):
        pass

    original = DockerModel.docker_client

    def docker_client(self: DockerModel) -> object:
        try:
            return original.fget(self)  # type: ignore[attr-defined]
        except docker.errors.DockerException as exc:
            raise NoDockerEngine(f"no Docker engine: {exc}") from None

    DockerModel.docker_client = property(docker_client)  # type: ignore[assignment,method-assign]


def patch_lambda_dead_letter_config() -> None:
    """moto 5.2.5 drops a function's ``DeadLetterConfig``: GetFunction never
    returns it, so every plan after apply wants to add it again. The patch
    keeps it from CreateFunction/UpdateFunctionConfiguration and returns it."""
    from moto.awslambda.models import LambdaFunction

    original_init = LambdaFunction.__init__
    original_config = LambdaFunction.get_configuration
    original_update = LambdaFunction.update_configuration

    def __init__(
        self: LambdaFunction, account_id: str, spec: dict[str, Any], *args: Any, **kwargs: Any
    ) -> None:
        original_init(self, account_id, spec, *args, **kwargs)
        self._tap_dead_letter_config = spec.get("DeadLetterConfig")

    def get_configuration(self: LambdaFunction, *args: Any, **kwargs: Any) -> dict[str, Any]:
        config = original_config(self, *args, **kwargs)
        dlc = getattr(self, "_tap_dead_letter_config", None)
        if dlc and dlc.get("TargetArn"):
            config["DeadLetterConfig"] = dict(dlc)
        return config

    def update_configuration(self: LambdaFunction, updates: dict[str, Any]) -> dict[str, Any]:
        if "DeadLetterConfig" in updates:
            self._tap_dead_letter_config = updates["DeadLetterConfig"]
        return original_update(self, updates)

    LambdaFunction.__init__ = __init__  # type: ignore[method-assign]
    LambdaFunction.get_configuration = get_configuration  # type: ignore[method-assign]
    LambdaFunction.update_configuration = update_configuration  # type: ignore[method-assign]


def patch_sqs_redrive_policy_compact() -> None:
    """SQS returns ``RedrivePolicy`` as compact JSON (whatever spacing was
    sent); moto 5.2.5 re-serializes it with spaces. The provider compares the
    text, so a compact policy in the configuration (right for AWS) showed
    "whitespace changes" on every plan against moto."""
    from moto.sqs.models import Queue

    original = Queue.attributes

    def attributes(self: Queue) -> dict[str, Any]:
        result = original.fget(self)  # type: ignore[attr-defined]
        if self.redrive_policy:
            result["RedrivePolicy"] = json.dumps(self.redrive_policy, separators=(",", ":"))
        return result

    Queue.attributes = property(attributes)  # type: ignore[assignment,method-assign]


def patch_lambda_vpc_config_vpc_id() -> None:
    """moto 5.2.5 answers ``VpcConfig.VpcId`` of every function placed in a VPC
    with the constant ``vpc-123abc``; AWS answers the subnets' VPC. The patch
    looks the VPC up from the function's first subnet (data pipeline)."""
    from moto.awslambda.models import LambdaFunction
    from moto.ec2.models import ec2_backends

    original = LambdaFunction.vpc_config

    def vpc_config(self: LambdaFunction) -> dict[str, Any] | None:
        config = original.fget(self)  # type: ignore[attr-defined]
        if config and config.get("SubnetIds"):
            try:
                subnet = ec2_backends[self.account_id][self.region].get_subnet(config["SubnetIds"][0])
            except Exception:  # an unknown subnet: keep moto's answer
                return config
            config["VpcId"] = subnet.vpc_id
        return config

    LambdaFunction.vpc_config = property(vpc_config, original.fset)  # type: ignore[assignment,method-assign]


def patch_s3_delete_marker_dispose() -> None:
    """Deleting the last versions of a key whose newest version is a delete marker
    (a versioned bucket after DeleteObject) raises ``AttributeError: 'FakeDeleteMarker'
    object has no attribute 'dispose'`` in moto 5.2.5: HTTP 500, and the provider's
    force-destroy of the bucket retries for minutes. A marker holds no data to dispose of."""
    from moto.s3.models import FakeDeleteMarker

    if not hasattr(FakeDeleteMarker, "dispose"):
        FakeDeleteMarker.dispose = lambda self, garbage=False: None  # type: ignore[attr-defined]


def patch_dynamodb_atomic_items() -> None:
    """DynamoDB applies each item write atomically; moto's ``update_item`` on a new
    key first stores a key-only item, then runs the update expression on it. The
    server is threaded and the emulator's SQS poller runs concurrent invocations, so
    two ``ADD #count :one`` on a new day's record could both start from nothing (one
    count lost) and a reader could see the key-only item between the two steps.
    One lock per backend serializes item reads and writes, as the service's
    per-item atomicity guarantees to the callers."""
    import functools
    import threading

    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend, "_tap_atomic_items", False):
        return
    lock = threading.RLock()

    def serialized(method: Any) -> Any:
        @functools.wraps(method)
        def wrapper(self: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
            with lock:
                return method(self, *args, **kwargs)

        return wrapper

    for name in (
        "put_item",
        "get_item",
        "query",
        "scan",
        "update_item",
        "delete_item",
        "transact_write_items",
    ):
        setattr(DynamoDBBackend, name, serialized(getattr(DynamoDBBackend, name)))
    DynamoDBBackend._tap_atomic_items = True  # type: ignore[attr-defined]
