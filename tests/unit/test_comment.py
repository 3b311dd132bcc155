"""The PR comment renderer: zero-change, destroy-heavy, huge and errored plans."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scripts.tapctl.gitops import comment_inputs
from scripts.tapctl.gitops.comment import (
    COMMENT_LIMIT,
    JobResult,
    PlanReport,
    marker,
    render,
)
from scripts.tapctl.gitops.comment_inputs import load_report
from scripts.tapctl.gitops.comment_text import trim
from scripts.tapctl.stages.plans import PlanSummary, summarize


def plan_json(changes: list[tuple[str, list[str]]]) -> dict:
    return {
        "resource_changes": [{"address": addr, "change": {"actions": actions}} for addr, actions in changes]
    }


def report(summaries: dict[str, PlanSummary], texts: dict[str, str] | None = None, **kw) -> PlanReport:
    return PlanReport(
        env=kw.pop("env", "dev"),
        suffix=kw.pop("suffix", "dev"),
        summaries=summaries,
        texts=texts or {},
        commit="0123456789abcdef0123",
        run_url="https://github.com/acme/tap/actions/runs/42",
        **kw,
    )


def big_plan_text(n_chars: int) -> str:
    block = (
        '  # aws_s3_object.obj[{i}] will be created\n  + resource "aws_s3_object" "obj" {{\n'
        '      + key = "k{i}"\n    }}\n\n'
    )
    parts, size, i = ["Terraform will perform the following actions:\n\n"], 0, 0
    while size < n_chars:
        piece = block.format(i=i)
        parts.append(piece)
        size += len(piece)
        i += 1
    parts.append(f"Plan: {i} to add, 0 to change, 0 to destroy.\n")
    return "".join(parts)


def test_zero_change_plan_says_so_in_one_line():
    text = render(
        report({"file_processing": PlanSummary("file_processing"), "platform": PlanSummary("platform")})
    )
    lines = text.strip().splitlines()
    assert lines[0] == "<!-- tap-plan:dev -->"
    assert lines[1] == "### Terraform plan · `dev`"
    assert "commit `0123456789ab`" in lines[2]
    assert "[workflow run](https://github.com/acme/tap/actions/runs/42)" in lines[2]
    body = [ln for ln in lines[3:] if ln.strip()]
    assert body == ["✅ **No changes.** All 2 stacks match the configuration."]
    assert "|" not in text
    assert "<details>" not in text


def test_destroy_heavy_plan_calls_out_destructive_changes_first():
    data = plan_json(
        [(f"aws_s3_bucket.old[{i}]", ["delete"]) for i in range(40)]
        + [("aws_db_instance.main", ["delete", "create"]), ("aws_iam_role.app", ["create", "delete"])]
        + [("aws_sqs_queue.new", ["create"]), ("aws_sns_topic.t", ["update"])]
    )
    text = render(
        report(
            {
                "aaa": summarize("aaa", plan_json([("aws_s3_bucket.x", ["create"])])),
                "data": summarize("data", data),
                "zzz": PlanSummary("zzz"),
            },
            texts={
                "data": "# aws_db_instance.main must be replaced\nPlan: 1 to add, 1 to change, 42 to destroy."
            },
        )
    )
    assert "> ⚠️ **Destructive changes:** 40 to destroy, 2 to replace in `data`." in text
    rows = [ln for ln in text.splitlines() if ln.startswith("| ") and "`" in ln]
    assert [r.split("`")[1] for r in rows] == ["data", "aaa", "zzz"], "destructive stack first"
    assert rows[0] == "| ⚠️ | `data` | 1 | 1 | **40** | **2** |"
    assert rows[1] == "| 📝 | `aaa` | 1 | 0 | 0 | 0 |"
    assert rows[2] == "| ✅ | `zzz` | 0 | 0 | 0 | 0 |"
    destructive = text.index("**Destructive changes (listed first):**")
    assert text.index("🗑️ destroy `aws_s3_bucket.old[0]` (data)") > destructive
    assert "♻️ replace `aws_db_instance.main` (data)" in text
    # Within the stack's details, deletes and replaces come before updates and creates.
    details = text[text.index("<details><summary>⚠️ <code>data</code>") :]
    assert details.index("destroy `aws_s3_bucket.old[0]`") < details.index("replace `aws_db_instance.main`")
    assert details.index("replace `aws_iam_role.app`") < details.index("update `aws_sns_topic.t`")
    assert details.index("update `aws_sns_topic.t`") < details.index("create `aws_sqs_queue.new`")
    assert "<code>zzz</code>" not in text, "unchanged stacks get no details"


def test_a_300000_character_plan_stays_under_the_limit_and_keeps_the_summary():
    huge = big_plan_text(300_000)
    assert len(huge) >= 300_000
    summary = summarize("big", plan_json([(f"aws_s3_object.obj[{i}]", ["create"]) for i in range(3000)]))
    summaries = {"big": summary, "small": summarize("small", plan_json([("aws_sqs_queue.q", ["create"])]))}
    text = render(
        report(summaries, texts={"big": huge, "small": "Plan: 1 to add, 0 to change, 0 to destroy."})
    )
    assert len(text) < COMMENT_LIMIT
    assert len(text) > COMMENT_LIMIT - 5_000, "the budget is used, not wasted"
    assert text.startswith(marker("dev"))
    assert "| 📝 | `big` | 3000 | 0 | 0 | 0 |" in text
    assert "| 📝 | `small` | 1 | 0 | 0 | 0 |" in text
    assert "characters trimmed (full plan in the run's artifacts)" in text
    assert huge.rstrip().splitlines()[-1] in text, "the tail (Terraform's Plan: line) is kept"
    assert huge.splitlines()[0] in text, "the head is kept"
    assert "Plan: 1 to add, 0 to change, 0 to destroy." in text, "a small plan is shown whole"
    assert "…and 2900 more" in text
    assert text.count("<details>") == text.count("</details>") == 2


def test_many_huge_plans_share_the_budget():
    summaries = {
        f"s{i}": summarize(f"s{i}", plan_json([(f"aws_s3_bucket.b{j}", ["create"]) for j in range(5)]))
        for i in range(6)
    }
    texts = {name: big_plan_text(120_000) for name in summaries}
    text = render(report(summaries, texts=texts))
    assert len(text) < COMMENT_LIMIT
    assert text.count("characters trimmed") == 6
    assert text.count("Plan: ") == 6


def test_errored_plan_keeps_the_error_and_fails_loudly():
    error = "terraform plan failed in api (exit 1): Error: creating S3 Bucket: BucketAlreadyExists"
    text = render(
        report(
            {
                "api": PlanSummary("api", error=error),
                "file_processing": summarize("file_processing", plan_json([("aws_s3_bucket.b", ["create"])])),
            },
            texts={"file_processing": big_plan_text(200_000)},
        )
    )
    assert len(text) < COMMENT_LIMIT
    assert "> ❌ **Plan failed** for `api`: nothing can be applied until it is fixed." in text
    assert "| ❌ | `api` | – | – | – | – |" in text
    assert "**Error in `api`:**" in text
    assert error in text
    assert text.index("`api`") < text.index("`file_processing`"), "errors first"
    assert "<details><summary>❌ <code>api</code>: plan failed</summary>" in text
    assert "No changes" not in text


def test_huge_error_text_is_clipped():
    text = render(report({"api": PlanSummary("api", error="E" * 100_000)}))
    assert len(text) < COMMENT_LIMIT
    assert "(error text trimmed)" in text


def test_marker_is_per_target_environment_and_kind():
    assert marker("dev") == "<!-- tap-plan:dev -->"
    assert marker("prod") != marker("dev")
    assert marker("dev", "drift") == "<!-- tap-drift:dev -->"
    text = render(report({"file_processing": PlanSummary("file_processing")}, env="pr", suffix="pr7"))
    assert text.startswith("<!-- tap-plan:pr -->")
    assert "environment `pr` (suffix `pr7`)" in text


def test_results_section_is_appended():
    r = report({"file_processing": PlanSummary("file_processing")})
    r.results_title = "Ephemeral environment `pr7`"
    r.results = [
        JobResult("deploy", "success"),
        JobResult("integration tests", "failure", "3 passed, 1 failed"),
    ]
    text = render(r)
    assert "#### Ephemeral environment `pr7`" in text
    assert "| deploy | ✅ success |  |" in text
    assert "| integration tests | ❌ failure | 3 passed, 1 failed |" in text
    assert text.index("No changes") < text.index("#### Ephemeral")


def test_plan_text_with_backticks_cannot_break_the_fence():
    summary = summarize("s", plan_json([("aws_ssm_parameter.p", ["create"])]))
    text = render(report({"s": summary}, texts={"s": 'value = "```\\n# injected"'}))
    assert "````text" in text


def test_trim_keeps_head_and_tail():
    text = "\n".join(f"line {i}" for i in range(10_000))
    out = trim(text, 2_000)
    assert len(out) <= 2_000
    assert out.startswith("line 0\n")
    assert out.rstrip().endswith("line 9999")
    assert "characters trimmed" in out
    assert trim("short", 100) == "short"


def test_load_report_reads_what_plan_saved(tmp_path: Path):
    stack_dir = tmp_path / "stacks" / "file_processing"
    stack_dir.mkdir(parents=True)
    summary = summarize("file_processing", plan_json([("aws_s3_bucket.b", ["create"])]))
    (stack_dir / "plan-summary.json").write_text(json.dumps({"file_processing": summary.to_dict()}))
    (stack_dir / "plan.txt").write_text("Plan: 1 to add, 0 to change, 0 to destroy.")
    loaded = load_report(tmp_path, PlanReport("dev", "dev", {}, commit="abc"))
    assert (loaded.env, loaded.commit) == ("dev", "abc")
    assert loaded.summaries["file_processing"].add == 1
    assert loaded.texts == {"file_processing": "Plan: 1 to add, 0 to change, 0 to destroy."}
    with pytest.raises(FileNotFoundError, match="run `scripts/tap plan` first"):
        load_report(tmp_path / "nowhere", PlanReport("dev", "dev", {}))


def test_junit_counts(tmp_path: Path):
    xml = tmp_path / "junit.xml"
    xml.write_text(
        '<?xml version="1.0"?><testsuites><testsuite name="pytest" tests="7" failures="1" '
        'errors="1" skipped="2"/></testsuites>'
    )
    counts = comment_inputs.junit_counts(xml)
    assert counts == {"tests": 7, "failures": 1, "errors": 1, "skipped": 2, "passed": 3}
    assert comment_inputs.describe_tests(counts) == "3 passed, 2 failed, 2 skipped"
    assert comment_inputs.junit_counts(tmp_path / "missing.xml") is None
    assert comment_inputs.describe_tests(None) == "no test report"


# -- every action terraform show -json reports ---------------------------------------


def tf_rc(address: str, actions: list[str], **extra) -> dict:
    """A ``resource_changes`` entry shaped like Terraform 1.11's (``terraform_data``)."""
    change = {"actions": actions, "before": None, "after": {"input": "x"}, "after_unknown": {}}
    change.update(extra.pop("change", {}))
    rtype, name = address.removeprefix("data.").split(".")[:2]
    mode = "data" if address.startswith("data.") else "managed"
    return {
        "address": address,
        "mode": mode,
        "type": rtype,
        "name": name,
        "provider_name": "terraform.io/builtin/terraform",
        **extra,
        "change": change,
    }


