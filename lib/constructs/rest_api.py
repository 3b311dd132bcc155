"""A REST API (API Gateway v1) with Lambda proxy routes, CORS preflights and one
stage throttled by method settings.

Routes are added with :meth:`RestApi.lambda_route` / :meth:`RestApi.cors_preflight`
(checked by validators and models of :mod:`lib.constructs.api_clients`), then
:meth:`RestApi.deploy` creates the deployment (redeployed whenever a route, an
integration target or the routes' description changes) and the stage; after it,
:func:`lib.constructs.api_clients.usage_plan` meters API-key clients of the stage.

The access log group (like the validators, models and usage plans) is created
*beside* the API, in the scope the API was created in (:attr:`RestApi.beside`), under
the id the caller gives: its Terraform address does not depend on the API's construct id.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cdktf import Fn, TerraformResource, TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.api_gateway_deployment import ApiGatewayDeployment
from cdktf_cdktf_provider_aws.api_gateway_integration import ApiGatewayIntegration
from cdktf_cdktf_provider_aws.api_gateway_integration_response import ApiGatewayIntegrationResponse
from cdktf_cdktf_provider_aws.api_gateway_method import ApiGatewayMethod
from cdktf_cdktf_provider_aws.api_gateway_method_response import ApiGatewayMethodResponse
from cdktf_cdktf_provider_aws.api_gateway_method_settings import (
    ApiGatewayMethodSettings,
    ApiGatewayMethodSettingsSettings,
)
from cdktf_cdktf_provider_aws.api_gateway_resource import ApiGatewayResource
from cdktf_cdktf_provider_aws.api_gateway_rest_api import (
    ApiGatewayRestApi,
    ApiGatewayRestApiEndpointConfiguration,
)
from cdktf_cdktf_provider_aws.api_gateway_stage import ApiGatewayStage, ApiGatewayStageAccessLogSettings
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.lambda_permission import LambdaPermission
from constructs import Construct

from lib.constructs.forwarded import Forwarded

AUTHORIZATIONS = frozenset({"NONE", "AWS_IAM"})
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
_PART = re.compile(r"^([A-Za-z0-9._-]+|\{[A-Za-z_][A-Za-z0-9_]*\})$")


class RestApiError(ValueError):
    """An invalid route or setting."""


#: A JSON access log line per request (no request or response bodies).
JSON_ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "caller": "$context.identity.caller",
        "apiKeyId": "$context.identity.apiKeyId",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "status": "$context.status",
        "responseLength": "$context.responseLength",
        "integrationError": "$context.integration.error",
    },
    separators=(",", ":"),
)


@dataclass(frozen=True)
class AccessLog:
    """Where the stage writes one line per request, and the line's format."""

    destination_arn: str
    format: str = JSON_ACCESS_LOG_FORMAT


@dataclass(frozen=True)
class Throttle:
    """Stage-wide steady rate (requests per second) and burst."""

    rate_limit: float
    burst_limit: int

    def __post_init__(self) -> None:
        if self.rate_limit <= 0 or self.burst_limit < 1:
            raise RestApiError(f"throttle {self.rate_limit}/{self.burst_limit} must be positive")


def _slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "root"


def split_path(path: str) -> list[str]:
    if not path.startswith("/") or path == "/":
        raise RestApiError(f"path {path!r} must start with '/' and name a resource")
    parts = path.strip("/").split("/")
    for part in parts:
        if not _PART.match(part):
            raise RestApiError(f"path {path!r}: segment {part!r} is not a name or a {{parameter}}")
    return parts


