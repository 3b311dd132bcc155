"""The embedded AWS runs code: a real emulator server (loopback, started and stopped
here), functions created and invoked through boto3 exactly as on AWS.

Covers the executor (payloads, errors, timeouts, logs, throttling, layers, async
retries into the dead-letter queue) and the triggers (S3 notifications, SQS event
source mappings with redrive, EventBridge, SNS, Step Functions STANDARD and EXPRESS).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.unit.emulator_harness import package, running_emulator

ACCOUNT = "210987654321"
REGION = "eu-west-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/fn-role"


HANDLERS = package(
    {
        "slow_init.py": """
            import time

            time.sleep(2)  # module-level work: the init phase

            def handler(event, context):
                return {"ready": True}
        """,
        "app.py": """
            import json, logging, os, time
            import boto3
            from shared import shout

            log = logging.getLogger()
            log.setLevel(logging.INFO)

            def echo(event, context):
                print("echo got", json.dumps(event))
                log.info("request %s", context.aws_request_id)
                return {"event": event, "region": os.environ["AWS_REGION"],
                        "greeting": shout(os.environ["GREETING"]), "function": context.function_name,
                        "remaining": context.get_remaining_time_in_millis()}

            def boom(event, context):
                raise ValueError("bad input: " + json.dumps(event))

            def slow(event, context):
                time.sleep(30)

            def record(event, context):
                # writes what it received to the table: the trigger tests read it back
                table = boto3.resource("dynamodb").Table(os.environ["TABLE"])
                item_id = os.environ.get("MARK", "x") + ":" + str(time.time_ns())
                table.put_item(Item={"id": item_id, "event": json.dumps(event)})
                return {"stored": True}

            CALLS = []

            def counter(event, context):
                CALLS.append(1)
                time.sleep(event.get("sleep", 0))
                return {"calls": len(CALLS), "pid": os.getpid()}

            def picky(event, context):
                bodies = [r["body"] for r in event["Records"]]
                if any("poison" in b for b in bodies):
                    raise RuntimeError("cannot process " + ",".join(bodies))
                return record(event, context)
        """,
    }
)
LAYER = package({"python/shared.py": "def shout(text):\n    return text.upper() + '!'\n"})


def _wait(what: str, probe: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Any]]:
    with running_emulator(tmp_path_factory.mktemp("emulator"), ACCOUNT, REGION) as emulated:
        emulated.client("iam").create_role(RoleName="fn-role", AssumeRolePolicyDocument="{}")
        yield emulated.client


@pytest.fixture(scope="module")
def layer_arn(aws) -> str:
    return aws("lambda").publish_layer_version(LayerName="shared", Content={"ZipFile": LAYER})[
        "LayerVersionArn"
    ]


@pytest.fixture(scope="module")
def table(aws) -> str:
    name = "records"
    aws("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def make_function(
    aws, layer_arn: str, handler: str, *, timeout: int = 10, env: dict[str, str] | None = None, **extra: Any
) -> str:
    name = f"{handler.rsplit('.', maxsplit=1)[-1]}-{uuid.uuid4().hex[:6]}"
    aws("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler=handler,
        Code={"ZipFile": HANDLERS},
        Timeout=timeout,
        Layers=[layer_arn],
        Environment={"Variables": {"GREETING": "hello", **(env or {})}},
        **extra,
    )
    return name


def items(aws, table: str, mark: str) -> list[dict[str, Any]]:
    found = aws("dynamodb").scan(TableName=table)["Items"]
    return [json.loads(i["event"]["S"]) for i in found if i["id"]["S"].startswith(mark + ":")]


def test_invoke_runs_the_handler_with_its_layer_environment_and_context(aws, layer_arn):
    name = make_function(aws, layer_arn, "app.echo")
    resp = aws("lambda").invoke(FunctionName=name, Payload=json.dumps({"n": 1}), LogType="Tail")
    assert resp["StatusCode"] == 200
    assert "FunctionError" not in resp
    payload = json.loads(resp["Payload"].read())
    assert payload["event"] == {"n": 1}
    assert payload["region"] == REGION
    assert payload["greeting"] == "HELLO!"  # from the layer, on the path after the task root
    assert payload["function"] == name
    assert 0 < payload["remaining"] <= 10_000
    import base64

    tail = base64.b64decode(resp["LogResult"]).decode()
    assert 'echo got {"n": 1}' in tail
    assert "REPORT RequestId:" in tail


def test_an_exception_is_an_unhandled_function_error_and_is_logged(aws, layer_arn):
    name = make_function(aws, layer_arn, "app.boom")
    resp = aws("lambda").invoke(FunctionName=name, Payload=json.dumps({"x": 2}))
    assert resp["FunctionError"] == "Unhandled"
    doc = json.loads(resp["Payload"].read())
    assert doc["errorType"] == "ValueError"
    assert doc["errorMessage"] == 'bad input: {"x": 2}'
    assert any("raise ValueError" in line for line in doc["stackTrace"])
    logs = aws("logs")
    group = f"/aws/lambda/{name}"

    def logged() -> str:
        streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
        events = [
            e
            for s in streams
            for e in logs.get_log_events(logGroupName=group, logStreamName=s["logStreamName"])["events"]
        ]
        return "\n".join(e["message"] for e in events)

    text = _wait("the function's log", logged)
    assert "[ERROR] ValueError: bad input" in text
    assert text.splitlines()[0].startswith("START RequestId:")


def test_a_handler_past_its_timeout_is_killed(aws, layer_arn):
    name = make_function(aws, layer_arn, "app.slow", timeout=1)
    started = time.monotonic()
    resp = aws("lambda").invoke(FunctionName=name, Payload=b"{}")
    assert time.monotonic() - started < 10
    assert resp["FunctionError"] == "Unhandled"
    doc = json.loads(resp["Payload"].read())
    assert doc["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in doc["errorMessage"]


def test_reserved_concurrency_zero_throttles(aws, layer_arn):
    name = make_function(aws, layer_arn, "app.echo")
    aws("lambda").put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    client = aws("lambda")
    with pytest.raises(client.exceptions.TooManyRequestsException):
        client.invoke(FunctionName=name, Payload=b"{}")


def test_a_failed_async_invoke_is_retried_then_dead_lettered(aws, layer_arn):
    sqs = aws("sqs")
    dlq = sqs.create_queue(QueueName=f"dlq-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    name = make_function(aws, layer_arn, "app.boom", DeadLetterConfig={"TargetArn": dlq_arn})
    aws("lambda").put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=1)
    resp = aws("lambda").invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"id": 7}))
    assert resp["StatusCode"] == 202

    def dead() -> list[dict[str, Any]]:
        return sqs.receive_message(QueueUrl=dlq, MessageAttributeNames=["All"]).get("Messages", [])

    message = _wait("the event in the dead-letter queue", dead)[0]
    assert json.loads(message["Body"]) == {"id": 7}
    assert message["MessageAttributes"]["ErrorMessage"]["StringValue"] == 'bad input: {"id": 7}'


def test_s3_notifications_invoke_matching_functions(aws, layer_arn, table):
    name = make_function(aws, layer_arn, "app.record", env={"TABLE": table, "MARK": "s3"})
    arn = aws("lambda").get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    s3 = aws("s3")
    bucket = f"uploads-{uuid.uuid4().hex[:6]}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {
                    "LambdaFunctionArn": arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {
                        "Key": {
                            "FilterRules": [
                                {"Name": "prefix", "Value": "in/"},
                                {"Name": "suffix", "Value": ".csv"},
                            ]
                        }
                    },
                }
            ]
        },
    )
    s3.put_object(Bucket=bucket, Key="in/skip.txt", Body=b"x")
    s3.put_object(Bucket=bucket, Key="in/take.csv", Body=b"a,b")
    events = _wait("the notified function's record", lambda: items(aws, table, "s3"))
    time.sleep(1)  # the filtered-out object must not arrive late either
    events = items(aws, table, "s3")
    assert [e["Records"][0]["s3"]["object"]["key"] for e in events] == ["in/take.csv"]
    assert events[0]["Records"][0]["eventName"] == "ObjectCreated:Put"


def test_sqs_mapping_consumes_and_a_poison_message_is_redriven(aws, layer_arn, table):
    sqs = aws("sqs")
    tag = uuid.uuid4().hex[:6]
    dlq = sqs.create_queue(QueueName=f"esm-dlq-{tag}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(
        QueueName=f"esm-{tag}",
        Attributes={
            "VisibilityTimeout": "3",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}),
        },
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    name = make_function(aws, layer_arn, "app.picky", timeout=3, env={"TABLE": table, "MARK": "sqs"})
    aws("lambda").create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=name, BatchSize=1)
    sqs.send_message(QueueUrl=queue, MessageBody="good")
    sqs.send_message(QueueUrl=queue, MessageBody="poison")
    events = _wait("the good message processed", lambda: items(aws, table, "sqs"))
    assert events[0]["Records"][0]["body"] == "good"
    assert events[0]["Records"][0]["eventSource"] == "aws:sqs"
    moved = _wait(
        "the poison message in the DLQ", lambda: sqs.receive_message(QueueUrl=dlq).get("Messages"), 40
    )
    assert moved[0]["Body"] == "poison"
    left = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])
    assert left["Attributes"]["ApproximateNumberOfMessages"] == "0"


def test_eventbridge_and_sns_deliver_to_functions(aws, layer_arn, table):
    name = make_function(aws, layer_arn, "app.record", env={"TABLE": table, "MARK": "bus"})
    arn = aws("lambda").get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    events = aws("events")
    events.put_rule(Name="orders", EventPattern=json.dumps({"source": ["shop"]}))
    events.put_targets(Rule="orders", Targets=[{"Id": "fn", "Arn": arn, "InputPath": "$.detail"}])
    events.put_events(Entries=[{"Source": "shop", "DetailType": "order", "Detail": json.dumps({"order": 1})}])
    sns = aws("sns")
    topic = sns.create_topic(Name=f"t-{uuid.uuid4().hex[:6]}")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arn)
    sns.publish(TopicArn=topic, Message="hi", Subject="greeting")

    def both_deliveries() -> list[dict[str, Any]] | None:
        found = items(aws, table, "bus")
        return found if len(found) == 2 else None

    got = _wait("both deliveries", both_deliveries)
    assert {"order": 1} in got
    sns_event = next(e for e in got if "Records" in e)["Records"][0]
    assert (sns_event["EventSource"], sns_event["Sns"]["Message"], sns_event["Sns"]["TopicArn"]) == (
        "aws:sns",
        "hi",
        topic,
    )


def _machine(aws, layer_arn, kind: str, task_arn: str, retry: bool = False) -> str:
    definition = {
        "StartAt": "Work",
        "States": {
            "Work": {
                "Type": "Task",
                "Resource": task_arn,
                "Retry": [
                    {
                        "ErrorEquals": ["ValueError"],
                        "IntervalSeconds": 1,
                        "MaxAttempts": 1,
                        "BackoffRate": 2.0,
                    }
                ]
                if retry
                else [],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Fail", "Error": "Caught", "Cause": "the task failed"},
        },
    }
    return aws("stepfunctions").create_state_machine(
        name=f"m-{uuid.uuid4().hex[:6]}", definition=json.dumps(definition), roleArn=ROLE, type=kind
    )["stateMachineArn"]


def _fn_arn(aws, name: str) -> str:
    return aws("lambda").get_function(FunctionName=name)["Configuration"]["FunctionArn"]


def test_step_functions_standard_runs_lambda_tasks_retries_and_catches(aws, layer_arn):
    sfn = aws("stepfunctions")
    ok = _machine(aws, layer_arn, "STANDARD", _fn_arn(aws, make_function(aws, layer_arn, "app.echo")))
    run = sfn.start_execution(stateMachineArn=ok, input=json.dumps({"k": "v"}))["executionArn"]
    done = _wait(
        "SUCCEEDED", lambda: (d := sfn.describe_execution(executionArn=run))["status"] != "RUNNING" and d
    )
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"])["event"] == {"k": "v"}

    bad = _machine(
        aws, layer_arn, "STANDARD", _fn_arn(aws, make_function(aws, layer_arn, "app.boom")), retry=True
    )
    run = sfn.start_execution(stateMachineArn=bad, input="{}")["executionArn"]
    done = _wait(
        "FAILED", lambda: (d := sfn.describe_execution(executionArn=run))["status"] != "RUNNING" and d
    )
    assert (done["status"], done["error"]) == ("FAILED", "Caught")
    history = [e["type"] for e in sfn.get_execution_history(executionArn=run)["events"]]
    assert history.count("LambdaFunctionFailed") == 2  # the first attempt and its one retry
    assert "FailStateEntered" in history


def test_step_functions_express_sync_execution(aws, layer_arn):
    sfn = aws("stepfunctions")
    machine = _machine(aws, layer_arn, "EXPRESS", _fn_arn(aws, make_function(aws, layer_arn, "app.echo")))
    result = sfn.start_sync_execution(stateMachineArn=machine, input=json.dumps({"x": 1}))
    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"])["event"] == {"x": 1}


def test_eventbridge_starts_a_state_machine(aws, layer_arn):
    sfn = aws("stepfunctions")
    machine = _machine(aws, layer_arn, "STANDARD", _fn_arn(aws, make_function(aws, layer_arn, "app.echo")))
    events = aws("events")
    events.put_rule(Name="start", EventPattern=json.dumps({"source": ["jobs"]}))
    events.put_targets(Rule="start", Targets=[{"Id": "sm", "Arn": machine, "RoleArn": ROLE}])
    events.put_events(Entries=[{"Source": "jobs", "DetailType": "go", "Detail": json.dumps({"job": 3})}])
    runs = _wait("an execution", lambda: sfn.list_executions(stateMachineArn=machine)["executions"])
    run = runs[0]["executionArn"]
    done = _wait(
        "SUCCEEDED", lambda: (d := sfn.describe_execution(executionArn=run))["status"] != "RUNNING" and d
    )
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"])["event"]["detail"] == {"job": 3}


def test_an_uploaded_object_starts_a_state_machine_once_through_eventbridge(aws, layer_arn):
    sfn = aws("stepfunctions")
    machine = _machine(aws, layer_arn, "STANDARD", _fn_arn(aws, make_function(aws, layer_arn, "app.echo")))
    s3 = aws("s3")
    bucket = f"raw-{uuid.uuid4().hex[:6]}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    pattern = {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [bucket]}, "object": {"key": [{"prefix": "raw/"}]}},
    }
    aws("events").put_rule(Name=f"up-{bucket}", EventPattern=json.dumps(pattern))
    transformer = {
        "InputPathsMap": {"bucket": "$.detail.bucket.name", "key": "$.detail.object.key"},
        "InputTemplate": '{"bucket": <bucket>, "key": <key>, "note": "got <key>"}',
    }
    aws("events").put_targets(
        Rule=f"up-{bucket}",
        Targets=[{"Id": "sm", "Arn": machine, "RoleArn": ROLE, "InputTransformer": transformer}],
    )
    s3.put_object(Bucket=bucket, Key="other/skip.json", Body=b"{}")
    s3.put_object(Bucket=bucket, Key="raw/a b.json", Body=b"{}")
    run = _wait("an execution", lambda: sfn.list_executions(stateMachineArn=machine)["executions"])[0][
        "executionArn"
    ]
    done = _wait(
        "SUCCEEDED", lambda: (d := sfn.describe_execution(executionArn=run))["status"] != "RUNNING" and d
    )
    assert json.loads(done["output"])["event"] == {
        "bucket": bucket,
        "key": "raw/a b.json",
        "note": "got raw/a b.json",
    }
    time.sleep(1)
    assert len(sfn.list_executions(stateMachineArn=machine)["executions"]) == 1


def test_the_input_transformer_quotes_values_as_eventbridge_does():
    from scripts.tapctl.emulator.triggers import render_template

    event = {"detail": {"n": 3, "s": 'a"b', "o": {"k": [1]}}}
    paths = {"n": "$.detail.n", "s": "$.detail.s", "o": "$.detail.o", "missing": "$.detail.none"}
    rendered = render_template(
        '{"n": <n>, "s": <s>, "o": <o>, "m": <missing>, "text": "<s> and <n>"}', paths, event
    )
    assert json.loads(rendered) == {"n": 3, "s": 'a"b', "o": {"k": [1]}, "m": None, "text": 'a"b and 3'}


def test_an_execution_environment_is_reused_and_replaced_after_a_timeout(aws, layer_arn):
    """Like Lambda: module state survives between invocations of a warm environment;
    a timed-out environment is discarded and the next call starts cold."""
    name = make_function(aws, layer_arn, "app.counter", timeout=2)
    client = aws("lambda")

    def count(event: dict[str, Any]) -> dict[str, Any]:
        resp = client.invoke(FunctionName=name, Payload=json.dumps(event))
        return json.loads(resp["Payload"].read())

    first, second = count({}), count({})
    assert (first["calls"], second["calls"]) == (1, 2)
    assert first["pid"] == second["pid"]
    timed_out = client.invoke(FunctionName=name, Payload=json.dumps({"sleep": 5}))
    assert timed_out["FunctionError"] == "Unhandled"
    after = count({})
    assert after["calls"] == 1
    assert after["pid"] != first["pid"]


def test_the_init_phase_does_not_count_against_the_timeout(aws, layer_arn):
    """As in Lambda: importing the handler (here 2 s of module-level work) is the init
    phase; a 1 s timeout applies to the handler alone."""
    name = make_function(aws, layer_arn, "slow_init.handler", timeout=1)
    resp = aws("lambda").invoke(FunctionName=name, Payload=b"{}")
    assert "FunctionError" not in resp
    assert json.loads(resp["Payload"].read()) == {"ready": True}
