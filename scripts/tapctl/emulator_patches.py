"""Gaps in moto that the AWS provider trips over, closed in the emulator layer.

Each patch is small, documented in docs/emulator.md, and applied only inside
the emulator process (``scripts.tapctl.emulator_server``). None of them
changes what the stacks synthesize.
"""

from __future__ import annotations

import json
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


PATCHES = [patch_stepfunctions_validate]


def apply_all() -> list[str]:
    for patch in PATCHES:
        patch()
    return [p.__name__ for p in PATCHES]
