"""What starts the systems' code in the emulator, as AWS starts it: triggers and executions.

Installed into the emulator process by :func:`install`, after the Lambda
executor (:mod:`scripts.tapctl.emulator_lambda`):

* **S3 → Lambda** notifications run *asynchronously* (moto ran them inside
  ``PutObject``), with the event AWS sends, after moto's own event-name and
  prefix/suffix filter match.
* **SQS event source mappings** are polled by a background thread, as the
  Lambda service polls: up to ``BatchSize`` visible messages per call, the
  queue's visibility timeout, deleted on success (only the successful ones when
  the function reports ``batchItemFailures``), left to reappear on error; after
  ``maxReceiveCount`` receives SQS moves them to the dead-letter queue.
  ``ScalingConfig.MaximumConcurrency`` and reserved concurrency bound the
  batches in flight.
* **EventBridge rules** deliver to Lambda (asynchronous invoke) and Step
  Functions (``StartExecution`` as the target's role) targets; ``Input``,
  ``InputPath`` and ``InputTransformer`` are honoured.
* **SNS → Lambda** subscriptions deliver the SNS event (asynchronously).
* **Step Functions** executions run (moto's interpreter), their service calls
  made with the state machine's role in its account.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
import time
import uuid
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from scripts.tapctl.emulator_lambda import Throttled, executor, role_credentials

log = logging.getLogger("tap.emulator")
POLL_INTERVAL = 0.25


# -- S3 -> Lambda -------------------------------------------------------------------------------


def patch_s3_lambda_async() -> None:
    from moto.s3 import notifications

    def _invoke_awslambda(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
        from moto.awslambda.utils import get_backend

        try:
            fn = get_backend(fn_arn.split(":")[4], region_name).get_function(fn_arn)
        except Exception:  # a notification to a deleted function: AWS drops it too
            return
        record = event_body["Records"][0]
        record.setdefault("eventTime", time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()))
        record.setdefault("userIdentity", {"principalId": "AWS:TAPEMULATOR"})
        record.setdefault("requestParameters", {"sourceIPAddress": "127.0.0.1"})
        obj = record["s3"]["object"]
        obj.setdefault("sequencer", f"{time.time_ns():X}")
        # S3 URL-encodes the key as a form value but keeps "/" (moto encodes it too)
        obj["key"] = quote_plus(unquote_plus(obj["key"]), safe="/")
        executor().invoke_async(fn, json.dumps(event_body).encode())

    notifications._invoke_awslambda = _invoke_awslambda


# -- SNS -> Lambda ------------------------------------------------------------------------------


_SNS_DELIVERY = threading.local()


def patch_sns_lambda() -> None:
    """moto's subscription applies the filter policy, then calls ``send_sns_message``
    synchronously with a canned event: deliver the real event, asynchronously."""
    from moto.awslambda.models import LambdaBackend
    from moto.sns.models import Subscription

    original_publish = Subscription.publish

    def publish(self: Subscription, message: str, message_id: str, *args: Any, **kwargs: Any) -> None:
        _SNS_DELIVERY.current = (
            self,
            message_id,
            kwargs.get("message_attributes") or (args[1] if len(args) > 1 else None),
        )
        try:
            return original_publish(self, message, message_id, *args, **kwargs)
        finally:
            _SNS_DELIVERY.current = None

    def send_sns_message(
        self: LambdaBackend,
        function_name: str,
        message: str,
        subject: str | None = None,
        qualifier: str | None = None,
    ) -> None:
        subscription, message_id, attributes = getattr(_SNS_DELIVERY, "current", None) or (
            None,
            str(uuid.uuid4()),
            None,
        )
        fn = self.get_function(function_name, qualifier)
        event = {
            "Records": [
                {
                    "EventVersion": "1.0",
                    "EventSubscriptionArn": subscription.arn if subscription else "",
                    "EventSource": "aws:sns",
                    "Sns": {
                        "SignatureVersion": "1",
                        "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                        "Signature": "EMULATED",
                        "SigningCertUrl": "",
                        "MessageId": message_id,
                        "Message": message,
                        "MessageAttributes": {
                            k: {
                                "Type": v.get("DataType", "String"),
                                "Value": v.get("StringValue", v.get("BinaryValue")),
                            }
                            for k, v in (attributes or {}).items()
                        },
                        "Type": "Notification",
                        "UnsubscribeUrl": "",
                        "TopicArn": subscription.topic.arn if subscription else "",
                        "Subject": subject,
                    },
                }
            ]
        }
        executor().invoke_async(fn, json.dumps(event).encode())

    Subscription.publish = publish  # type: ignore[method-assign]
    LambdaBackend.send_sns_message = send_sns_message  # type: ignore[method-assign]


# -- EventBridge -> Lambda / Step Functions ------------------------------------------------


def target_input(target: dict[str, Any], event: dict[str, Any]) -> str:
    """What a target receives: ``Input``, ``InputPath``, ``InputTransformer`` or the event."""
    if "Input" in target:
        return target["Input"]
    if "InputPath" in target:
        value: Any = event
        for part in target["InputPath"].lstrip("$").strip(".").split("."):
            if part:
                value = value.get(part) if isinstance(value, dict) else None
        return json.dumps(value)
    if "InputTransformer" in target:
        transformer = target["InputTransformer"]
        return render_template(
            transformer.get("InputTemplate", ""), transformer.get("InputPathsMap", {}), event
        )
    return json.dumps(event)


_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.-]+)>")


def render_template(template: str, paths: dict[str, str], event: dict[str, Any]) -> str:
    """EventBridge's input transformer: ``<name>`` becomes the value at ``paths[name]``,
    JSON-encoded where it stands as a JSON value, as raw text inside a string literal."""
    from jsonpath_ng.ext import parse

    values: dict[str, Any] = {"aws.events.event": event, "aws.events.event.json": event}
    for name, path in paths.items():
        found = parse(path).find(event)
        values[name] = found[0].value if found else None
    out, in_string, escaped, i = [], False, False, 0
    while i < len(template):
        char = template[i]
        match = _PLACEHOLDER.match(template, i) if char == "<" else None
        if match and match.group(1) in values:
            value = values[match.group(1)]
            if in_string:
                text = value if isinstance(value, str) else json.dumps(value)
                out.append(json.dumps(text)[1:-1])
            else:
                out.append(json.dumps(value))
            i = match.end()
            continue
        if in_string and not escaped and char == '"':
            in_string = False
        elif not in_string and char == '"':
            in_string = True
        escaped = in_string and char == "\\" and not escaped
        out.append(char)
        i += 1
    return "".join(out)


def start_execution(machine_arn: str, payload: str, name: str | None = None) -> str:
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    parts = machine_arn.split(":")
    backend = stepfunctions_parser_backends[parts[4]][parts[3]]
    return backend.start_execution(
        machine_arn, name=name or str(uuid.uuid4()), execution_input=payload
    ).execution_arn


def patch_eventbridge_targets() -> None:
    from moto.events.models import Rule

    original = Rule.send_to_targets

    def send_to_targets(self: Rule, original_event: dict[str, Any], transform_input: bool = True) -> None:
        if not self.event_pattern.matches_event(original_event):
            return
        ours = [t for t in self.targets if t["Arn"].split(":")[2] in ("lambda", "states")]
        others = [t for t in self.targets if t not in ours]
        if others:
            rule = Rule.__new__(Rule)
            rule.__dict__.update(self.__dict__)
            rule.targets = others
            original(rule, original_event, transform_input)
        event = dict(original_event)
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        if not isinstance(event.get("time"), str):  # moto's S3 events carry epoch seconds
            event["time"] = now
        event.setdefault("ingestion-time", now)  # moto's template parser reads it
        for target in ours:
            payload = target_input(target, event)
            arn = target["Arn"]
            try:
                if arn.split(":")[2] == "lambda":
                    from moto.awslambda.utils import get_backend

                    fn = get_backend(arn.split(":")[4], arn.split(":")[3]).get_function(arn)
                    executor().invoke_async(fn, payload.encode())
                else:
                    start_execution(arn, payload)
            except Exception as exc:  # EventBridge retries, then drops; never fails PutEvents
                log.warning("EventBridge target %s failed: %s", arn, exc)

    Rule.send_to_targets = send_to_targets  # type: ignore[method-assign]


# -- Step Functions ---------------------------------------------------------------------------


def patch_stepfunctions_execution() -> None:
    """Executions run (moto's interpreter); their service calls use the state's
    credentials (the state machine's role: so its account); an execution without
    a name gets a generated one, as on AWS; ``StartSyncExecution`` answers."""
    import sys

    from moto.core.config import default_user_config
    from moto.stepfunctions.parser.asl.utils import boto_client as boto_client_module
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend
    from moto.stepfunctions.responses import StepFunctionResponse

    default_user_config.setdefault("stepfunctions", {})["execute_state_machine"] = True
    original_client = boto_client_module.boto_client_for

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        client = original_client(region=region, service=service, state_credentials=state_credentials)
        role = getattr(state_credentials, "role_arn", None)
        if not role:
            return client
        import boto3

        creds = role_credentials(role, region)
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=client.meta.endpoint_url,
            aws_access_key_id=creds["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=creds["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=creds["AWS_SESSION_TOKEN"],
            config=client.meta.config,
        )

    for name, module in list(sys.modules.items()):
        if (
            name.startswith("moto.stepfunctions.parser")
            and getattr(module, "boto_client_for", None) is original_client
        ):
            module.boto_client_for = boto_client_for  # type: ignore[attr-defined]

    original_start = StepFunctionsParserBackend.start_execution

    def start_execution(
        self: Any,
        state_machine_arn: str,
        name: Any = None,
        execution_input: Any = None,
        trace_header: Any = None,
    ) -> Any:
        return original_start(
            self, state_machine_arn, name or str(uuid.uuid4()), execution_input, trace_header
        )

    StepFunctionsParserBackend.start_execution = start_execution  # type: ignore[method-assign]

    def start_sync_execution(self: StepFunctionResponse) -> Any:
        from moto.core.responses import ActionResult

        arn = self._get_param("stateMachineArn")
        backend = self.stepfunction_backend
        machine = backend.describe_state_machine(arn)
        if str(getattr(machine, "type", "STANDARD")).upper() != "EXPRESS":
            from moto.stepfunctions.exceptions import ValidationException

            raise ValidationException("This operation is not supported by this type of state machine")
        execution = backend.start_execution(
            arn, self._get_param("name"), self._get_param("input", if_none="{}")
        )
        worker = getattr(execution, "exec_worker", None)
        deadline = time.monotonic() + 300  # EXPRESS runs at most five minutes
        while str(execution.exec_status).upper().endswith("RUNNING") and time.monotonic() < deadline:
            time.sleep(0.05)
        del worker
        described = backend.describe_execution(execution.execution_arn)
        result = {
            "executionArn": execution.execution_arn,
            "stateMachineArn": arn,
            "name": execution.name,
            "startDate": execution.start_date,
            "stopDate": getattr(described, "stop_date", None) or execution.start_date,
            "status": _status(execution.exec_status),
            "input": execution.input_data
            if isinstance(execution.input_data, str)
            else json.dumps(execution.input_data),
        }
        output = getattr(described, "output", None)
        if output is not None:
            result["output"] = output if isinstance(output, str) else json.dumps(output)
        for key in ("error", "cause"):
            value = getattr(described, key, None)
            if value:
                result[key] = value
        return ActionResult(result)

    StepFunctionResponse.start_sync_execution = start_sync_execution  # type: ignore[attr-defined]


def _status(value: Any) -> str:
    return str(getattr(value, "value", value)).split(".")[-1]


# -- SQS event source mappings ----------------------------------------------------------------


class SqsPoller:
    """Lambda's SQS poller: one loop over every enabled mapping of every account."""

    def __init__(self, interval: float = POLL_INTERVAL) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._inflight: dict[str, int] = {}
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._loop, daemon=True, name="sqs-poller")

    def start(self) -> SqsPoller:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            with contextlib.suppress(Exception):
                self.poll_once()

    def mappings(self) -> list[Any]:
        from moto.awslambda.models import lambda_backends

        found = []
        for account in list(lambda_backends.values()):
            for backend in list(account.values()):
                for esm in list(getattr(backend, "_event_source_mappings", {}).values()):
                    if esm.enabled and esm.event_source_arn.split(":")[2] == "sqs":
                        found.append(esm)
        return found

    def poll_once(self) -> int:
        """Start one batch per mapping that has room; return how many batches started."""
        started = 0
        for esm in self.mappings():
            limit = int((esm.scaling_config or {}).get("MaximumConcurrency") or 1000)
            with self._lock:
                if self._inflight.get(esm.uuid, 0) >= limit:
                    continue
            batch = self._receive(esm)
            if not batch:
                continue
            with self._lock:
                self._inflight[esm.uuid] = self._inflight.get(esm.uuid, 0) + 1
            threading.Thread(target=self._deliver, args=(esm, *batch), daemon=True).start()
            started += 1
        return started

    def _receive(self, esm: Any) -> tuple[Any, list[Any], str] | None:
        from moto.sqs.models import sqs_backends

        parts = esm.event_source_arn.split(":")
        backend = sqs_backends[parts[4]][parts[3]]
        try:
            queue = backend.get_queue(parts[5])
        except Exception:
            return None
        messages = backend.receive_message(
            parts[5],
            count=int(esm.batch_size or 10),
            wait_seconds_timeout=0,
            visibility_timeout=int(queue.visibility_timeout),
            message_attribute_names=["All"],
        )
        return (backend, messages, parts[5]) if messages else None

    def _deliver(self, esm: Any, backend: Any, messages: list[Any], queue_name: str) -> None:
        from moto.awslambda.utils import get_backend

        try:
            fn = get_backend(esm.account_id, esm.region).get_function(esm.function_arn)
            event = sqs_event(messages, esm.event_source_arn)
            try:
                result = executor().run(fn, json.dumps(event).encode())
            except Throttled:
                return  # the messages become visible again after the visibility timeout
            if not result.ok:
                return
            failed: set[str] = set()
            if "ReportBatchItemFailures" in (esm.function_response_types or []):
                doc = result.document()
                items = (doc or {}).get("batchItemFailures") if isinstance(doc, dict) else None
                failed = {i.get("itemIdentifier") for i in items or [] if isinstance(i, dict)}
            for message in messages:
                if message.id not in failed:
                    with contextlib.suppress(Exception):
                        backend.delete_message(queue_name, message.receipt_handle)
        finally:
            with self._lock:
                self._inflight[esm.uuid] -= 1


def sqs_event(messages: list[Any], queue_arn: str) -> dict[str, Any]:
    region = queue_arn.split(":")[3]
    records = []
    for m in messages:
        attributes = {
            "ApproximateReceiveCount": str(m.approximate_receive_count),
            "SentTimestamp": str(m.sent_timestamp),
            "SenderId": m.sender_id,
            "ApproximateFirstReceiveTimestamp": str(m.approximate_first_receive_timestamp),
        }
        if m.group_id:
            attributes["MessageGroupId"] = m.group_id
        if m.deduplication_id:
            attributes["MessageDeduplicationId"] = m.deduplication_id
        records.append(
            {
                "messageId": m.id,
                "receiptHandle": m.receipt_handle,
                "body": m.body,
                "attributes": attributes,
                "messageAttributes": {
                    k: {
                        "stringValue": v.get("StringValue"),
                        "binaryValue": v.get("BinaryValue"),
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": v.get("DataType"),
                    }
                    for k, v in (m.message_attributes or {}).items()
                },
                "md5OfBody": m.body_md5,
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
        )
    return {"Records": records}


_POLLER: SqsPoller | None = None


def install() -> list[str]:
    global _POLLER
    patches = [
        patch_s3_lambda_async,
        patch_sns_lambda,
        patch_eventbridge_targets,
        patch_stepfunctions_execution,
    ]
    for patch in patches:
        patch()
    _POLLER = SqsPoller().start()
    return [p.__name__ for p in patches] + ["sqs_poller"]