def tf_plan(resources: list[dict], outputs: dict | None = None) -> dict:
    return {
        "format_version": "1.2",
        "terraform_version": "1.11.4",
        "resource_changes": resources,
        "output_changes": {
            name: {"actions": [action], "before": None, "after": "v", "after_unknown": False}
            for name, action in (outputs or {}).items()
        },
        "applyable": True,
        "complete": True,
        "errored": False,
    }


MIXED = tf_plan(
    [
        tf_rc("terraform_data.cbd", ["create", "delete"], action_reason="replace_because_cannot_update"),
        tf_rc("terraform_data.gone", ["forget"], action_reason="delete_because_no_resource_config"),
        tf_rc("terraform_data.keep", ["delete", "create"], action_reason="replace_because_tainted"),
        tf_rc("terraform_data.new", ["create"]),
        tf_rc("terraform_data.renamed", ["no-op"], previous_address="terraform_data.old"),
        tf_rc("terraform_data.upd", ["update"]),
        tf_rc("terraform_data.imported", ["no-op"], change={"importing": {"id": "abc-123"}}),
        tf_rc("terraform_data.adopted", ["update"], change={"importing": {"id": "i-9"}}),
        tf_rc("data.terraform_remote_state.rs", ["read"], action_reason="read_because_dependency_pending"),
        tf_rc("terraform_data.same", ["no-op"]),
    ],
    {"api_url": "update", "old_url": "delete", "no_change": "no-op"},
)


