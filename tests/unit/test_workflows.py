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
        "context", "promotion", "lint", "unit", "synth", "changes", "plan", "plan-summary", "comment",
        "deploy-scope", "deploy-level-0", "deploy-level-1", "deploy", "integration", "report",
    ),
    "deploy.yml": (
        "context", "synth", "scan", "changes", "plan", "plan-summary", "apply-level-0", "apply-level-1",
        "apply", "summary",
    ),
    "pr-closed.yml": ("context", "synth", "destroy-level-1", "destroy-level-0"),
    "destroy.yml": ("validate", "synth", "destroy-level-1", "destroy-level-0"),
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
    closed = load("pr-closed.yml")["jobs"]
    assert all(FORK_GUARD in job["if"] for job_id, job in closed.items() if job_id != "context")
    assert closed["context"]["if"] == FORK_GUARD


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
#: One job per stack: the group names the stack, so one stack's apply waits only for the
#: same stack's (a group shared by a matrix would keep one pending entry and cancel the rest).
STACK = "-${{ matrix.stack }}"
APPLY_GROUPS = {
    **{
        ("deploy.yml", f"apply-level-{n}"): "apply-${{ needs.context.outputs.suffix }}" + STACK
        for n in (0, 1)
    },
    **{
        ("destroy.yml", f"destroy-level-{n}"): "destroy-${{ needs.validate.outputs.suffix }}" + STACK
        for n in (0, 1)
    },
    **{
        ("pr-closed.yml", f"destroy-level-{n}"): "ephemeral-${{ needs.context.outputs.suffix }}-destroy"
        + STACK
        for n in (0, 1)
    },
    **{
        ("pull-request.yml", f"deploy-level-{n}"): "ephemeral-${{ needs.context.outputs.pr_suffix }}-apply"
        + STACK
        for n in (0, 1)
    },
}


def test_apply_and_destroy_jobs_are_never_cancelled_and_never_share_a_group():
    jobs = {(n, j): job for n, j, job in _apply_jobs() if n != "janitor.yml"}
    assert set(APPLY_GROUPS) <= set(jobs)
    for key, group in APPLY_GROUPS.items():
        assert jobs[key]["concurrency"] == {"group": group, "cancel-in-progress": False}, key
    destroys = {g for (n, j), g in APPLY_GROUPS.items() if "destroy" in j}
    applies = {g for (n, j), g in APPLY_GROUPS.items() if "destroy" not in j}
    assert not destroys & applies
    changing = {
        k
        for k, job in jobs.items()
        if any("tap apply" in s.get("run", "") or "tap destroy" in s.get("run", "") for s in steps(job))
    }
    assert changing == set(APPLY_GROUPS), "every job that applies or destroys has its group here"
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
    assert {"promotion", "lint", "unit", "synth"} <= set(jobs["changes"]["needs"])
    assert "changes" in jobs["plan"]["needs"]
    assert {"changes", "plan"} <= set(jobs["deploy-scope"]["needs"])
    for job_id in ("changes", "plan", "deploy-scope"):
        assert "cancelled()" not in str(jobs[job_id].get("if", "")), f"{job_id} must not run after a failure"


def test_pr_plans_are_speculative_and_secret_scanned_before_anything_leaves_the_job():
    jobs = load("pull-request.yml")["jobs"]
    for job_id, scanned in (
        ("plan", '"build/base/cdktf.out/stacks/$STACK/"'),
        ("plan-summary", "build/comment/"),
    ):
        job_steps = steps(jobs[job_id])
        runs = [s.get("run", "") for s in job_steps]
        scan = next(i for i, r in enumerate(runs) if r.startswith("scripts/tap secrets-scan"))
        upload = next(i for i, s in enumerate(job_steps) if uses(s) == "actions/upload-artifact")
        assert scan < upload, job_id
        assert scanned in runs[scan], job_id
    speculative = 'scripts/tap plan --speculative --stacks "$STACK"'
    assert speculative in [s.get("run", "") for s in steps(jobs["plan"])], "a PR plan must not take the lock"
    report_runs = [s.get("run", "") for s in steps(load("pull-request.yml")["jobs"]["report"])]
    assert "scripts/tap secrets-scan build/comment/" in report_runs


