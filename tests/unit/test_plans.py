"""Plan summaries from `terraform show -json` (scripts/tapctl/stages/plans.py).

The fixtures are shaped like Terraform 1.11's output (format_version "1.2"), as
recorded from real plans of `terraform_data` resources with `moved`, `removed`,
`import` blocks, a tainted resource and a data source depending on a change.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import pytest

from scripts.tapctl.core.errors import TapError
from scripts.tapctl.stages.plans import (
    OutputChange,
    PlanSummary,
    ResourceChange,
    action_of,
    summarize,
    table,
)

BUILTIN = "terraform.io/builtin/terraform"


def rc(address: str, *actions: str, change: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """One ``resource_changes`` entry as Terraform writes it."""
    mode = "data" if address.startswith("data.") else "managed"
    rtype, name = address.removeprefix("data.").split(".")[:2]
    before = None if actions[0] in ("create", "read") and len(actions) == 1 else {"input": "old"}
    after = None if actions in (("delete",), ("forget",)) else {"input": "new"}
    return {
        "address": address,
        "mode": mode,
        "type": rtype,
        "name": name.split("[")[0],
        "provider_name": BUILTIN,
        **extra,
        "change": {
            "actions": list(actions),
            "before": before,
            "after": after,
            "after_unknown": {"id": True} if "create" in actions else {},
            "before_sensitive": False if before is None else {},
            "after_sensitive": False if after is None else {},
            **(change or {}),
        },
    }


def output(*actions: str) -> dict[str, Any]:
    before = None if actions == ("create",) else "old"
    after = None if actions == ("delete",) else "new"
    return {
        "actions": list(actions),
        "before": before,
        "after": after,
        "after_unknown": False,
        "before_sensitive": False,
        "after_sensitive": False,
    }


def plan(resources: list[dict[str, Any]], outputs: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "format_version": "1.2",
        "terraform_version": "1.11.4",
        "planned_values": {"root_module": {}},
        "resource_changes": resources,
        "configuration": {"root_module": {}},
        "timestamp": "2026-11-27T18:50:00Z",
        "applyable": True,
        "complete": True,
        "errored": False,
        **kw,
    }
    if outputs is not None:
        data["output_changes"] = outputs
    return data


def one(resource: dict[str, Any]) -> tuple[PlanSummary, ResourceChange]:
    summary = summarize("s", plan([resource]))
    assert len(summary.changes) == 1
    assert PlanSummary.from_dict(json.loads(json.dumps(summary.to_dict()))) == summary
    return summary, summary.changes[0]


def test_create_update_delete():
    s, c = one(rc("terraform_data.a", "create"))
    assert (c.action, s.add, s.has_changes, s.destructive) == ("create", 1, True, False)
    s, c = one(rc("terraform_data.a", "update"))
    assert (c.action, s.change, s.destructive) == ("update", 1, False)
    s, c = one(rc("terraform_data.a", "delete", action_reason="delete_because_no_resource_config"))
    assert (c.action, s.destroy, s.destructive) == ("delete", 1, True)
    assert c.reason == "delete_because_no_resource_config"
    assert s.counts() == "+0 ~0 -1 ±0"


def test_replace_says_which_order():
    s, c = one(rc("terraform_data.keep", "delete", "create", action_reason="replace_because_tainted"))
    assert (c.action, c.order, c.reason) == ("replace", "destroy-before-create", "replace_because_tainted")
    assert (s.replace, s.add, s.destroy, s.destructive) == (1, 0, 0, True)
    s, c = one(rc("terraform_data.cbd", "create", "delete", action_reason="replace_because_cannot_update"))
    assert (c.action, c.order, c.reason) == (
        "replace",
        "create-before-destroy",
        "replace_because_cannot_update",
    )
    assert s.counts() == "+0 ~0 -0 ±1"


def test_create_then_forget_adds_and_forgets_but_destroys_nothing():
    s, c = one(rc("terraform_data.x", "create", "forget"))
    assert (c.action, c.order) == ("replace", "create-then-forget")
    assert (s.add, s.forget, s.replace, s.destructive, s.has_changes) == (1, 1, 0, False, True)


def test_read_during_apply():
    s, c = one(rc("data.terraform_remote_state.rs", "read", action_reason="read_because_dependency_pending"))
    assert (c.action, c.reason) == ("read", "read_because_dependency_pending")
    assert (s.read, s.has_changes, s.destructive) == (1, True, False)
    assert s.counts() == "+0 ~0 -0 ±0, read 1"


def test_no_op_is_not_a_change():
    summary = summarize("s", plan([rc("terraform_data.same", "no-op")]))
    assert summary.changes == []
    assert not summary.has_changes
    assert summary.counts() == "+0 ~0 -0 ±0"


def test_forget_removes_from_state_only():
    s, c = one(rc("terraform_data.gone", "forget", action_reason="delete_because_no_resource_config"))
    assert c.action == "forget"
    assert (s.forget, s.destroy, s.has_changes, s.destructive) == (1, 0, True, False)
    assert s.counts() == "+0 ~0 -0 ±0, forget 1"


def test_import_only():
    s, c = one(rc("terraform_data.imported", "no-op", change={"importing": {"id": "abc-123"}}))
    assert (c.action, c.importing, c.import_id) == ("no-op", True, "abc-123")
    assert (s.imports, s.add, s.has_changes, s.destructive) == (1, 0, True, False)
    assert s.counts() == "+0 ~0 -0 ±0, import 1"


def test_import_with_an_update_counts_both():
    s, c = one(rc("terraform_data.imported", "update", change={"importing": {"id": "abc-123"}}))
    assert (c.action, c.importing) == ("update", True)
    assert (s.change, s.imports) == (1, 1)


def test_import_by_identity_has_no_id():
    _, c = one(rc("aws_s3_bucket.b", "no-op", change={"importing": {"identity": {"bucket": "b"}}}))
    assert (c.importing, c.import_id) == (True, None)


def test_moved_resource():
    s, c = one(rc("terraform_data.renamed", "no-op", previous_address="terraform_data.old"))
    assert (c.action, c.previous_address) == ("no-op", "terraform_data.old")
    assert (s.moved, s.has_changes, s.destructive) == (1, True, False)
    assert s.counts() == "+0 ~0 -0 ±0, moved 1"
    s, c = one(rc("terraform_data.renamed", "update", previous_address="terraform_data.old"))
    assert (c.action, s.change, s.moved) == ("update", 1, 1)


def test_deposed_object():
    _, c = one(rc("terraform_data.cbd", "delete", deposed="3a1b2c4d"))
    assert (c.action, c.deposed) == ("delete", "3a1b2c4d")


def test_unrecognized_actions_are_kept_and_treated_as_destructive():
    s, c = one(rc("terraform_data.x", "delete", "archive"))
    assert (c.action, c.actions) == ("other", ["delete", "archive"])
    assert (s.other, s.has_changes, s.destructive) == (1, True, True)
    assert "unrecognized 1" in s.counts()


def test_outputs_only_plan_has_changes():
    data = plan(
        [rc("terraform_data.same", "no-op")],
        {"o1": output("update"), "o2": output("delete"), "o3": output("create"), "o4": output("no-op")},
    )
    summary = summarize("outs", json.dumps(data))
    assert summary.changes == []
    assert summary.has_changes, "an outputs-only plan is not 'No changes'"
    assert not summary.destructive
    assert summary.output_changes == 3
    assert summary.outputs == [
        OutputChange("o1", "update"),
        OutputChange("o2", "delete"),
        OutputChange("o3", "create"),
    ]
    assert summary.counts() == "+0 ~0 -0 ±0, outputs 3"


def test_mixed_plan_counts_order_and_round_trip():
    data = plan(
        [
            rc("terraform_data.cbd", "create"),
            rc("terraform_data.gone", "forget", action_reason="delete_because_no_resource_config"),
            rc("terraform_data.keep", "delete", "create", action_reason="replace_because_tainted"),
            rc("terraform_data.new", "create"),
            rc("terraform_data.renamed", "no-op", previous_address="terraform_data.old"),
            rc("terraform_data.upd", "update"),
            rc("terraform_data.old_one", "delete"),
            rc("terraform_data.imported", "no-op", change={"importing": {"id": "abc-123"}}),
            rc("data.terraform_remote_state.rs", "read", action_reason="read_because_dependency_pending"),
            rc("terraform_data.same", "no-op"),
        ],
        {"o1": output("update"), "o3": output("create")},
    )
    summary = summarize("platform", json.dumps(data))
    assert summary.counts() == "+2 ~1 -1 ±1, read 1, import 1, moved 1, forget 1, outputs 2"
    assert [c.action for c in summary.changes] == [
        "delete",
        "replace",
        "forget",
        "update",
        "create",
        "create",
        "no-op",
        "no-op",
        "read",
    ]
    assert summary.destructive
    assert summary.has_changes
    assert PlanSummary.from_dict(json.loads(json.dumps(summary.to_dict()))) == summary
    printed = table(
        {"platform": summary, "clean": PlanSummary("clean"), "bad": PlanSummary("bad", error="x")}
    )
    assert "read 1, import 1, moved 1, forget 1, outputs 2" in printed
    assert [ln.split()[-1] for ln in printed.splitlines()[2:]] == ["DESTRUCTIVE", "changes", "FAILED"]


def test_old_saved_summaries_still_load():
    saved = {
        "stack": "file_processing",
        "add": 1,
        "change": 0,
        "destroy": 1,
        "replace": 0,
        "changes": [
            {"address": "aws_s3_bucket.a", "action": "delete"},
            {"address": "aws_s3_bucket.b", "action": "create"},
        ],
        "output_changes": 2,
        "error": None,
    }
    summary = PlanSummary.from_dict(saved)
    assert summary.changes[0] == ResourceChange("aws_s3_bucket.a", "delete")
    assert (summary.read, summary.imports, summary.moved, summary.forget, summary.outputs) == (0, 0, 0, 0, [])
    assert summary.counts() == "+1 ~0 -1 ±0, outputs 2"
    # and a summary saved by a newer tap (an unknown key) still loads
    assert PlanSummary.from_dict({**saved, "someday": 1}) == summary


@pytest.mark.parametrize("version", ["2.0", "0.1", "x"])
def test_unknown_format_version_fails_in_one_line_naming_the_stack(version):
    with pytest.raises(TapError) as info:
        summarize(
            "file_processing", json.dumps(plan([rc("terraform_data.a", "create")], format_version=version))
        )
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("file_processing: ")
    assert f"format_version {version!r}" in message


def test_known_minor_versions_are_read():
    for version in ("1.0", "1.2", "1.9"):
        assert summarize("s", plan([rc("terraform_data.a", "create")], format_version=version)).add == 1


def test_empty_plan():
    summary = summarize("x", {"resource_changes": None})
    assert not summary.has_changes
    assert not summary.destructive


def test_action_of():
    assert action_of(["create", "delete"]) == "replace"
    assert action_of(["delete", "create"]) == "replace"
    assert action_of(["create", "forget"]) == "replace"
    assert action_of(["read"]) == "read"
    assert action_of(["forget"]) == "forget"
    assert action_of(["no-op"]) == "no-op"
    assert action_of(["delete", "delete"]) is None
    assert action_of([]) is None


# -- the real terraform binary on a local config (built-in terraform_data: no download) --

V1 = """
resource "terraform_data" "keep" { input = "a" }
resource "terraform_data" "old" { input = "m" }
resource "terraform_data" "gone" { input = "g" }
resource "terraform_data" "doomed" { input = "d" }
resource "terraform_data" "upd" { input = "u1" }
resource "terraform_data" "rep" { triggers_replace = ["r1"] }
resource "terraform_data" "cbd" {
  triggers_replace = ["c1"]
  lifecycle { create_before_destroy = true }
}
output "same" { value = "s" }
output "changed" { value = "c1" }
output "dropped" { value = "x" }
"""

V2 = """
resource "terraform_data" "keep" { input = "a" }
moved {
  from = terraform_data.old
  to   = terraform_data.renamed
}
resource "terraform_data" "renamed" { input = "m" }
removed {
  from = terraform_data.gone
  lifecycle { destroy = false }
}
resource "terraform_data" "upd" { input = "u2" }
resource "terraform_data" "rep" { triggers_replace = ["r2"] }
resource "terraform_data" "cbd" {
  triggers_replace = ["c2"]
  lifecycle { create_before_destroy = true }
}
resource "terraform_data" "new" { input = "n" }
import {
  to = terraform_data.imported
  id = "abc-123"
}
resource "terraform_data" "imported" {}
data "terraform_remote_state" "self" {
  backend    = "local"
  config     = { path = "terraform.tfstate" }
  depends_on = [terraform_data.new]
}
output "same" { value = "s" }
output "changed" { value = "c2" }
output "added" { value = "n" }
"""


def test_a_real_terraform_plan_of_every_action(tmp_path):
    """init/apply/plan/show -json with the real binary (skipped without one); offline, ~2 s."""
    binary = os.environ.get("TERRAFORM_BINARY") or shutil.which("terraform")
    if not binary:
        pytest.skip("terraform is not on PATH")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    env.update(TF_IN_AUTOMATION="1", TF_INPUT="0", CHECKPOINT_DISABLE="1")

    def tf(*args: str) -> str:
        done = subprocess.run(
            [binary, *args, "-no-color"],
            check=False,
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    (tmp_path / "main.tf").write_text(V1)
    tf("init")
    tf("apply", "-auto-approve")
    (tmp_path / "main.tf").write_text(V2)
    tf("plan", "-out=p.tfplan")
    raw = tf("show", "-json", "p.tfplan")
    assert json.loads(raw)["format_version"].startswith("1.")
    summary = summarize("local", raw)
    by_address = {c.address: c for c in summary.changes}
    assert by_address["terraform_data.doomed"].action == "delete"
    assert by_address["terraform_data.upd"].action == "update"
    assert by_address["terraform_data.new"].action == "create"
    assert (by_address["terraform_data.rep"].action, by_address["terraform_data.rep"].order) == (
        "replace",
        "destroy-before-create",
    )
    assert by_address["terraform_data.cbd"].order == "create-before-destroy"
    assert by_address["terraform_data.gone"].action == "forget"
    assert by_address["terraform_data.renamed"].previous_address == "terraform_data.old"
    assert by_address["terraform_data.imported"].import_id == "abc-123"
    read = by_address["data.terraform_remote_state.self"]
    assert (read.action, read.reason) == ("read", "read_because_dependency_pending")
    assert "terraform_data.keep" not in by_address
    assert summary.outputs == [
        OutputChange("added", "create"),
        OutputChange("changed", "update"),
        OutputChange("dropped", "delete"),
    ]
    assert summary.counts() == "+1 ~1 -1 ±2, read 1, import 1, moved 1, forget 1, outputs 3"


def test_a_new_format_is_that_stack_s_one_line_failure_in_a_plan_run():
    from scripts.tapctl.stages import parallel

    plans_json = {"api": plan([rc("terraform_data.a", "create")], format_version="2.0"), "ok": plan([])}
    results = parallel.run_stacks(
        "plan", list(plans_json), {}, lambda s: summarize(s, json.dumps(plans_json[s])), parallelism=2
    )
    assert results["ok"].error is None
    assert results["api"].error == (
        "api: `terraform show -json` wrote plan format_version '2.0'; tap reads format 1.x only "
        "(Terraform >= 1.10): update scripts/tapctl/stages/plans.py for the new format"
    )
