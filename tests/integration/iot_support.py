"""What the IoT pipeline's integration tests share: discovery and a queue lock."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3


@dataclass(frozen=True)
class IotPipeline:
    region: str
    api_id: str
    stage: str
    #: route path ("ingest", "process", "query") -> function ARN, read from the API's integrations
    functions: dict[str, str]
    raw_table: str
    processed_table: str
    queue_url: str
    topic_arn: str

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=self.region)


def discover(outputs: dict[str, Any]) -> IotPipeline:
    """Everything the tests need, from the outputs and the deployed API."""
    topic = outputs["AlertTopicArn"]
    region = topic.split(":")[3]
    endpoint = urlparse(outputs["ApiEndpoint"])
    api_id = endpoint.hostname.split(".")[0]  # type: ignore[union-attr]
    stage = endpoint.path.strip("/")
    apigw = boto3.client("apigateway", region_name=region)
    functions = {}
    for resource in apigw.get_resources(restApiId=api_id, limit=500)["items"]:
        for method in resource.get("resourceMethods", {}):
            integration = apigw.get_integration(
                restApiId=api_id, resourceId=resource["id"], httpMethod=method
            )
            # arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function arn>/invocations
            functions[resource["pathPart"]] = integration["uri"].split("/functions/")[1].rsplit("/", 1)[0]
    return IotPipeline(
        region=region,
        api_id=api_id,
        stage=stage,
        functions=functions,
        raw_table=outputs["RawSensorTableName"],
        processed_table=outputs["ProcessedDataTableName"],
        queue_url=outputs["IngestionQueueUrl"],
        topic_arn=topic,
    )


@contextlib.contextmanager
def exclusive(resource: str) -> Iterator[None]:
    """Serialize, across pytest-xdist workers, the tests that *consume* one queue.

    Receiving from a shared queue would hide (and count a receive of) another
    test's messages; tests that only send need no lock.
    """
    digest = hashlib.sha256(resource.encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"tap-it-{digest}.lock"
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def api_event(
    method: str, path: str, *, body: Any = None, query: dict[str, str] | None = None
) -> dict[str, Any]:
    """An API Gateway proxy event as the REST API sends it to the function."""
    return {
        "resource": f"/{path}",
        "path": f"/{path}",
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"},
        "queryStringParameters": query,
        "body": None if body is None else (body if isinstance(body, str) else json.dumps(body)),
        "isBase64Encoded": False,
        "requestContext": {"resourcePath": f"/{path}", "httpMethod": method, "stage": "test"},
    }


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event an SQS event source mapping delivers for received ``messages``."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }
