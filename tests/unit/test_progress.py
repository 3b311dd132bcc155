"""Live apply/destroy progress from Terraform's ``-json`` stream (scripts/tapctl/core/tfprogress.py).

The events below are shaped exactly like Terraform 1.11's machine-readable UI
(``terraform apply -json tfplan``): the same keys, the same messages, one JSON
object a line."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from scripts.tapctl.core import terraform, ui
from scripts.tapctl.core.tfprogress import Progress, render

T0 = 1_000.0  # the fake monotonic clock's start


def stamp(t: float) -> str:
    """Terraform's ``@timestamp`` (``2026-11-27T13:00:04.000000Z``) ``t`` seconds after the start."""
    at = datetime(2026, 11, 27, 13, 0, tzinfo=UTC) + timedelta(seconds=t)
    return at.isoformat(timespec="microseconds").replace("+00:00", "Z")


def resource(addr: str) -> dict[str, Any]:
    kind, rest = addr.split(".", 1)
    name, _, key = rest.partition("[")
    return {
        "addr": addr,
        "module": "",
        "resource": addr,
        "implied_provider": kind.split("_", 1)[0],
        "resource_type": kind,
        "resource_name": name,
        "resource_key": int(key.rstrip("]")) if key else None,
    }


def line(kind: str, message: str, t: float, level: str = "info", **body: Any) -> str:
    event = {"@level": level, "@message": message, "@module": "terraform.ui", "@timestamp": stamp(t)}
    return json.dumps({**event, **body, "type": kind}, separators=(",", ":"))


def version(t: float = 0.0) -> str:
    return line("version", "Terraform 1.11.4", t, terraform="1.11.4", ui="1.2")


def planned(addr: str, action: str, t: float = 0.1) -> str:
    verb = {"create": "create", "update": "update", "delete": "delete", "replace": "replace"}[action]
    change: dict[str, Any] = {"resource": resource(addr), "action": action}
    if action == "replace":
        change["reason"] = "cannot_update"
    return line("planned_change", f"{addr}: Plan to {verb}", t, change=change)


START = {"create": "Creating...", "update": "Modifying...", "delete": "Destroying..."}
NOUN = {"create": "Creation", "update": "Modifications", "delete": "Destruction"}


def start(addr: str, action: str, t: float) -> str:
    return line(
        "apply_start", f"{addr}: {START[action]}", t, hook={"resource": resource(addr), "action": action}
    )


def still(addr: str, action: str, t: float, elapsed: float) -> str:
    verb = {"create": "creating", "update": "modifying", "delete": "destroying"}[action]
    hook = {"resource": resource(addr), "action": action, "elapsed_seconds": elapsed}
    return line("apply_progress", f"{addr}: Still {verb}... [{elapsed:.0f}s elapsed]", t, hook=hook)


def complete(addr: str, action: str, t: float, elapsed: int, ident: str = "") -> str:
    hook: dict[str, Any] = {"resource": resource(addr), "action": action}
    suffix = ""
    if ident:
        hook |= {"id_key": "id", "id_value": ident}
        suffix = f" [id={ident}]"
    hook["elapsed_seconds"] = elapsed
    message = f"{addr}: {NOUN[action]} complete after {elapsed}s{suffix}"
    return line("apply_complete", message, t, hook=hook)


def errored(addr: str, action: str, t: float, elapsed: int) -> str:
    hook = {"resource": resource(addr), "action": action, "elapsed_seconds": elapsed}
    return line("apply_errored", f"{addr}: {NOUN[action]} errored after {elapsed}s", t, hook=hook)


def diagnostic(severity: str, summary: str, detail: str, t: float, address: str = "") -> str:
    diag: dict[str, Any] = {"severity": severity, "summary": summary, "detail": detail}
    if address:
        diag["address"] = address
        diag["range"] = {
            "filename": "cdk.tf.json",
            "start": {"line": 212, "column": 50, "byte": 9120},
            "end": {"line": 212, "column": 51, "byte": 9121},
        }
    level = "error" if severity == "error" else "warn"
    prefix = "Error" if severity == "error" else "Warning"
    return line("diagnostic", f"{prefix}: {summary}", t, level=level, diagnostic=diag)


def summary(add: int, change: int, remove: int, t: float) -> str:
    changes = {"add": add, "change": change, "import": 0, "remove": remove, "operation": "apply"}
    message = f"Apply complete! Resources: {add} added, {change} changed, {remove} destroyed."
    return line("change_summary", message, t, changes=changes)


LAMBDA = "aws_lambda_function.processor"
QUEUE = "aws_sqs_queue.ingest"
ROLE = "aws_iam_role.processor"
TABLE = "aws_dynamodb_table.readings"
OLD_RULE = "aws_cloudwatch_event_rule.legacy"

#: One stack's apply: 5 resources planned (one a replacement: two hooks), 7 s long.
APPLY = [
    (0.0, version()),
    (0.1, planned(ROLE, "create")),
    (0.1, planned(QUEUE, "create")),
    (0.1, planned(TABLE, "replace")),
    (0.1, planned(LAMBDA, "update")),
    (0.1, planned(OLD_RULE, "delete")),
    (0.2, start(ROLE, "create", 0.2)),
    (0.2, start(QUEUE, "create", 0.2)),
    (0.2, start(OLD_RULE, "delete", 0.2)),
    (0.2, start(TABLE, "delete", 0.2)),
    (0.9, complete(ROLE, "create", 0.9, 0, "iot-processor-pr8")),
    (1.0, complete(OLD_RULE, "delete", 1.0, 0)),
    (1.4, complete(TABLE, "delete", 1.4, 1)),
    (1.4, start(TABLE, "create", 1.4)),
    (4.0, complete(QUEUE, "create", 4.0, 3, "https://sqs.us-east-1.amazonaws.com/111111111111/ingest")),
    (6.5, complete(TABLE, "create", 6.5, 5, "iot-readings-pr8")),
    (6.5, start(LAMBDA, "update", 6.5)),
    (9.6, complete(LAMBDA, "update", 9.6, 3, "iot-processor-pr8")),
    (9.7, summary(2, 1, 2, 9.7)),
    (9.7, line("outputs", "Outputs: 1", 9.7, outputs={"queue_url": {"sensitive": False, "type": "string"}})),
]


class Recorder:
    """The progress lines and blocks a :class:`Progress` prints, and a clock the test moves."""

    def __init__(self) -> None:
        self.now = T0
        self.lines: list[str] = []
        self.blocks: list[list[str]] = []

    def progress(self, stage: str = "apply", stack: str = "iot_pipeline", **kwargs: Any) -> Progress:
        kwargs.setdefault("github", False)
        return Progress(
            stage,
            stack,
            emit=self.lines.append,
            block=self.blocks.append,
            clock=lambda: self.now,
            **kwargs,
        )

    def feed(self, progress: Progress, stream: list[tuple[float, str]]) -> str:
        text = []
        for t, raw in stream:
            self.now = T0 + t
            text.append(progress.feed(raw + "\n"))
        return "".join(text)


def test_a_recorded_apply_prints_rate_limited_progress_to_the_end():
    rec = Recorder()
    progress = rec.progress()
    rec.feed(progress, APPLY)
    progress.finish(0)
    assert (progress.planned, progress.done, progress.errored) == (5, 5, [])
    assert rec.lines == [
        "apply    iot_pipeline           0/5 resources (starting)",
        # 0.9 s, 1.0 s, 1.4 s, 4.0 s: within 5 s of the first line (0.2 s), held back
        "apply    iot_pipeline           4/5 resources (aws_dynamodb_table.readings created, 5.1s)",  # 6.5 s
        # 9.6 s: within 5 s again, held back; but the last line always comes
        "apply    iot_pipeline           5/5 resources (aws_lambda_function.processor updated, 3.1s)",
    ]
    assert rec.blocks == []  # not on GitHub


def test_every_change_is_printed_when_the_interval_allows():
    rec = Recorder()
    progress = rec.progress(interval=0.0)
    rec.feed(progress, APPLY)
    progress.finish(0)
    assert [ln.split(None, 2)[2] for ln in rec.lines] == [
        "0/5 resources (starting)",
        "1/5 resources (aws_iam_role.processor created, 0.7s)",
        "2/5 resources (aws_cloudwatch_event_rule.legacy destroyed, 0.8s)",
        # the replacement's destroy: the table is not done until its create completes
        "2/5 resources (aws_dynamodb_table.readings destroyed, 1.2s)",
        "3/5 resources (aws_sqs_queue.ingest created, 3.8s)",
        "4/5 resources (aws_dynamodb_table.readings created, 5.1s)",
        "5/5 resources (aws_lambda_function.processor updated, 3.1s)",
    ]


def test_the_log_keeps_terraforms_messages():
    rec = Recorder()
    text = rec.feed(rec.progress(), APPLY)
    assert text.splitlines()[:3] == [
        "Terraform 1.11.4",
        "aws_iam_role.processor: Plan to create",
        "aws_sqs_queue.ingest: Plan to create",
    ]
    assert "aws_iam_role.processor: Creation complete after 0s [id=iot-processor-pr8]\n" in text
    assert "Apply complete! Resources: 2 added, 1 changed, 2 destroyed.\n" in text
    assert "{" not in text  # no JSON left


