"""Serverless file processing (seed 004): uploads bucket -> per-type processors
-> metadata table, and a REST API listing metadata and handing out presigned URLs.

Composition only: the pieces live in ``lib/constructs/``; the runtime code in
``lib/lambda/file_processing/`` (``common/`` is a layer the four functions share).
"""

from __future__ import annotations

from cdktf import TerraformOutput
from cdktf_cdktf_provider_aws.lambda_permission import LambdaPermission
from cdktf_cdktf_provider_aws.s3_bucket_notification import (
    S3BucketNotification,
    S3BucketNotificationLambdaFunction,
)
from constructs import Construct

from lib.config.settings.file_processing import FileProcessingSettings
from lib.constructs.alarms import Watch, api_5xx
from lib.constructs.api_clients import request_validator
from lib.constructs.dynamodb_table import Index
from lib.constructs.foundation import FoundationSpec
from lib.constructs.function_family import SharedLayer
from lib.constructs.iam import Grant
from lib.constructs.lambda_function import LambdaFunction
from lib.constructs.rest_api import RestApi, Throttle
from lib.constructs.secure_bucket import BucketCors
from lib.naming import NameKind
from lib.stacks.base import StackContext
from lib.stacks.system import SystemStack

SYSTEM = "file_processing"
STAGE = "v1"
UPLOAD_PREFIX = "uploads/"
#: processor function -> (service name, suffixes it is notified for). The
#: handlers' ``file_records.SUFFIXES`` holds the same table.
PROCESSORS: dict[str, tuple[str, tuple[str, ...]]] = {
    "image_processor": ("files-image", (".jpg", ".png")),
    "document_processor": ("files-document", (".pdf", ".txt")),
    "data_processor": ("files-data", (".csv", ".json")),
}
API_FUNCTION = ("api", "files-api")
#: method, path of every API route (all Lambda proxy routes to the API function).
ROUTES = (
    ("GET", "/files"),
    ("GET", "/files/{file_id}"),
    ("GET", "/files/{file_id}/download-url"),
    ("POST", "/uploads"),
)
PYTHON_RUNTIME = "python3.12"


def bedrock_model_arn(region: str, model_id: str) -> str:
    """Foundation models are AWS-owned: their ARNs have no account."""
    return f"arn:aws:bedrock:{region}::foundation-model/{model_id}"


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


class FileProcessingStack(SystemStack):
    #: Key, alert topic and the dead-letter queue that keeps S3 events still failing after
    #: Lambda's retries (S3 invokes the processors asynchronously) instead of dropping them.
    foundation = FoundationSpec(
        service="files",
        key_description="File processing data at rest ({name})",
        kept_key_deletion_window_days=30,
    )
    shared_layer = SharedLayer(
        service="files-common",
        description="file_records: S3 events, metadata records, the processing loop",
        folder="common",
        with_requirements=False,
        id_="common-layer",
        package_id="common-layer-asset",
    )
    settings: FileProcessingSettings

    def __init__(self, scope: Construct, *, ctx: StackContext[FileProcessingSettings]) -> None:
        super().__init__(scope, ctx=ctx)
        self._storage()
        self.family = self.function_family(
            system=SYSTEM, runtime=PYTHON_RUNTIME, memory_mb=512, package_id="{function}-asset"
        )
        self.functions: dict[str, LambdaFunction] = {}
        self._processors()
        self.api_function = self._api_function()
        self._notifications()
        self.api = self._api()
        self._alarms()
        self._outputs()

    # -- sections -------------------------------------------------------------------
    def _storage(self) -> None:
        """The uploads bucket (browsers upload with presigned URLs) and the metadata table."""
        settings = self.settings
        self.bucket = self.system_bucket(
            "uploads",
            "files-uploads",
            noncurrent_expiration_days=settings.noncurrent_version_expiration_days,
            cors=BucketCors(
                allowed_origins=settings.cors_allowed_origins,
                allowed_methods=["GET", "HEAD", "PUT"],
            ),
        )
        self.table = self.system_table(
            "metadata",
            "files-metadata",
            hash_key="file_id",
            attributes={"file_id": "S", "kind": "S", "processed_at": "S"},
            indexes=[Index(name="by-kind", hash_key="kind", range_key="processed_at")],
        )

    def _function(
        self,
        name: str,
        service: str,
        *,
        grants: list[Grant],
        environment: dict[str, str],
        reserved: int,
        description: str,
    ) -> LambdaFunction:
        fn = self.family.function(
            name.replace("_", "-"),
            function=name,
            service=service,
            description=description,
            grants=[*grants, self.base.key_use],
            environment=environment,
            timeout_seconds=60,
            reserved_concurrency=reserved,
        )
        self.functions[name] = fn
        return fn

    def _processors(self) -> None:
        """One processor per file family; the document processor may summarise with Bedrock."""
        settings, bedrock = self.settings, self.settings.bedrock
        common_env = {"METADATA_TABLE": self.table.name, "MAX_FILE_BYTES": str(settings.max_file_bytes)}
        for name, (service, suffixes) in PROCESSORS.items():
            grants = [
                Grant(actions=["s3:GetObject"], resources=[self.bucket.objects_arn()]),
                Grant(actions=["dynamodb:PutItem"], resources=[self.table.arn]),
            ]
            environment = dict(common_env)
            if name == "document_processor" and bedrock.enabled:
                model_arn = bedrock_model_arn(self.ctx.region, bedrock.model_id)
                grants.append(Grant(actions=["bedrock:InvokeModel"], resources=[model_arn]))
                environment["BEDROCK_MODEL_ID"] = bedrock.model_id
            self._function(
                name,
                service,
                grants=grants,
                environment=environment,
                reserved=settings.reserved_concurrency.processors,
                description=f"Extracts metadata of uploaded {', '.join(suffixes)} files",
            )

    def _api_function(self) -> LambdaFunction:
        settings, bucket, table = self.settings, self.bucket, self.table
        return self._function(
            API_FUNCTION[0],
            API_FUNCTION[1],
            grants=[
                Grant(actions=["dynamodb:GetItem", "dynamodb:Scan"], resources=[table.arn]),
                Grant(actions=["dynamodb:Query"], resources=[table.index_arn("by-kind")]),
                # Presigned URLs act with the signer's permissions.
                Grant(actions=["s3:GetObject"], resources=[bucket.objects_arn()]),
                Grant(actions=["s3:PutObject"], resources=[bucket.objects_arn(UPLOAD_PREFIX)]),
            ],
            environment={
                "METADATA_TABLE": table.name,
                "UPLOAD_BUCKET": bucket.name,
                "URL_EXPIRY_SECONDS": str(settings.url_expiry_seconds),
                "ALLOWED_ORIGINS": ",".join(settings.cors_allowed_origins),
            },
            reserved=settings.reserved_concurrency.api,
            description="File metadata API: list, read, presigned download and upload URLs",
        )

    def _notifications(self) -> None:
        """S3 notifications by suffix -> processors."""
        permissions = []
        notifications = []
        for name, (_, suffixes) in PROCESSORS.items():
            fn = self.functions[name]
            permissions.append(
                LambdaPermission(
                    self,
                    f"s3-invoke-{name.replace('_', '-')}",
                    statement_id="s3-uploads-bucket",
                    action="lambda:InvokeFunction",
                    function_name=fn.name,
                    principal="s3.amazonaws.com",
                    source_arn=self.bucket.arn,
                    source_account=self.ctx.account_id,
                )
            )
            notifications += [
                S3BucketNotificationLambdaFunction(
                    id=f"{name}{suffix.replace('.', '-')}",
                    lambda_function_arn=fn.arn,
                    events=["s3:ObjectCreated:*"],
                    filter_suffix=suffix,
                )
                for suffix in suffixes
            ]
        S3BucketNotification(
            self,
            "notifications",
            bucket=self.bucket.id,
            lambda_function=notifications,
            depends_on=permissions,
        )

    def _api(self) -> RestApi:
        """Every route proxies to the API function; browsers get CORS preflights."""
        settings, api_fn = self.settings, self.api_function
        api = RestApi(
            self,
            "rest-api",
            name=self.namer.name("files-api", NameKind.API),
            description="File metadata and presigned URLs",
            stage_name=STAGE,
            throttle=Throttle(rate_limit=settings.api_rate_limit, burst_limit=settings.api_burst_limit),
        )
        # Path parameters are checked by API Gateway before the function runs.
        validator = request_validator(api, "api-validator", name="parameters", body=False)
        for method, path in ROUTES:
            api.lambda_route(
                path,
                method,
                function_name=api_fn.name,
                invoke_arn=api_fn.invoke_arn,
                authorization="AWS_IAM",
                request_validator_id=validator.id,
            )
        for path in sorted({p for _, p in ROUTES}):
            api.cors_preflight(
                path,
                allow_origin=settings.cors_allowed_origins[0],
                allow_methods=sorted({m for m, p in ROUTES if p == path}),
            )
        self.deploy_api(api, log_id="api-access-logs")
        return api

    def _alarms(self) -> None:
        self.alarms(
            functions={
                f"alarms-{name.replace('_', '-')}": (
                    PROCESSORS[name][0] if name in PROCESSORS else API_FUNCTION[1],
                    fn.name,
                )
                for name, fn in self.functions.items()
            },
            watches={
                "api-5xx-alarm": Watch(
                    api_5xx(self.api.api.name, STAGE), "files-api-5xx", "File API answered with 5xx errors"
                ),
            },
        )

    def _outputs(self) -> None:
        bedrock = self.settings.bedrock
        outputs = {
            "FileUploadBucketName": self.bucket.name,
            "FileMetadataTableName": self.table.name,
            "FileApiEndpoint": self.api.invoke_url,
            "FileApiId": self.api.id,
            "FileAlertTopicArn": self.topic.arn,
            "FileDlqUrl": self.dlq.url,
            "FileCommonLayerArn": self.family.layer_arn,
            "FileBedrockModelId": bedrock.model_id if bedrock.enabled else "disabled",
        }
        for name, fn in self.functions.items():
            outputs[f"File{_pascal(name)}FunctionName"] = fn.name
        for name, value in outputs.items():
            TerraformOutput(self, name, value=value)
