"""EventBridge rules in the emulator deliver to Lambda and Step Functions targets, with the input AWS renders.

:func:`patch_eventbridge_targets` takes the targets moto cannot run out of ``Rule.send_to_targets``
(moto still delivers to the others): a Lambda target gets an asynchronous invocation, a Step
Functions target a ``StartExecution``; a failing target is logged and never fails ``PutEvents``.
What a target receives is :func:`target_input`: its ``Input``, ``InputPath`` or
``InputTransformer`` (:func:`render_template`, placeholders JSON-encoded as values and raw inside
string literals, as AWS renders them), else the event.
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any

from scripts.tapctl.emulator.lambda_executor import executor
from scripts.tapctl.emulator.stepfunctions import start_execution

log = logging.getLogger("tap.emulator")


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