def test_mixed_plan_renders_every_action():
    summary = summarize("platform", json.dumps(MIXED))
    text = render(report({"platform": summary}))
    assert "No changes" not in text
    assert "> ⚠️ **Destructive changes:** 0 to destroy, 2 to replace in `platform`." in text
    assert (
        "> ✂️ **Removed from the state, not destroyed:** 1 in `platform`. "
        "Terraform stops managing them; the real resources are kept."
    ) in text
    assert "| | stack | add | change | destroy | replace | also |" in text
    assert "| ⚠️ | `platform` | 1 | 2 | 0 | **2** | read 1, import 2, moved 1, forget 1, outputs 2 |" in text
    destructive = text[text.index("**Destructive changes (listed first):**") :]
    assert "- ♻️ replace `terraform_data.keep` (platform) — destroy, then create; tainted" in destructive
    assert (
        "- ♻️ replace `terraform_data.cbd` (platform) — create before destroy; cannot be updated in place"
    ) in destructive
    forgotten = text[text.index("**Removed from the state only (the real resources are kept):**") :]
    assert (
        "- ✂️ forget `terraform_data.gone` (platform) — removed from the state only, the real resource is kept"
    ) in forgotten
    details = text[text.index("<details><summary>") :]
    assert (
        "<details><summary>⚠️ <code>platform</code>: +1 ~2 -0 ±2, read 1, import 2, moved 1, forget 1, "
        "outputs 2</summary>"
    ) in details
    expected = [
        "- ♻️ replace `terraform_data.cbd` — create before destroy; cannot be updated in place",
        "- ♻️ replace `terraform_data.keep` — destroy, then create; tainted",
        "- ✂️ forget `terraform_data.gone` — removed from the state only, the real resource is kept",
        "- ~ update `terraform_data.adopted` — imported (id `i-9`)",
        "- ~ update `terraform_data.upd`",
        "- \\+ create `terraform_data.new`",
        "- 📥 import `terraform_data.imported` — id `abc-123`",
        "- ↪️ moved `terraform_data.renamed` — from `terraform_data.old`",
        "- 📖 read `data.terraform_remote_state.rs` — during apply; a dependency has changes pending",
        "- ~ output `api_url` (update)",
        "- \\- output `old_url` (delete)",
    ]
    listed = [ln for ln in details.splitlines() if ln.startswith("- ")]
    assert listed == expected
    assert "terraform_data.same" not in text, "no-op resources are not listed"
    assert "no_change" not in text