def test_a_slow_resource_is_never_silent():
    """Terraform reports a resource still being changed every 10 s: a line at most every 30 s."""
    rec = Recorder()
    progress = rec.progress()
    distribution = "aws_cloudfront_distribution.cdn"
    stream = [
        (0.0, version()),
        (0.1, planned(distribution, "create")),
        (0.2, start(distribution, "create", 0.2)),
    ]
    stream += [
        (10.0 * n + 0.2, still(distribution, "create", 10.0 * n + 0.2, 10.0 * n)) for n in range(1, 10)
    ]
    stream += [(95.0, complete(distribution, "create", 95.0, 94, "E2QWRUHAPOMQZL"))]
    rec.feed(progress, stream)
    progress.finish(0)
    assert [ln.split(None, 2)[2] for ln in rec.lines] == [
        "0/1 resources (starting)",
        "0/1 resources (aws_cloudfront_distribution.cdn still creating, 30.0s)",
        "0/1 resources (aws_cloudfront_distribution.cdn still creating, 1m00s)",
        "0/1 resources (aws_cloudfront_distribution.cdn still creating, 1m30s)",
        "1/1 resources (aws_cloudfront_distribution.cdn created, 1m34s)",
    ]


def test_completions_held_back_are_printed_at_the_next_heartbeat():
    rec = Recorder()
    progress = rec.progress()
    slow, fast = "aws_rds_cluster.main", "aws_s3_bucket.raw"
    rec.feed(
        progress,
        [
            (0.0, planned(slow, "create")),
            (0.0, planned(fast, "create")),
            (0.1, start(slow, "create", 0.1)),
            (0.1, start(fast, "create", 0.1)),
            (1.0, complete(fast, "create", 1.0, 0, "raw-pr8")),  # within 5 s: held back
            (10.1, still(slow, "create", 10.1, 10.0)),  # no new completion since: print it now
        ],
    )
    assert [ln.split(None, 2)[2] for ln in rec.lines] == [
        "0/2 resources (starting)",
        "1/2 resources (aws_s3_bucket.raw created, 0.9s)",
    ]


ERRORED = [
    (0.0, version()),
    (0.1, planned(ROLE, "create")),
    (0.1, planned(LAMBDA, "create")),
    (0.1, planned(QUEUE, "create")),
    (0.2, start(ROLE, "create", 0.2)),
    (0.2, start(QUEUE, "create", 0.2)),
    (0.8, complete(ROLE, "create", 0.8, 0, "iot-processor-pr8")),
    (0.9, start(LAMBDA, "create", 0.9)),
    (2.0, errored(LAMBDA, "create", 2.0, 1)),
    (2.5, complete(QUEUE, "create", 2.5, 2, "https://sqs.us-east-1.amazonaws.com/111111111111/ingest")),
    (
        2.6,
        diagnostic(
            "error",
            "creating Lambda Function (iot-processor-pr8): operation error Lambda: CreateFunction",
            "InvalidParameterValueException: The role defined for the function cannot be assumed by Lambda.",
            2.6,
            address=LAMBDA,
        ),
    ),
]


def test_an_errored_resource_is_printed_at_once_and_counted():
    rec = Recorder()
    progress = rec.progress()
    text = rec.feed(progress, ERRORED)
    progress.finish(1)
    assert (progress.planned, progress.done, progress.errored) == (3, 3, [LAMBDA])
    assert [ln.split(None, 2)[2] for ln in rec.lines] == [
        "0/3 resources (starting)",
        "2/3 resources (aws_lambda_function.processor create FAILED, 1.1s; 1 failed)",  # not held back
        "3/3 resources (aws_sqs_queue.ingest created, 2.3s; 1 failed)",
    ]
    # The log reads like Terraform's own: the existing error extraction finds the error.
    assert terraform.error_summary(text) == (
        "creating Lambda Function (iot-processor-pr8): operation error Lambda: CreateFunction"
    )
    assert "  with aws_lambda_function.processor\n" in text
    assert "InvalidParameterValueException: The role defined" in text


def test_github_mode_prints_the_stacks_block_and_annotations():
    rec = Recorder()
    progress = rec.progress(github=True)
    warning = diagnostic(
        "warning",
        "Argument is deprecated",
        "Use the aws_s3_bucket_versioning resource instead.\r\n100% compatible, says: the provider",
        2.7,
    )
    rec.feed(progress, [*ERRORED, (2.7, warning), (2.7, warning)])  # the same warning twice: one annotation
    progress.finish(1)
    assert len(rec.lines) == 3  # the live lines stay outside the group
    [block] = rec.blocks
    assert block[0] == "::group::apply iot_pipeline (3/3 resources, exit 1)"
    assert block[1] == "Terraform 1.11.4"
    assert "aws_lambda_function.processor: Creation errored after 1s" in block
    end = block.index("::endgroup::")
    assert block[end + 1 :] == [
        "::error title=apply iot_pipeline::aws_lambda_function.processor: creating Lambda Function "
        "(iot-processor-pr8): operation error Lambda: CreateFunction%0A%0AInvalidParameterValueException: "
        "The role defined for the function cannot be assumed by Lambda.",
        "::warning title=apply iot_pipeline::Argument is deprecated%0A%0AUse the aws_s3_bucket_versioning "
        "resource instead.%0D%0A100%25 compatible, says: the provider",
    ]
    assert all(not ln.startswith("::") for ln in block[1:end])


