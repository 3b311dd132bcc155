"""Bounded, dependency-ordered stack execution (scripts/tapctl/stages/parallel.py)."""

from __future__ import annotations

import threading
import time

import pytest

from scripts.tapctl.core.errors import StageFailed, TapError
from scripts.tapctl.stages.parallel import raise_on_failure, run_stacks


def test_runs_in_dependency_order_and_in_parallel():
    events: list[tuple[str, str]] = []
    lock = threading.Lock()
    active = {"now": 0, "max": 0}

    def fn(stack: str) -> str:
        with lock:
            events.append(("start", stack))
            active["now"] += 1
            active["max"] = max(active["max"], active["now"])
        time.sleep(0.05)
        with lock:
            events.append(("end", stack))
            active["now"] -= 1
        return stack.upper()

    deps = {"app": ["images"], "images": []}
    results = run_stacks("apply", ["app", "images", "a", "b"], deps, fn, parallelism=2)
    assert {s: r.value for s, r in results.items()} == {"app": "APP", "images": "IMAGES", "a": "A", "b": "B"}
    assert events.index(("end", "images")) < events.index(("start", "app"))
    assert active["max"] == 2  # bounded by parallelism, and actually parallel


def test_reverse_order_for_destroy():
    order: list[str] = []
    run_stacks("destroy", ["images", "app"], {"app": ["images"]}, order.append, parallelism=4, reverse=True)
    assert order == ["app", "images"]


def test_failure_skips_dependents_but_not_independent_stacks():
    def fn(stack: str) -> str:
        if stack == "images":
            raise StageFailed("push failed")
        return "ok"

    results = run_stacks("apply", ["images", "app", "other"], {"app": ["images"]}, fn, parallelism=3)
    assert results["images"].error == "push failed"
    assert results["app"].skipped
    assert results["other"].ok
    with pytest.raises(StageFailed) as err:
        raise_on_failure("apply", results)
    assert "apply failed for 2 of 3 stack(s)" in str(err.value)
    assert "images: push failed" in str(err.value)


def test_parallelism_must_be_positive():
    with pytest.raises(TapError, match="--parallelism 0 is out of range"):
        run_stacks("plan", ["a"], {}, lambda s: s, parallelism=0)


def test_describe_is_used_for_progress(capsys):
    run_stacks("plan", ["a"], {}, lambda s: 3, parallelism=1, describe=lambda v: f"{v} changes")
    assert "plan     a                      done in" in capsys.readouterr().err


def test_any_exception_of_a_stage_is_a_one_line_failure_not_a_traceback(capsys):
    from botocore.exceptions import ClientError

    def publish(stack: str) -> str:
        if stack == "images":
            error = {"Error": {"Code": "RepositoryNotFoundException", "Message": "no repo\nsecond line"}}
            raise ClientError(error, "PutImage")
        return stack

    results = run_stacks("apply", ["images", "app", "other"], {"app": ["images"]}, publish, parallelism=2)
    assert results["images"].error == (
        "ClientError: An error occurred (RepositoryNotFoundException) "
        "when calling the PutImage operation: no repo"
    )
    assert results["app"].skipped
    assert results["other"].ok
    err = capsys.readouterr()
    assert "Traceback" not in err.out + err.err
    assert "apply    images                 FAILED after" in err.out + err.err


def test_a_dependency_cycle_is_refused_naming_it():
    with pytest.raises(TapError, match="dependency cycle among stacks: "):
        run_stacks("plan", ["a", "b"], {"a": ["b"], "b": ["a"]}, lambda s: s, parallelism=2)