def test_outputs_only_plan_is_not_no_changes():
    summary = summarize("api", tf_plan([tf_rc("terraform_data.same", ["no-op"])], {"url": "create"}))
    text = render(report({"api": summary, "other": PlanSummary("other")}))
    assert "No changes" not in text
    assert "| 📝 | `api` | 0 | 0 | 0 | 0 | outputs 1 |" in text
    assert "| ✅ | `other` | 0 | 0 | 0 | 0 |  |" in text
    assert "<details><summary>📝 <code>api</code>: +0 ~0 -0 ±0, outputs 1</summary>" in text
    assert "- \\+ output `url` (create)" in text


def test_import_only_and_moved_only_plans_are_changes_not_destructive():
    imported = tf_plan([tf_rc("aws_s3_bucket.b", ["no-op"], change={"importing": {"id": "bucket-b"}})])
    moved = tf_plan([tf_rc("aws_sqs_queue.q", ["no-op"], previous_address="aws_sqs_queue.old")])
    text = render(report({"a": summarize("a", imported), "m": summarize("m", moved)}))
    assert "No changes" not in text
    assert "Destructive" not in text
    assert "| 📝 | `a` | 0 | 0 | 0 | 0 | import 1 |" in text
    assert "| 📝 | `m` | 0 | 0 | 0 | 0 | moved 1 |" in text
    assert "- 📥 import `aws_s3_bucket.b` — id `bucket-b`" in text
    assert "- ↪️ moved `aws_sqs_queue.q` — from `aws_sqs_queue.old`" in text


def test_a_summary_saved_before_these_fields_still_renders(tmp_path: Path):
    old = {
        "stack": "file_processing",
        "add": 0,
        "change": 0,
        "destroy": 1,
        "replace": 0,
        "changes": [{"address": "aws_s3_bucket.b", "action": "delete"}],
        "output_changes": 1,
        "error": None,
    }
    (tmp_path / "stacks" / "file_processing").mkdir(parents=True)
    saved = tmp_path / "stacks" / "file_processing" / "plan-summary.json"
    saved.write_text(json.dumps({"file_processing": old}))
    text = render(load_report(tmp_path, PlanReport("dev", "dev", {})))
    assert "| ⚠️ | `file_processing` | 0 | 0 | **1** | 0 | outputs 1 |" in text
    assert "- 🗑️ destroy `aws_s3_bucket.b` (file_processing)" in text
    assert "- 1 output(s) change" in text


def test_unrecognized_actions_are_shown_as_destructive():
    summary = summarize("s", tf_plan([tf_rc("terraform_data.x", ["delete", "archive"])]))
    text = render(report({"s": summary}))
    assert "0 to destroy, 0 to replace, 1 with actions tap does not recognize in `s`" in text
    assert (
        "- ❔ unrecognized `terraform_data.x` (s) — actions ['delete', 'archive']: review the plan text"
        in text
    )
