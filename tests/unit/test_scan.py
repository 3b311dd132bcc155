"""The checkov gate: every skip has a reason; failures and the SARIF path are reported."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
import yaml

from scripts.tapctl.core.errors import StageFailed, TapError
from scripts.tapctl.stages import scan

CONFIG = Path(__file__).resolve().parents[2] / ".checkov.yaml"


def test_every_skipped_check_has_a_written_reason():
    lines = CONFIG.read_text(encoding="utf-8").splitlines()
    skips = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))["skip-check"]
    assert skips, "the config lists its skips"
    for check in skips:
        (index,) = [i for i, ln in enumerate(lines) if ln.strip() == f"- {check}"]
        # walk up over sibling skips that share one explained group
        j = index - 1
        while lines[j].strip().startswith("- CKV"):
            j -= 1
        comment = []
        while lines[j].strip().startswith("#"):
            comment.insert(0, lines[j].strip("# "))
            j -= 1
        text = " ".join(comment)
        assert check in text, f"{check}: the comment above it must name it"
        assert len(re.sub(r"CKV2?_AWS_\d+[:/ ]*", "", text)) >= 40, f"{check}: reason too short: {text!r}"


def test_unknown_environment_is_refused_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setenv("TAP_WORKDIR", str(tmp_path))
    with pytest.raises(
        TapError, match="unknown environment\\(s\\) qa; known environments: dev, pr, prod, staging"
    ):
        scan.scan(["qa"])
    assert not (tmp_path / "scan").exists()


def _fake_checkov(tmp_path: Path, code: int) -> Path:
    script = tmp_path / "checkov"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" > {tmp_path}/args\n'
        'for a in "$@"; do case "$a" in console,*) echo "{}" > "${a#console,}";; esac; done\n'
        f"exit {code}\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_run_checkov_passes_config_files_and_sarif_path(tmp_path):
    stack = tmp_path / "synth" / "dev" / "stacks" / "a" / "cdk.tf.json"
    stack.parent.mkdir(parents=True)
    stack.write_text("{}")
    sarif = scan.run_checkov(_fake_checkov(tmp_path, 0), [stack], tmp_path)
    assert sarif == tmp_path / "results.sarif"
    assert sarif.read_text().strip() == "{}"
    args = (tmp_path / "args").read_text().split()
    assert args[args.index("--config-file") + 1] == str(scan.CONFIG)
    assert args[args.index("-f") + 1] == str(stack)
    assert args[args.index("--framework") + 1] == "terraform_json"


def test_run_checkov_failure_names_the_sarif_and_the_config(tmp_path):
    stack = tmp_path / "cdk.tf.json"
    stack.write_text("{}")
    with pytest.raises(StageFailed) as err:
        scan.run_checkov(_fake_checkov(tmp_path, 1), [stack], tmp_path)
    assert str(tmp_path / "results.sarif") in str(err.value)
    assert ".checkov.yaml" in str(err.value)


def test_run_checkov_with_nothing_synthesized_fails(tmp_path):
    with pytest.raises(StageFailed, match="nothing to scan"):
        scan.run_checkov(tmp_path / "checkov", [], tmp_path)


def test_synthesized_scans_the_stacks_of_that_cdktf_out_without_a_synth(tmp_path, monkeypatch):
    """The deploy workflow's scan job: checkov over the synth artifact, every stack of it."""
    out = tmp_path / "cdktf.out"
    for name in ("b", "a"):
        (out / "stacks" / name).mkdir(parents=True)
        (out / "stacks" / name / "cdk.tf.json").write_text("{}")
    monkeypatch.setenv("TAP_WORKDIR", str(tmp_path / "tap"))
    monkeypatch.setattr(scan, "checkov_binary", lambda: _fake_checkov(tmp_path, 0))
    monkeypatch.setattr(scan, "scan", lambda envs: pytest.fail("--synthesized must not synthesize"))
    assert scan.command([], out) == 0
    args = (tmp_path / "args").read_text().split()
    scanned = [args[i + 1] for i, a in enumerate(args) if a == "-f"]
    assert scanned == [str(out / "stacks" / n / "cdk.tf.json") for n in ("a", "b")]
    assert (tmp_path / "tap" / "scan" / "results.sarif").exists()


def test_synthesized_without_stacks_names_the_directory_and_what_to_give(tmp_path, monkeypatch):
    monkeypatch.setenv("TAP_WORKDIR", str(tmp_path / "tap"))
    monkeypatch.setattr(scan, "checkov_binary", lambda: pytest.fail("refused before checkov"))
    with pytest.raises(TapError, match=r"--synthesized .*empty: no stacks/\*/cdk\.tf\.json there"):
        scan.command([], tmp_path / "empty")


def test_synthesized_and_environments_together_are_refused(tmp_path):
    with pytest.raises(TapError, match=r"give environments \(dev\) or --synthesized .*, not both"):
        scan.command(["dev"], tmp_path)
