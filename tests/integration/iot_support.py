"""What the IoT pipeline's integration tests need: the deployed API, tables, queue and key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import boto3


@dataclass(frozen=True)
class IotPipeline:
    region: str
    #: the stage's invoke URL
    endpoint: str
    #: the devices' API key (read from its SecureString parameter)
    api_key: str
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
    ingest = boto3.client("lambda", region_name=region).get_function_configuration(
        FunctionName=functions["ingest"]
    )
    parameter = ingest["Environment"]["Variables"]["CONFIG_PARAMETER"].rsplit("/", 1)[0] + "/api-key"
    api_key = boto3.client("ssm", region_name=region).get_parameter(Name=parameter, WithDecryption=True)
    return IotPipeline(
        region=region,
        endpoint=outputs["ApiEndpoint"].rstrip("/"),
        api_key=api_key["Parameter"]["Value"],
        api_id=api_id,
        stage=stage,
        functions=functions,
        raw_table=outputs["RawSensorTableName"],
        processed_table=outputs["ProcessedDataTableName"],
        queue_url=outputs["IngestionQueueUrl"],
        topic_arn=topic,
    )