def test_push_runs_checkov_before_anything_is_applied():
    jobs = load("deploy.yml")["jobs"]
    assert "scripts/tap scan --synthesized build/cdktf.out" in [s.get("run") for s in steps(jobs["scan"])]
    assert "synth" in jobs["scan"]["needs"], "checkov reads the synth job's artifact: what is applied"
    for job_id in ("apply-level-0", "apply-level-1", "apply"):
        assert "scan" in jobs[job_id]["needs"], job_id
    assert "needs.scan.result == 'success'" in jobs["apply-level-1"]["if"]


def test_deploy_summary_only_after_a_plan_summary_that_uploaded_its_artifact():
    assert (
        load("deploy.yml")["jobs"]["summary"]["if"]
        == "${{ !cancelled() && needs.plan-summary.result == 'success' }}"
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


def test_deploy_applies_each_stack_s_saved_plan_from_its_plan_job():
    jobs = load("deploy.yml")["jobs"]
    plan_runs = [s["run"] for s in steps(jobs["plan"]) if "run" in s]
    assert 'scripts/tap plan --stacks "$STACK"' in plan_runs
    for job_id in ("apply-level-0", "apply-level-1"):
        apply_runs = [s["run"] for s in steps(jobs[job_id]) if "run" in s]
        assert apply_runs == [
            'scripts/tap unseal "build/sealed/$STACK.sealed" --stack "$STACK"',
            'scripts/tap apply --stacks "$STACK"',
        ], "apply never re-plans: it applies the plan its stack's plan job sealed"
        downloads = [s["with"]["name"] for s in steps(jobs[job_id]) if uses(s) == "actions/download-artifact"]
        assert downloads == ["synth", "plan-${{ matrix.stack }}"]


def test_saved_plans_leave_the_plan_job_only_sealed():
    """tfplan and plan.json hold the prior state in clear (an API key, a password)."""
    jobs = load("deploy.yml")["jobs"]
    plan_steps = steps(jobs["plan"])
    seal = next(s for s in plan_steps if s.get("run", "").startswith("scripts/tap seal"))
    assert seal["run"] == 'scripts/tap seal --stack "$STACK" --out "build/sealed/$STACK.sealed"'
    assert seal["env"] == {"TAP_PLAN_KEY": "${{ secrets.TAP_PLAN_KEY }}"}
    upload = next(s for s in plan_steps if uses(s) == "actions/upload-artifact")
    assert plan_steps.index(seal) < plan_steps.index(upload)
    assert upload["with"]["name"] == "plan-${{ matrix.stack }}"
    uploaded = upload["with"]["path"].split()
    assert "build/sealed/" in uploaded
    assert not any(p.rstrip("/") in ("build", "build/cdktf.out") or "tfplan" in p for p in uploaded)
    assert not any(p.endswith("plan.json") or p.endswith("stacks/") for p in uploaded)
    for job_id in ("apply-level-0", "apply-level-1"):
        unseal = next(s for s in steps(jobs[job_id]) if s.get("run", "").startswith("scripts/tap unseal"))
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


@pytest.mark.parametrize("workflow", ["pull-request.yml", "deploy.yml"])
def test_plans_and_applies_act_only_on_the_changed_stacks(workflow):
    """`scripts/tap changed` decides in its own job; a plan job per changed stack (its
    matrix), skipped when none changed; every plan and apply acts on its one stack."""
    jobs = load(workflow)["jobs"]
    changed = _step(jobs["changes"], "scripts/tap changed")
    assert changed["run"] == "scripts/tap changed"
    outputs = jobs["changes"]["outputs"]
    assert outputs["any"] == "${{ steps.changed.outputs.any }}"
    assert outputs["matrix"] == "${{ steps.changed.outputs.matrix }}"
    assert jobs["plan"]["if"].endswith("needs.changes.outputs.any == 'true'")
    matrix = "needs.changes.outputs.matrix"
    assert jobs["plan"]["strategy"]["matrix"] == (
        f"${{{{ fromJSON(startsWith({matrix}, '{{') && {matrix} || '{{\"include\":[]}}') }}}}"
    )
    for job_id, job in jobs.items():
        for step in steps(job):
            if step.get("run", "").startswith(("scripts/tap plan", "scripts/tap apply")):
                assert '--stacks "$STACK"' in step["run"], f"{workflow}:{job_id}"
                assert job["env"]["STACK"] == "${{ matrix.stack }}", f"{workflow}:{job_id}"


def test_the_pr_deploy_scope_comes_from_the_base_environment_s_changes():
    pr = load("pull-request.yml")["jobs"]
    scope = _step(pr["deploy-scope"], "scripts/tap changed")
    assert scope["run"] == 'scripts/tap changed --scope "$SCOPE"'
    assert scope["env"]["SCOPE"] == "${{ needs.changes.outputs.stacks }}"
    assert pr["deploy-scope"]["if"].endswith("&& needs.changes.outputs.any == 'true'")
    assert "deploy" in pr["integration"]["needs"]


def _level_jobs(workflow: str, prefix: str) -> dict[int, dict[str, Any]]:
    return {
        int(j.rsplit("-", 1)[1]): job for j, job in load(workflow)["jobs"].items() if j.startswith(prefix)
    }


LEVELS = [
    ("pull-request.yml", "deploy-level-", "deploy-scope", False),
    ("deploy.yml", "apply-level-", "changes", False),
    ("destroy.yml", "destroy-level-", "synth", True),
    ("pr-closed.yml", "destroy-level-", "synth", True),
]


@pytest.mark.parametrize(("workflow", "prefix", "source", "reverse"), LEVELS)
def test_one_job_per_dependency_level_each_after_the_one_before(workflow, prefix, source, reverse):
    """Level n's stacks all finish before level n+1 starts (destroys: the other way
    round); a level with no stack is skipped without stopping the next; a failed
    level stops the next; the stacks of a level run side by side, none cancelled by another."""
    from lib.stacks import STACKS
    from scripts.tapctl.gitops.changes import levels_of

    deps = {name: list(entry.stack_class().depends_on) for name, entry in STACKS.items()}
    depth = 1 + max(levels_of(deps, deps).values())
    levels = _level_jobs(workflow, prefix)
    assert sorted(levels) == list(range(len(levels)))
    assert len(levels) >= depth, (
        f"{workflow}: the stack graph is {depth} levels deep; add a {prefix}{depth - 1} job"
    )
    order = sorted(levels, reverse=reverse)
    for position, n in enumerate(order):
        job = levels[n]
        assert job["strategy"]["fail-fast"] is False
        level = f"needs.{source}.outputs.level_{n}"
        assert job["strategy"]["matrix"] == {
            "stack": f"${{{{ fromJSON(startsWith({level}, '[') && {level} || '[]') }}}}"
        }
        assert f"startsWith(needs.{source}.outputs.level_{n}, '[\"')" in job["if"], "runs only for a stack"
        if position:
            before = f"{prefix}{order[position - 1]}"
            assert before in job["needs"]
            assert f"needs.{before}.result != 'failure'" in job["if"]
            assert job["if"].startswith("${{ !cancelled() &&")
    outputs = load(workflow)["jobs"][source]["outputs"]
    assert {f"level_{n}" for n in levels} <= set(outputs)


def test_every_matrix_runs_at_most_the_environment_s_max_parallel():
    for name in all_workflows():
        for job_id, job in load(name)["jobs"].items():
            strategy = job.get("strategy")
            if strategy and name != "drift.yml":
                assert strategy["fail-fast"] is False, f"{name}:{job_id}"
                assert re.fullmatch(
                    r"\$\{\{ fromJSON\(needs\.(context|validate)\.outputs\.max_parallel\) \}\}",
                    strategy["max-parallel"],
                ), f"{name}:{job_id}"


def test_the_push_apply_and_the_pr_deploy_skip_when_no_stack_changed():
    deploy = load("deploy.yml")["jobs"]
    assert "needs.changes.outputs.any == 'true'" in deploy["apply"]["if"]
    pr = load("pull-request.yml")["jobs"]
    assert "needs.changes.outputs.any == 'true'" in pr["deploy-scope"]["if"]
    for job_id in ("deploy-level-0", "deploy-level-1", "deploy"):
        assert "deploy-scope" in pr[job_id]["needs"], job_id


def test_drift_and_destroy_always_act_on_every_stack():
    text = (WORKFLOWS / "drift.yml").read_text()
    assert "--stacks" not in text
    assert "scripts/tap changed" not in text
    for workflow in ("destroy.yml", "pr-closed.yml"):
        jobs = load(workflow)["jobs"]
        runs = [s["run"] for job in jobs.values() for s in steps(job) if "run" in s]
        assert [r for r in runs if r.startswith("scripts/tap changed")] == ["scripts/tap changed --all"], (
            "the levels of every stack, never what changed"
        )
        destroys = [r for r in runs if r.startswith("scripts/tap destroy ")]
        assert len(destroys) == len(_level_jobs(workflow, "destroy-level-"))
        assert all(
            r.startswith('scripts/tap destroy --stacks "$STACK" --confirm "$CONFIRM"') for r in destroys
        )
