"""Plan summaries from `terraform show -json` (scripts/tapctl/stages/plans.py)."""

from __future__ import annotations

import json

from scripts.tapctl.stages.plans import PlanSummary, action_of, summarize


def rc(address: str, *actions: str) -> dict:
    return {"address": address, "change": {"actions": list(actions)}}


def test_counts_and_destructive_first():
    plan = {
        "resource_changes": [
            rc("aws_s3_bucket.a", "create"),
            rc("aws_sqs_queue.q", "update"),
            rc("aws_db_instance.db", "delete", "create"),
            rc("aws_iam_role.r", "delete"),
            rc("data.aws_region.r", "read"),
            rc("aws_vpc.v", "no-op"),
        ],
        "output_changes": {"A": {"actions": ["create"]}, "B": {"actions": ["no-op"]}},
    }
    summary = summarize("platform", json.dumps(plan))
    assert (summary.add, summary.change, summary.destroy, summary.replace) == (1, 1, 1, 1)
    assert summary.output_changes == 1
    assert summary.destructive
    assert summary.has_changes
    assert [c.action for c in summary.changes] == ["delete", "replace", "update", "create"]
    assert summary.counts() == "+1 ~1 -1 ±1"
    assert PlanSummary.from_dict(summary.to_dict()) == summary


def test_empty_plan():
    summary = summarize("x", {"resource_changes": None})
    assert not summary.has_changes
    assert not summary.destructive


def test_action_of():
    assert action_of(["create", "delete"]) == "replace"
    assert action_of(["read"]) is None
