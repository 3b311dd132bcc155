"""Change detection: fingerprints of synthesized stacks and which stacks a change touches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scripts.tapctl.core.errors import TapError
from scripts.tapctl.gitops import changes
from scripts.tapctl.gitops.changes import Changed, Changes, decide, levels_of
from scripts.tapctl.stages.fingerprint import Record, fingerprint

# the shape of this repository's graph: images before the pipeline that runs them
DEPS = {
    "platform": [],
    "iot_pipeline": [],
    "transaction_images": [],
    "transaction_pipeline": ["transaction_images"],
    "report": ["transaction_pipeline"],
}
ORDER = list(DEPS)


def records(fps: dict[str, str], commit: str = "c0ffee") -> dict[str, Record | None]:
    return {s: Record(fp, commit, "2026-11-27T00:00:00+00:00") for s, fp in fps.items()}


CURRENT = {s: f"fp-{s}" for s in ORDER}


def test_nothing_changed_when_every_record_matches():
    changed, unchanged = decide(CURRENT, records(CURRENT), DEPS, ORDER)
    assert changed == []
    assert set(unchanged) == set(ORDER)
    assert unchanged["platform"].commit == "c0ffee"


def test_one_leaf_stack_changed():
    recorded = {**CURRENT, "iot_pipeline": "old"}
    changed, unchanged = decide(CURRENT, records(recorded), DEPS, ORDER)
    assert changed == [Changed("iot_pipeline", 0, "differs from the apply of c0ffee")]
    assert "iot_pipeline" not in unchanged


def test_a_changed_dependency_changes_its_dependents_with_levels():
    recorded = {**CURRENT, "transaction_images": "old"}
    changed, _ = decide(CURRENT, records(recorded), DEPS, ORDER)
    assert [(c.stack, c.level) for c in changed] == [
        ("transaction_images", 0),
        ("transaction_pipeline", 1),
        ("report", 2),
    ]
    assert changed[1].reason == "depends on transaction_images"
    assert changed[2].reason == "depends on transaction_pipeline"


def test_a_missing_record_is_changed_never_unchanged():
    recs = records(CURRENT)
    recs["platform"] = None
    del recs["iot_pipeline"]
    changed, unchanged = decide(CURRENT, recs, DEPS, ORDER)
    assert {c.stack: c.reason for c in changed} == {
        "platform": "no record of an apply",
        "iot_pipeline": "no record of an apply",
    }
    assert "platform" not in unchanged


def test_all_forces_every_stack():
    changed, unchanged = decide(CURRENT, {}, DEPS, ORDER, force_all=True)
    assert [c.stack for c in changed if c.level == 0] == ["platform", "iot_pipeline", "transaction_images"]
    assert {c.reason for c in changed} == {"--all"}
    assert unchanged == {}


def test_scope_limits_to_the_scope_its_dependents_and_what_they_still_need():
    # a fresh ephemeral environment: nothing recorded, the PR changed transaction_pipeline
    changed, _ = decide(CURRENT, {}, DEPS, ORDER, scope=["transaction_pipeline"])
    assert [c.stack for c in changed] == ["transaction_images", "transaction_pipeline", "report"]
    # the dependency already deployed unchanged in that environment is not applied again
    recs = records({"transaction_images": CURRENT["transaction_images"]})
    changed, unchanged = decide(CURRENT, recs, DEPS, ORDER, scope=["transaction_pipeline"])
    assert [c.stack for c in changed] == ["transaction_pipeline", "report"]
    assert [(c.stack, c.level) for c in changed] == [("transaction_pipeline", 0), ("report", 1)]
    assert list(unchanged) == ["transaction_images"]


def test_an_empty_scope_changes_nothing():
    assert decide(CURRENT, {}, DEPS, ORDER, scope=[])[0] == []


def test_levels_refuse_a_cycle():
    with pytest.raises(TapError, match="dependency cycle"):
        levels_of(["a", "b"], {"a": ["b"], "b": ["a"]})


def test_changes_json_is_a_matrix_and_round_trips():
    result = Changes(
        "dev", "dev", [Changed("a", 0, "r"), Changed("b", 1, "depends on a")], records({"c": "x"})
    )
    data = result.to_dict()
    assert data["any"] is True
    assert data["stacks"] == ["a", "b"]
    assert data["levels"] == [["a"], ["b"]]
    assert data["matrix"] == {
        "include": [
            {"stack": "a", "level": 0, "reason": "r"},
            {"stack": "b", "level": 1, "reason": "depends on a"},
        ]
    }
    again = Changes.from_dict(json.loads(json.dumps(data)))
    assert again == result


def test_one_output_per_possible_level_empty_ones_included():
    result = Changes("dev", "dev", [Changed("a", 0, "r"), Changed("b", 1, "depends on a")])
    assert changes.level_outputs(result, 3) == {"level_0": '["a"]', "level_1": '["b"]', "level_2": "[]"}
    assert changes.level_outputs(Changes("dev", "dev"), 2) == {"level_0": "[]", "level_1": "[]"}
    with pytest.raises(TapError, match="2 dependency levels among at most 1 stacks"):
        changes.level_outputs(result, 1)


def test_parse_scope():
    assert changes.parse_scope(None) is None
    assert changes.parse_scope("") == []
    assert changes.parse_scope(" a, b ,") == ["a", "b"]


# -- fingerprints -------------------------------------------------------------------


def synthesized(root: Path, config: dict, assets: dict[str, bytes]) -> Path:
    stack = root / "stack"
    (stack / "assets").mkdir(parents=True, exist_ok=True)
    (stack / "cdk.tf.json").write_text(json.dumps(config))
    for rel, data in assets.items():
        path = stack / "assets" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return stack


META = {"region": "us-east-1", "depends_on": [], "images": []}


def test_fingerprint_is_stable_and_ignores_json_formatting(tmp_path):
    a = synthesized(tmp_path / "a", {"resource": {"x": 1}, "output": {}}, {"fn/h/archive.zip": b"zip"})
    b = tmp_path / "b" / "stack"
    b.mkdir(parents=True)
    (b / "cdk.tf.json").write_text('{\n  "output": {},\n  "resource": {"x": 1}\n}')
    (b / "assets" / "fn" / "h").mkdir(parents=True)
    (b / "assets" / "fn" / "h" / "archive.zip").write_bytes(b"zip")
    assert fingerprint(a, META) == fingerprint(b, META)
    assert len(fingerprint(a, META)) == 64


@pytest.mark.parametrize(
    "change",
    ["config", "asset content", "asset name", "new asset", "image tag"],
)
def test_fingerprint_sees_every_kind_of_change(tmp_path, change):
    base = synthesized(tmp_path / "base", {"resource": {"x": 1}}, {"fn/archive.zip": b"v1"})
    config, assets, meta = {"resource": {"x": 1}}, {"fn/archive.zip": b"v1"}, dict(META)
    if change == "config":
        config = {"resource": {"x": 2}}
    elif change == "asset content":
        assets = {"fn/archive.zip": b"v2"}
    elif change == "asset name":
        assets = {"fn/other.zip": b"v1"}
    elif change == "new asset":
        assets = {**assets, "layer/archive.zip": b""}
    else:
        meta = {**META, "images": [{"tag": "src-new"}]}
    other = synthesized(tmp_path / "other", config, assets)
    assert fingerprint(base, META) != fingerprint(other, meta)


def test_the_real_synth_output_fingerprints_each_stack_differently(tmp_path):
    """Two synths of the same tree give the same fingerprints (nothing of the run enters them)."""
    from lib.app import CiMetadata, synth
    from lib.config import resolve_target

    target = resolve_target("pr", "pr3")
    one = synth(target, CiMetadata(commit="a" * 40, author="x"), tmp_path / "one", "iot_pipeline,platform")
    two = synth(target, CiMetadata(commit="b" * 40, author="y"), tmp_path / "two", "iot_pipeline,platform")
    meta = json.loads((one / "tap-synth.json").read_text())["stacks"]
    fps = {s: fingerprint(one / "stacks" / s, meta[s]) for s in meta}
    assert fps == {s: fingerprint(two / "stacks" / s, meta[s]) for s in meta}
    assert len(set(fps.values())) == 2


def test_a_shared_construct_change_changes_every_stack_using_it_and_no_other(tmp_path, monkeypatch):
    """What file globs miss: an edit of SystemFoundation (lib/constructs/foundation.py) is
    seen in each of the four stacks built on it; platform and transaction_images keep
    their fingerprints."""
    from lib.app import CiMetadata, synth
    from lib.config import resolve_target
    from lib.constructs import foundation

    target = resolve_target("pr", "pr3")

    def fingerprints(out: Path) -> dict[str, str]:
        synth(target, CiMetadata(), out)
        meta = json.loads((out / "tap-synth.json").read_text())["stacks"]
        return {s: fingerprint(out / "stacks" / s, meta[s]) for s in meta}

    before = fingerprints(tmp_path / "before")
    monkeypatch.setattr(foundation, "KEY_USE_ACTIONS", (*foundation.KEY_USE_ACTIONS, "kms:DescribeKey"))
    after = fingerprints(tmp_path / "after")
    moved = sorted(s for s in before if before[s] != after[s])
    assert moved == ["data_pipeline", "file_processing", "iot_pipeline", "transaction_pipeline"]


def test_stacks_selects_a_subset_of_what_was_synthesized(tmp_path, monkeypatch):
    """`plan/apply/converge --stacks`: the subset, in synth order; an unknown name is refused."""
    from lib.config import resolve_target
    from scripts.tapctl.stages.session import Session

    monkeypatch.setenv("CDKTF_OUTDIR", str(tmp_path))
    meta = {"environment": "pr", "suffix": "pr3", "stacks": {s: {"depends_on": DEPS[s]} for s in ORDER}}
    (tmp_path / "tap-synth.json").write_text(json.dumps(meta))
    session = Session(target=resolve_target("pr", "pr3"), cloud=None)  # type: ignore[arg-type]
    assert session.select(None).stacks == ORDER
    assert session.select("").stacks == ORDER
    assert session.select("report, transaction_images").stacks == ["transaction_images", "report"]
    with pytest.raises(TapError, match=r"--stacks: nope not synthesized for pr/pr3 \(synthesized: platform"):
        session.select("nope")
