"""The GitHub Actions workflows, parsed: triggers, permissions, concurrency, pins,
the fork guard, and that every ``run:`` is one CLI call with no template expansion."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from lib.config import load_all

WORKFLOWS = Path(__file__).resolve().parents[2] / ".github" / "workflows"
SETUP = WORKFLOWS.parent / "actions" / "setup" / "action.yml"
#: Workflow file -> its jobs, in the order they are written.
WORKFLOW_JOBS = {
    "pull-request.yml": (
        "context", "promotion", "lint", "unit", "synth", "plan", "comment", "deploy", "integration", "report",
    ),
    "deploy.yml": ("context", "synth", "scan", "plan", "apply", "summary"),
    "pr-closed.yml": ("context", "destroy"),
    "destroy.yml": ("validate", "destroy"),
    "drift.yml": ("environments", "drift", "report"),
    "janitor.yml": ("context", "janitor"),
}  # fmt: skip

#: /work/shared/actions-pins.md: the only SHAs allowed (tag in a trailing comment).
PINS = {
    "actions/checkout": ("d23441a48e516b6c34aea4fa41551a30e30af803", "v6.1.0"),
    "actions/setup-python": ("ece7cb06caefa5fff74198d8649806c4678c61a1", "v6.3.0"),
    "actions/upload-artifact": ("b7c566a772e6b6bfb58ed0dc250532a479d7789f", "v6.0.0"),
    "actions/download-artifact": ("37930b1c2abaa49bbe596cd826c3c89aef350131", "v7.0.0"),
    "actions/cache": ("27d5ce7f107fe9357f9df03efb73ab90386fccae", "v5.0.5"),
    "aws-actions/configure-aws-credentials": ("e6de054238d6b7531b4efff3b6587d9aade6a06c", "v6.2.3"),
    "hashicorp/setup-terraform": ("dfe3c3f87815947d99a8997f908cb6525fc44e9e", "v4.0.1"),
    "marocchino/sticky-pull-request-comment": ("5770ad5eb8f42dd2c4f34da00c94c5381e49af88", "v3.0.5"),
    "actions/github-script": ("ed597411d8f924073f98dfc5c65a23a2325f34cd", "v8.0.0"),
}
FORK_GUARD = "github.event.pull_request.head.repo.full_name == github.repository"
AWS = "aws-actions/configure-aws-credentials"


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def triggers(wf: dict[str, Any]) -> dict[str, Any]:
    return wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on` as True


def all_workflows() -> list[str]:
    return sorted(p.name for p in WORKFLOWS.glob("*.yml"))


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job.get("steps", [])


def uses(step: dict[str, Any]) -> str:
    return step.get("uses", "").split("@")[0]


def assumes_role(job: dict[str, Any]) -> dict[str, Any] | None:
    found = [s for s in steps(job) if uses(s) == AWS]
    return found[0] if found else None


def env_branches() -> set[str]:
    return {env.branch for env in load_all().values() if env.branch}


def test_the_expected_workflows_exist():
    assert all_workflows() == sorted(WORKFLOW_JOBS)


@pytest.mark.parametrize("name", sorted(WORKFLOW_JOBS))
def test_job_ids(name):
    assert tuple(load(name)["jobs"]) == WORKFLOW_JOBS[name]


# -- triggers --------------------------------------------------------------------------


def test_pull_request_triggers_on_environment_branches():
    on = triggers(load("pull-request.yml"))
    assert set(on) == {"pull_request"}, "never pull_request_target: a fork must not get secrets"
    assert on["pull_request"]["types"] == ["opened", "synchronize", "reopened", "edited"], (
        "edited: a PR retargeted to another base re-runs its promotion check and plan"
    )
    assert set(on["pull_request"]["branches"]) == env_branches()
    gate = load("pull-request.yml")["jobs"]["context"]["if"]
    assert gate == "github.event.action != 'edited' || github.event.changes.base.ref.from != ''"
    for job_id, job in load("pull-request.yml")["jobs"].items():
        assert job_id == "context" or "context" in job["needs"], f"{job_id} must follow the edit gate"


def test_pr_closed_triggers_on_close_only():
    on = triggers(load("pr-closed.yml"))
    assert on == {"pull_request": {"types": ["closed"], "branches": on["pull_request"]["branches"]}}
    assert set(on["pull_request"]["branches"]) == env_branches()


def test_deploy_triggers_on_push_to_every_environment_branch():
    on = triggers(load("deploy.yml"))
    assert set(on) == {"push"}
    assert set(on["push"]["branches"]) == env_branches() == {"dev", "staging", "main"}


def test_destroy_is_manual_with_suffix_and_confirmation():
    on = triggers(load("destroy.yml"))
    assert set(on) == {"workflow_dispatch"}
    inputs = on["workflow_dispatch"]["inputs"]
    assert set(inputs) == {"suffix", "confirm"}
    assert all(i["required"] is True and i["type"] == "string" for i in inputs.values())


@pytest.mark.parametrize("name", ["drift.yml", "janitor.yml"])
def test_scheduled_workflows(name):
    on = triggers(load(name))
    assert set(on) == {"schedule", "workflow_dispatch"}
    assert re.fullmatch(r"[0-9*/ ,-]+", on["schedule"][0]["cron"])


# -- permissions -----------------------------------------------------------------------


@pytest.mark.parametrize("name", all_workflows())
def test_top_level_permissions_are_empty(name):
    assert load(name)["permissions"] == {}


@pytest.mark.parametrize("name", all_workflows())
def test_every_job_declares_minimal_permissions(name):
    for job_id, job in load(name)["jobs"].items():
        perms = job.get("permissions")
        assert isinstance(perms, dict), f"{name}:{job_id} must declare its permissions"
        assert perms, f"{name}:{job_id} must declare at least one permission"
        assert "write-all" not in str(perms)
        assert all(v in ("read", "write") for v in perms.values())
        writes = {k for k, v in perms.items() if v == "write"}
        assert writes <= {"id-token", "pull-requests", "issues"}, f"{name}:{job_id} writes {writes}"
        if "pull-requests" in writes or "issues" in writes:
            assert "id-token" not in perms, f"{name}:{job_id}: a job that posts never holds cloud credentials"


@pytest.mark.parametrize("name", all_workflows())
def test_id_token_only_where_an_aws_role_is_assumed(name):
    for job_id, job in load(name)["jobs"].items():
        has_token = job["permissions"].get("id-token") == "write"
        assert has_token == (assumes_role(job) is not None), f"{name}:{job_id}"


@pytest.mark.parametrize("name", all_workflows())
def test_apply_roles_only_in_github_environments_plan_roles_never(name):
    """The apply role trusts `environment:<name>` only, the plan role never does."""
    for job_id, job in load(name)["jobs"].items():
        step = assumes_role(job)
        if step is None:
            continue
        role = step["with"]["role-to-assume"]
        assert role.startswith("${{ "), "the role comes from the CLI's outputs"
        assert "arn:aws" not in role
        if "apply_role" in role:
            assert "name" in job.get("environment", {}), f"{name}:{job_id} assumes an apply role"
        else:
            assert "plan_role" in role
            assert "environment" not in job, f"{name}:{job_id}: a plan job must not wait for approval"
        assert step["with"]["aws-region"].startswith("${{ ")


# -- the fork guard --------------------------------------------------------------------


def test_fork_prs_get_no_credentials_no_token_no_write():
    jobs = load("pull-request.yml")["jobs"]
    for job_id, job in jobs.items():
        privileged = any(v == "write" for v in job["permissions"].values()) or "environment" in job
        if privileged:
            assert FORK_GUARD in job.get("if", ""), f"{job_id} needs the fork guard"
    unguarded = {j for j, job in jobs.items() if FORK_GUARD not in job.get("if", "")}
    assert unguarded == {"context", "promotion", "lint", "unit", "synth"}
    assert FORK_GUARD in load("pr-closed.yml")["jobs"]["destroy"]["if"]


# -- concurrency -----------------------------------------------------------------------


def _apply_jobs() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (name, job_id, job)
        for name in all_workflows()
        for job_id, job in load(name)["jobs"].items()
        if "environment" in job
    ]


#: Concurrency groups of the jobs that change an environment. GitHub keeps ONE pending job
#: per group, so a destroy never shares a group with a deploy: a newer run's pending deploy
#: would replace (cancel) a pending destroy and orphan the environment. The state lock
#: serializes a destroy and an apply that do run at the same time.
APPLY_GROUPS = {
    ("deploy.yml", "apply"): "apply-${{ needs.context.outputs.suffix }}",
    ("destroy.yml", "destroy"): "destroy-${{ needs.validate.outputs.suffix }}",
    ("pr-closed.yml", "destroy"): "ephemeral-${{ needs.context.outputs.suffix }}-destroy",
    ("pull-request.yml", "deploy"): "ephemeral-${{ needs.context.outputs.pr_suffix }}-apply",
}


def test_apply_and_destroy_jobs_are_never_cancelled_and_never_share_a_group():
    jobs = {(n, j): job for n, j, job in _apply_jobs() if n != "janitor.yml"}
    assert set(APPLY_GROUPS) <= set(jobs)
    for key, group in APPLY_GROUPS.items():
        assert jobs[key]["concurrency"] == {"group": group, "cancel-in-progress": False}, key
    destroys = {g for (n, j), g in APPLY_GROUPS.items() if j == "destroy"}
    applies = {g for (n, j), g in APPLY_GROUPS.items() if j != "destroy"}
    assert not destroys & applies
    assert load("janitor.yml")["concurrency"] == {"group": "janitor", "cancel-in-progress": False}


def test_pr_plan_is_per_pr_and_superseded_plans_are_cancelled():
    plan = load("pull-request.yml")["jobs"]["plan"]
    assert plan["concurrency"]["cancel-in-progress"] is True
    assert "github.event.pull_request.number" in plan["concurrency"]["group"]
    for job_id, job in load("pull-request.yml")["jobs"].items():
        assert "concurrency" in job, f"{job_id} has no concurrency group"


def test_deploy_runs_one_at_a_time_per_branch():
    assert load("deploy.yml")["concurrency"] == {
        "group": "deploy-${{ github.ref_name }}",
        "cancel-in-progress": False,
    }


# -- steps -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", all_workflows())
def test_every_run_calls_the_cli_without_template_expansion(name):
    runs = 0
    for job_id, job in load(name)["jobs"].items():
        for step in steps(job):
            if "run" not in step:
                continue
            runs += 1
            script = step["run"].strip()
            assert script.startswith("scripts/tap "), f"{name}:{job_id}: {script!r}"
            assert "\n" not in script, f"{name}:{job_id}: one command per step"
            assert "${{" not in script, f"{name}:{job_id}: pass values through env:"
            assert not re.search(r"[;&|`]|\$\(", script), f"{name}:{job_id}: no shell logic"
    assert runs > 0


@pytest.mark.parametrize("name", all_workflows())
def test_no_template_expansion_in_scripts(name):
    for job in load(name)["jobs"].values():
        for step in steps(job):
            script = step.get("with", {}).get("script", "")
            assert "${{" not in script


@pytest.mark.parametrize("name", [*all_workflows(), "../actions/setup/action.yml"])
def test_actions_are_pinned_to_known_shas(name):
    text = (WORKFLOWS / name).read_text()
    refs = re.findall(r"uses:\s*([\w.-]+/[\w.-]+)@(\S+)(?:\s*#\s*(\S+))?", text)
    assert refs
    for action, sha, tag in refs:
        assert action in PINS, f"{action} is not in the pins table"
        assert (sha, tag) == PINS[action], f"{action}@{sha} # {tag}"


@pytest.mark.parametrize("name", all_workflows())
def test_checkout_never_persists_credentials_and_terraform_is_unwrapped(name):
    for job in load(name)["jobs"].values():
        for step in steps(job):
            if uses(step) == "actions/checkout":
                assert step["with"]["persist-credentials"] is False
            if uses(step) == "hashicorp/setup-terraform":
                assert step["with"]["terraform_wrapper"] is False
            if uses(step) == "actions/upload-artifact":
                assert 1 <= step["with"]["retention-days"] <= 30


def test_workflows_target_real_aws_explicitly():
    for name in all_workflows():
        for job_id, job in load(name)["jobs"].items():
            if assumes_role(job) is not None:
                assert job["env"]["TAP_CLOUD"] == "aws", f"{name}:{job_id}"


def test_one_sticky_comment_per_pr_whatever_its_base():
    """Retargeting dev -> main replaces the dev plan comment instead of leaving it beside."""
    jobs = load("pull-request.yml")["jobs"]
    headers = [
        s["with"]["header"]
        for j in ("comment", "report")
        for s in steps(jobs[j])
        if uses(s) == "marocchino/sticky-pull-request-comment"
    ]
    assert headers == ["tap-plan"] * 2


def test_nothing_is_planned_or_deployed_before_promotion_lint_and_unit_pass():
    jobs = load("pull-request.yml")["jobs"]
    assert {"promotion", "lint", "unit", "synth"} <= set(jobs["plan"]["needs"])
    assert "plan" in jobs["deploy"]["needs"]
    assert "${{ !cancelled() }}" not in str(jobs["plan"].get("if", "")), "plan must not run after a failure"


def test_pr_plans_are_speculative_and_secret_scanned_before_anything_leaves_the_job():
    plan_steps = steps(load("pull-request.yml")["jobs"]["plan"])
    runs = [s.get("run", "") for s in plan_steps]
    speculative = 'scripts/tap plan --speculative --stacks "$STACKS"'
    assert speculative in runs, "a PR plan must not take the live state lock"
    scan = next(i for i, r in enumerate(runs) if r.startswith("scripts/tap secrets-scan"))
    upload = next(i for i, s in enumerate(plan_steps) if uses(s) == "actions/upload-artifact")
    assert scan < upload
    assert "build/comment/" in runs[scan]
    report_runs = [s.get("run", "") for s in steps(load("pull-request.yml")["jobs"]["report"])]
    assert "scripts/tap secrets-scan build/comment/" in report_runs


def test_push_runs_checkov_before_anything_is_applied():
    jobs = load("deploy.yml")["jobs"]
    assert 'scripts/tap scan "$ENVIRONMENT"' in [s.get("run") for s in steps(jobs["scan"])]
    assert "scan" in jobs["apply"]["needs"]


def test_deploy_summary_only_after_a_plan_that_uploaded_its_artifact():
    assert (
        load("deploy.yml")["jobs"]["summary"]["if"] == "${{ !cancelled() && needs.plan.result == 'success' }}"
    )


def test_no_ci_context_reaches_the_synthesized_configuration():
    """Commit author, SHA or repository in tags made every resource churn between runs."""
    for name in all_workflows():
        for job_id, job in load(name)["jobs"].items():
            envs = [job.get("env", {}), *(s.get("env", {}) for s in steps(job))]
            for env in envs:
                assert not {"COMMIT_AUTHOR", "COMMIT_SHA", "REPOSITORY"} & set(env) or job_id in (
                    "promotion", "janitor", "report", "context",
                ), f"{name}:{job_id}"  # fmt: skip
                if "synth" in job_id:
                    assert not {"COMMIT_AUTHOR", "COMMIT_SHA", "REPOSITORY"} & set(env), f"{name}:{job_id}"


# -- toolchain: one cached setup ---------------------------------------------------------


LIGHT_JOBS = {
    ("pull-request.yml", "context"), ("pull-request.yml", "promotion"), ("deploy.yml", "context"),
    ("pr-closed.yml", "context"), ("destroy.yml", "validate"), ("drift.yml", "environments"),
    ("drift.yml", "report"), ("janitor.yml", "context"),
}  # fmt: skip


def test_every_job_that_runs_the_cli_uses_the_cached_setup_and_reading_jobs_stay_light():
    for name in all_workflows():
        for job_id, job in load(name)["jobs"].items():
            if not any("run" in s for s in steps(job)):
                continue
            setup = [s for s in steps(job) if s.get("uses") == "./.github/actions/setup"]
            assert len(setup) == 1, f"{name}:{job_id}"
            assert not any(
                uses(s) in ("actions/setup-python", "hashicorp/setup-terraform") for s in steps(job)
            )
            light = setup[0]["with"].get("toolchain") == "light"
            assert light == ((name, job_id) in LIGHT_JOBS), f"{name}:{job_id}"


def test_setup_caches_the_venv_pip_and_plugins_keyed_by_lock_and_python():
    action = yaml.safe_load(SETUP.read_text())
    caches = [s for s in action["runs"]["steps"] if uses(s) == "actions/cache"]
    full = next(c for c in caches if c["if"] == "inputs.toolchain == 'full'")
    assert {"~/.cache/tap/venv", "~/.cache/tap/terraform-plugins", "~/.cache/pip"} <= set(
        full["with"]["path"].split()
    )
    assert "hashFiles('requirements.lock'" in full["with"]["key"]
    assert "py${{ inputs.python-version }}" in full["with"]["key"]
    light = next(c for c in caches if c["if"] == "inputs.toolchain == 'light'")
    assert "hashFiles('requirements-light.lock')" in light["with"]["key"]
    tf = next(s for s in action["runs"]["steps"] if uses(s) == "hashicorp/setup-terraform")
    assert tf["with"]["terraform_wrapper"] is False


def test_dependabot_updates_actions_and_pip():
    config = yaml.safe_load((WORKFLOWS.parent / "dependabot.yml").read_text())
    ecosystems = {u["package-ecosystem"]: u for u in config["updates"]}
    assert set(ecosystems) == {"github-actions", "pip"}
    assert set(ecosystems["github-actions"]["directories"]) == {"/", "/.github/actions/setup"}


def test_deploy_applies_the_saved_plan_from_the_plan_job():
    jobs = load("deploy.yml")["jobs"]
    plan_runs = [s["run"] for s in steps(jobs["plan"]) if "run" in s]
    apply_runs = [s["run"] for s in steps(jobs["apply"]) if "run" in s]
    assert 'scripts/tap plan --stacks "$STACKS"' in plan_runs
    assert apply_runs[:2] == [
        "scripts/tap unseal build/sealed/plans.sealed",
        'scripts/tap apply --stacks "$STACKS"',
    ], "apply never re-plans: it applies the plans the plan job sealed"
    downloads = [s["with"]["name"] for s in steps(jobs["apply"]) if uses(s) == "actions/download-artifact"]
    assert downloads == ["plan"]


def test_saved_plans_leave_the_plan_job_only_sealed():
    """tfplan and plan.json hold the prior state in clear (an API key, a password)."""
    jobs = load("deploy.yml")["jobs"]
    plan_steps = steps(jobs["plan"])
    seal = next(s for s in plan_steps if s.get("run", "").startswith("scripts/tap seal"))
    assert seal["run"] == "scripts/tap seal --out build/sealed/plans.sealed"
    assert seal["env"] == {"TAP_PLAN_KEY": "${{ secrets.TAP_PLAN_KEY }}"}
    upload = next(s for s in plan_steps if uses(s) == "actions/upload-artifact")
    assert plan_steps.index(seal) < plan_steps.index(upload)
    uploaded = upload["with"]["path"].split()
    assert "build/sealed/" in uploaded
    assert not any(p.rstrip("/") in ("build", "build/cdktf.out") or "tfplan" in p for p in uploaded)
    assert not any(p.endswith("plan.json") or p.endswith("stacks/") for p in uploaded)
    unseal = next(s for s in steps(jobs["apply"]) if s.get("run", "").startswith("scripts/tap unseal"))
    assert unseal["env"] == {"TAP_PLAN_KEY": "${{ secrets.TAP_PLAN_KEY }}"}
    for name in all_workflows():
        for job in load(name)["jobs"].values():
            for step in steps(job):
                if uses(step) == "actions/upload-artifact":
                    assert "tfplan" not in step["with"]["path"], name
                    assert not step["with"]["path"].strip().endswith("cdktf.out/"), name


def test_drift_issues_are_posted_by_the_cli_not_by_inline_javascript():
    report = load("drift.yml")["jobs"]["report"]
    assert not any(uses(s) == "actions/github-script" for s in steps(report))
    runs = [s["run"] for s in steps(report) if "run" in s]
    assert runs == ['scripts/tap drift-issues --dir build/drift --repository "$REPOSITORY"']
    assert report["permissions"] == {"contents": "read", "issues": "write"}


def _step(job: dict, run_prefix: str) -> dict:
    return next(s for s in steps(job) if s.get("run", "").startswith(run_prefix))


@pytest.mark.parametrize(
    ("workflow", "job", "changed_run"),
    [
        ("pull-request.yml", "plan", "scripts/tap changed"),
        ("pull-request.yml", "deploy", 'scripts/tap changed --scope "$SCOPE"'),
        ("deploy.yml", "plan", "scripts/tap changed"),
    ],
)
def test_plans_and_applies_act_only_on_the_changed_stacks(workflow, job, changed_run):
    """Every plan (and the ephemeral apply) takes --stacks from `scripts/tap changed` in
    the same job, and is skipped when it found no changed stack."""
    spec = load(workflow)["jobs"][job]
    changed = _step(spec, "scripts/tap changed")
    assert changed["run"] == changed_run
    for prefix in ("scripts/tap plan", "scripts/tap apply"):
        matching = [s for s in steps(spec) if s.get("run", "").startswith(prefix)]
        for step in matching:
            assert step["if"] == f"steps.{changed['id']}.outputs.any == 'true'"
            assert step["env"]["STACKS"] == f"${{{{ steps.{changed['id']}.outputs.stacks }}}}"
            assert '--stacks "$STACKS"' in step["run"]


def test_the_push_apply_and_the_pr_deploy_skip_when_no_stack_changed():
    deploy = load("deploy.yml")["jobs"]
    assert deploy["plan"]["outputs"]["any"] == "${{ steps.changed.outputs.any }}"
    assert deploy["apply"]["if"] == "needs.plan.outputs.any == 'true'"
    apply_step = _step(deploy["apply"], "scripts/tap apply")
    assert apply_step["env"]["STACKS"] == "${{ needs.plan.outputs.stacks }}"
    pr = load("pull-request.yml")["jobs"]
    assert pr["deploy"]["if"].endswith("&& needs.plan.outputs.any == 'true'")
    assert "deploy" in pr["integration"]["needs"]
    scope = _step(pr["deploy"], "scripts/tap changed")
    assert scope["env"]["SCOPE"] == "${{ needs.plan.outputs.stacks }}"


def test_drift_and_destroy_always_act_on_every_stack():
    for workflow in ("drift.yml", "destroy.yml", "pr-closed.yml"):
        text = (WORKFLOWS / workflow).read_text()
        assert "--stacks" not in text, workflow
        assert "scripts/tap changed" not in text, workflow