def test_github_mode_annotates_an_errored_resource_no_diagnostic_names():
    rec = Recorder()
    progress = rec.progress("destroy", "data_pipeline", github=True)
    rec.feed(
        progress,
        [
            (0.0, planned(QUEUE, "delete")),
            (0.1, start(QUEUE, "delete", 0.1)),
            (30.0, errored(QUEUE, "delete", 30.0, 29)),
            (30.1, diagnostic("error", "waiting for SQS Queue deletion", "timeout while waiting", 30.1)),
        ],
    )
    progress.finish(1)
    [block] = rec.blocks
    assert block[0] == "::group::destroy data_pipeline (1/1 resources, exit 1)"
    assert block[-2:] == [
        "::error title=destroy data_pipeline::waiting for SQS Queue deletion%0A%0Atimeout while waiting",
        "::error title=destroy data_pipeline::aws_sqs_queue.ingest: the change failed",
    ]


def test_workflow_command_escaping():
    assert ui.escape_data("50% done\r\nnext: a, b") == "50%25 done%0D%0Anext: a, b"
    assert ui.escape_property("apply x: a, b%\n") == "apply x%3A a%2C b%25%0A"
    assert ui.workflow_command("endgroup") == "::endgroup::"
    assert (
        ui.workflow_command("error", "a\nb", title="apply s: 1, 2")
        == "::error title=apply s%3A 1%2C 2::a%0Ab"
    )


def test_github_mode_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert Progress("apply", "s").github is True
    monkeypatch.setenv("GITHUB_ACTIONS", "false")
    assert Progress("apply", "s").github is False
    monkeypatch.delenv("GITHUB_ACTIONS")
    assert ui.github_actions() is False


def test_lines_that_are_not_json_pass_through():
    rec = Recorder()
    progress = rec.progress()
    assert progress.feed("panic: runtime error\n") == "panic: runtime error\n"
    assert progress.feed('{"no": "type"}') == '{"no": "type"}\n'
    assert progress.feed("[1, 2]\n") == "[1, 2]\n"
    progress.finish(2)
    assert rec.lines == []  # nothing planned, nothing done: no progress line


def test_a_no_change_apply_prints_no_progress():
    rec = Recorder()
    progress = rec.progress()
    rec.feed(progress, [(0.0, version()), (0.1, summary(0, 0, 0, 0.1))])
    progress.finish(0)
    assert rec.lines == []
    assert (progress.planned, progress.done) == (0, 0)


def test_a_hook_for_an_unplanned_resource_counts_it():
    rec = Recorder()
    progress = rec.progress(interval=0.0)
    rec.feed(progress, [(0.0, planned(ROLE, "create")), (0.1, complete(QUEUE, "create", 0.1, 0))])
    assert (progress.planned, progress.done) == (2, 1)
    assert rec.lines[-1].endswith("1/2 resources (aws_sqs_queue.ingest created, 0.0s)")


@pytest.mark.parametrize(
    ("detail", "expected"),
    [
        (
            "Error message: operation error S3: PutObject, StatusCode: 412\nLock Info:\n"
            "  ID:        5d2f3c1e-8b1a-4c3e-9f00-0123456789ab\n  Path:      b/pr8/x.tfstate\n"
            "  Operation: OperationTypeApply\n  Who:       runner@ci-42\n  Version:   1.11.4\n"
            "  Created:   2026-11-23 13:00:00.1 +0000 UTC\n  Info:      \n\n\n"
            "Terraform acquires a state lock",
            {
                "ID": "5d2f3c1e-8b1a-4c3e-9f00-0123456789ab",
                "Path": "b/pr8/x.tfstate",
                "Operation": "OperationTypeApply",
                "Who": "runner@ci-42",
                "Created": "2026-11-23 13:00:00.1 +0000 UTC",
            },
        ),
    ],
)
def test_a_lock_diagnostic_renders_for_lock_info(detail, expected):
    event = json.loads(diagnostic("error", "Error acquiring the state lock", detail, 0.1))
    text = render(event)
    assert text.startswith("Error: Error acquiring the state lock\n\nError message: ")
    assert terraform.lock_info(text) == expected
    assert terraform.error_summary(text) == "Error acquiring the state lock"