class RestApi(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name: str,
        description: str,
        stage_name: str,
        throttle: Throttle,
        tracing: bool = True,
    ) -> None:
        super().__init__(scope, id_)
        if not re.match(r"^[A-Za-z0-9_]{1,128}$", stage_name):
            raise RestApiError(f"stage name {stage_name!r} must be letters, digits or '_'")
        #: Where the access log group, validators, models and usage plans are created.
        self.beside = scope
        self.name = name
        self.stage_name = stage_name
        self.throttle = throttle
        self.tracing = tracing
        self.api = ApiGatewayRestApi(
            self,
            "api",
            name=name,
            description=description,
            endpoint_configuration=ApiGatewayRestApiEndpointConfiguration(types=["REGIONAL"]),
        )
        self._resources: dict[str, ApiGatewayResource] = {}
        self._parts: list[TerraformResource] = []
        self._targets: list[str] = []
        self._spec: list[dict[str, object]] = []
        self.stage: ApiGatewayStage | None = None

    # -- routes --------------------------------------------------------------
    def resource(self, path: str) -> ApiGatewayResource:
        """The resource at ``path``, creating any missing parents."""
        parts = split_path(path)
        parent_id = self.api.root_resource_id
        current = ""
        node: ApiGatewayResource | None = None
        for part in parts:
            current = f"{current}/{part}"
            node = self._resources.get(current)
            if node is None:
                node = ApiGatewayResource(
                    self,
                    f"res-{_slug(current)}",
                    rest_api_id=self.api.id,
                    parent_id=parent_id,
                    path_part=part,
                )
                self._resources[current] = node
                self._parts.append(node)
            parent_id = node.id
        assert node is not None
        return node

    def lambda_route(
        self,
        path: str,
        method: str,
        *,
        function_name: str,
        invoke_arn: str,
        authorization: str,
        api_key_required: bool = False,
        request_validator_id: str | None = None,
        request_models: Mapping[str, str] | None = None,
    ) -> ApiGatewayMethod:
        """``method path`` -> Lambda proxy integration, with the invoke permission
        scoped to exactly this method and path of this API."""
        if method not in METHODS:
            raise RestApiError(f"method {method!r} is not one of {', '.join(sorted(METHODS))}")
        if authorization not in AUTHORIZATIONS:
            raise RestApiError(
                f"authorization {authorization!r} is not one of {', '.join(sorted(AUTHORIZATIONS))}"
            )
        if authorization == "NONE" and not api_key_required:
            raise RestApiError(f"{method} {path} would be open to anyone: require AWS_IAM or an API key")
        resource = self.resource(path)
        slug = f"{method.lower()}-{_slug(path)}"
        m, integration = self._method(
            slug,
            resource,
            method,
            authorization=authorization,
            api_key_required=api_key_required,
            request_validator_id=request_validator_id,
            request_models=request_models,
            integration_type="AWS_PROXY",
            integration_uri=invoke_arn,
        )
        source_path = re.sub(r"\{[^}]+\}", "*", path)
        LambdaPermission(
            self,
            f"permission-{slug}",
            statement_id=f"apigateway-{slug}"[:100],
            action="lambda:InvokeFunction",
            function_name=function_name,
            principal="apigateway.amazonaws.com",
            source_arn=f"{self.api.execution_arn}/*/{method}{source_path}",
        )
        self._parts += [m, integration]
        self._targets.append(invoke_arn)
        # Model names are usually tokens, whose text depends on how many tokens the
        # process made before: they go into the trigger as references, not into the hash.
        models = dict(request_models or {})
        self._targets += [models[content_type] for content_type in sorted(models)]
        self._spec.append(
            {
                "path": path,
                "method": method,
                "authorization": authorization,
                "api_key": api_key_required,
                "validated": request_validator_id is not None,
                "models": sorted(models),
            }
        )
        return m

    def cors_preflight(
        self,
        path: str,
        *,
        allow_origin: str,
        allow_methods: Sequence[str],
        allow_headers: Sequence[str] = (
            "Content-Type",
            "Authorization",
            "X-Amz-Date",
            "X-Amz-Security-Token",
        ),
    ) -> ApiGatewayMethod:
        """``OPTIONS path`` answered by API Gateway itself (a MOCK integration);
        browsers send preflights unauthenticated, so this method has none."""
        resource = self.resource(path)
        slug = f"options-{_slug(path)}"
        headers = {
            "Access-Control-Allow-Origin": allow_origin,
            "Access-Control-Allow-Methods": ",".join(sorted({*allow_methods, "OPTIONS"})),
            "Access-Control-Allow-Headers": ",".join(allow_headers),
        }
        m, integration = self._method(
            slug,
            resource,
            "OPTIONS",
            authorization="NONE",
            integration_type="MOCK",
            request_templates={"application/json": '{"statusCode": 200}'},
        )
        response = ApiGatewayMethodResponse(
            self,
            f"response-{slug}",
            rest_api_id=self.api.id,
            resource_id=resource.id,
            http_method=m.http_method,
            status_code="200",
            response_parameters={f"method.response.header.{h}": True for h in headers},
        )
        integration_response = ApiGatewayIntegrationResponse(
            self,
            f"integration-response-{slug}",
            rest_api_id=self.api.id,
            resource_id=resource.id,
            http_method=m.http_method,
            status_code=response.status_code,
            response_parameters={f"method.response.header.{h}": f"'{v}'" for h, v in headers.items()},
            depends_on=[integration],
        )
        self._parts += [m, integration, response, integration_response]
        self._spec.append({"path": path, "method": "OPTIONS", "headers": sorted(headers.items())})
        return m

    def _method(
        self,
        slug: str,
        resource: ApiGatewayResource,
        http_method: str,
        *,
        authorization: str,
        integration_type: str,
        api_key_required: bool | None = None,
        request_validator_id: str | None = None,
        request_models: Mapping[str, str] | None = None,
        integration_uri: str | None = None,
        request_templates: Mapping[str, str] | None = None,
    ) -> tuple[ApiGatewayMethod, ApiGatewayIntegration]:
        """``method-<slug>`` on ``resource`` and its ``integration-<slug>`` (API Gateway
        invokes a Lambda proxy integration with POST, whatever the method)."""
        method = ApiGatewayMethod(
            self,
            f"method-{slug}",
            rest_api_id=self.api.id,
            resource_id=resource.id,
            http_method=http_method,
            authorization=authorization,
            api_key_required=api_key_required,
            request_validator_id=request_validator_id,
            request_models=dict(request_models) if request_models else None,
        )
        integration = ApiGatewayIntegration(
            self,
            f"integration-{slug}",
            rest_api_id=self.api.id,
            resource_id=resource.id,
            http_method=method.http_method,
            type=integration_type,
            integration_http_method="POST" if integration_type == "AWS_PROXY" else None,
            uri=integration_uri,
            request_templates=dict(request_templates) if request_templates else None,
        )
        return method, integration

    # -- deployment ----------------------------------------------------------
    def access_log_group(
        self, id_: str, *, retention_days: int, kms_key_arn: str, log_format: str = JSON_ACCESS_LOG_FORMAT
    ) -> AccessLog:
        """The log group ``/aws/apigateway/<api name>``, as the stage's access log (:meth:`deploy`)."""
        group = CloudwatchLogGroup(
            self.beside,
            id_,
            name=f"/aws/apigateway/{self.name}",
            retention_in_days=retention_days,
            kms_key_id=kms_key_arn,
        )
        return AccessLog(destination_arn=group.arn, format=log_format)

    def deploy(
        self, *, access_log: AccessLog | None = None, logging_level: str | None = None
    ) -> ApiGatewayStage:
        """``access_log`` turns on access logging; ``logging_level`` (``ERROR`` or
        ``INFO``) execution logging of every method."""
        if logging_level not in (None, "ERROR", "INFO"):
            raise RestApiError(f"logging level {logging_level!r} is not ERROR or INFO")
        if self.stage is not None:
            raise RestApiError("deploy() was already called")
        if not self._spec:
            raise RestApiError("an API needs at least one route before it is deployed")
        spec_hash = hashlib.sha256(json.dumps(self._spec, sort_keys=True).encode()).hexdigest()
        deployment = ApiGatewayDeployment(
            self,
            "deployment",
            rest_api_id=self.api.id,
            description="managed by cdktf",
            # Redeploy when the routes change or an integration points elsewhere.
            triggers={"redeployment": Fn.sha1(Fn.jsonencode([spec_hash, *self._targets]))},
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
            depends_on=self._parts,
        )
        self.stage = ApiGatewayStage(
            self,
            "stage",
            rest_api_id=self.api.id,
            deployment_id=deployment.id,
            stage_name=self.stage_name,
            xray_tracing_enabled=self.tracing,
            access_log_settings=(
                ApiGatewayStageAccessLogSettings(
                    destination_arn=access_log.destination_arn, format=access_log.format
                )
                if access_log
                else None
            ),
        )
        self.method_settings = ApiGatewayMethodSettings(
            self,
            "method-settings",
            rest_api_id=self.api.id,
            stage_name=self.stage.stage_name,
            method_path="*/*",
            settings=ApiGatewayMethodSettingsSettings(
                metrics_enabled=True,
                throttling_rate_limit=self.throttle.rate_limit,
                throttling_burst_limit=self.throttle.burst_limit,
                logging_level=logging_level,
            ),
        )
        return self.stage

    id = Forwarded("api", "id")

    @property
    def invoke_url(self) -> str:
        if self.stage is None:
            raise RestApiError("deploy() the API before reading its URL")
        return self.stage.invoke_url
