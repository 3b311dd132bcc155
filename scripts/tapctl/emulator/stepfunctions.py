"""Step Functions executions in the emulator: moto's interpreter runs them, as the state machine's role.

:func:`patch_stepfunctions_execution` turns on moto's interpreter, makes each service call of an
execution with the credentials of the state machine's role (so in its account), gives an
execution started without a name a generated one, as AWS does, and answers
``StartSyncExecution`` for EXPRESS state machines (waits for the execution, at most five minutes,
and returns its status, output or error). :func:`start_execution` starts an execution directly,
as an EventBridge target does.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from scripts.tapctl.emulator.roles import role_credentials


def start_execution(machine_arn: str, payload: str, name: str | None = None) -> str:
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    parts = machine_arn.split(":")
    backend = stepfunctions_parser_backends[parts[4]][parts[3]]
    return backend.start_execution(
        machine_arn, name=name or str(uuid.uuid4()), execution_input=payload
    ).execution_arn


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
