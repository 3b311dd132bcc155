"""Run one function per stack in parallel, bounded, in dependency order.

Every stage that acts per stack (plan, apply, converge, outputs, destroy, drift)
goes through :func:`run_stacks`; :func:`observed` lets a caller see each stage's
results as they finish (the benchmark draws its waterfall from them).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from typing import Any, Generic, TypeVar

from scripts.tapctl.core import ui
from scripts.tapctl.core.errors import StageFailed, TapError

T = TypeVar("T")


@dataclass
class StackResult(Generic[T]):
    stack: str
    seconds: float
    value: T | None = None
    error: str | None = None
    skipped: bool = False
    started: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None and not self.skipped


#: ``(stage, results)`` callbacks :func:`observed` registered; called after every :func:`run_stacks`.
Observer = Callable[[str, Mapping[str, StackResult[Any]]], None]
_observers: list[Observer] = []
_observers_lock = threading.Lock()


def run_stacks(
    stage: str,
    stacks: Sequence[str],
    deps: Mapping[str, Sequence[str]],
    fn: Callable[[str], T],
    *,
    parallelism: int,
    reverse: bool = False,
    describe: Callable[[T], str] | None = None,
) -> dict[str, StackResult[T]]:
    """Run ``fn(stack)`` for every stack, a stack only after its dependencies
    (or, with ``reverse``, after its dependents: destroy order), at most
    ``parallelism`` at once (:class:`graphlib.TopologicalSorter` hands out what is
    ready). A failed stack's dependents are skipped; independent stacks carry on.
    Any exception of ``fn`` is that stack's failure, reported in one line."""
    if parallelism < 1:
        raise TapError(f"--parallelism {parallelism} is out of range: use 1 or more")
    order = _ordering(stacks, deps, reverse)
    sorter: TopologicalSorter[str] = TopologicalSorter(order)
    try:
        sorter.prepare()
    except CycleError as exc:
        raise TapError(f"dependency cycle among stacks: {' -> '.join(exc.args[1])}") from None
    position = {s: i for i, s in enumerate(stacks)}
    results: dict[str, StackResult[T]] = {}
    ready: list[str] = []  # handed out by the sorter, waiting for a free slot
    running: dict[Future[T], tuple[str, float]] = {}
    with ThreadPoolExecutor(max_workers=parallelism, thread_name_prefix=stage) as pool:
        while sorter.is_active():
            ready = sorted({*ready, *sorter.get_ready()}, key=position.__getitem__)
            while ready and len(running) < parallelism:
                stack = ready.pop(0)
                if any(not results[n].ok for n in order[stack]):  # all of them are done by now
                    skipped = "skipped: a dependency failed"
                    results[stack] = StackResult(stack, 0.0, skipped=True, error=skipped)
                    ui.info(f"{stage:<8} {stack:<22} skipped (a dependency failed)")
                    sorter.done(stack)
                    continue
                ui.info(f"{stage:<8} {stack:<22} started")
                running[pool.submit(fn, stack)] = (stack, time.monotonic())
            if not running:
                continue  # only skips were handed out: ask the sorter again
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for fut in done:
                stack, t0 = running.pop(fut)
                results[stack] = _collect(stage, stack, fut, t0, describe)
                sorter.done(stack)
    with _observers_lock:
        observers = list(_observers)
    for observer in observers:
        observer(stage, results)
    return results


@contextlib.contextmanager
def observed(observer: Observer) -> Iterator[None]:
    """Call ``observer(stage, results)`` after each :func:`run_stacks` inside the block."""
    with _observers_lock:
        _observers.append(observer)
    try:
        yield
    finally:
        with _observers_lock:
            _observers.remove(observer)


def _ordering(
    stacks: Sequence[str], deps: Mapping[str, Sequence[str]], reverse: bool
) -> dict[str, list[str]]:
    """stack -> the stacks that must finish before it starts."""
    order = {s: [d for d in deps.get(s, ()) if d in stacks] for s in stacks}
    if not reverse:
        return order
    flipped: dict[str, list[str]] = {s: [] for s in stacks}
    for s, ds in order.items():
        for d in ds:
            flipped[d].append(s)
    return flipped


def one_line(exc: BaseException) -> str:
    """An exception as one line: our own errors as they are, others with their type."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, StageFailed | TapError | OSError):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _collect(
    stage: str, stack: str, fut: Future[T], t0: float, describe: Callable[[T], str] | None
) -> StackResult[T]:
    seconds = time.monotonic() - t0
    try:
        value = fut.result()
    except Exception as exc:  # any stage error is that stack's failure, never a traceback
        error = one_line(exc)
        ui.info(f"{stage:<8} {stack:<22} FAILED after {seconds:.1f}s: {error}")
        return StackResult(stack, seconds, error=error, started=t0)
    extra = f" ({describe(value)})" if describe and value is not None else ""
    ui.info(f"{stage:<8} {stack:<22} done in {seconds:.1f}s{extra}")
    return StackResult(stack, seconds, value=value, started=t0)


def raise_on_failure(stage: str, results: Mapping[str, StackResult[T]]) -> None:
    failed = [r for r in results.values() if not r.ok]
    if failed:
        detail = "; ".join(f"{r.stack}: {r.error}" for r in failed)
        raise StageFailed(f"{stage} failed for {len(failed)} of {len(results)} stack(s): {detail}")
