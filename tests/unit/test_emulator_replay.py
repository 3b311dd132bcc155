"""The embedded AWS answers an SDK retry of a completed call with the first answer."""

from __future__ import annotations

import threading
import time

from scripts.tapctl.emulator.replay import RetryReplay


class CreateOnce:
    """A stand-in for moto: the first create succeeds, a second one conflicts."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls = 0
        self.delay = delay
        self.created = False

    def __call__(self, environ, start_response):
        self.calls += 1
        time.sleep(self.delay)
        if environ["REQUEST_METHOD"] == "GET" or not self.created:
            self.created = True
            start_response("201 Created", [("Content-Type", "application/json")])
            return [b'{"stageName": "v1"}']
        start_response("409 Conflict", [("Content-Type", "application/json")])
        return [b'{"message": "Stage already exists"}']


def call(app, method="POST", invocation="inv-1"):
    seen = {}

    def start(status, headers, exc_info=None):
        seen["status"] = status
        return lambda _: None

    environ = {"REQUEST_METHOD": method}
    if invocation:
        environ["HTTP_AMZ_SDK_INVOCATION_ID"] = invocation
    body = b"".join(app(environ, start))
    return seen["status"], body


def test_a_retry_of_a_completed_create_gets_the_first_answer():
    backend = CreateOnce()
    app = RetryReplay(backend)
    assert call(app) == ("201 Created", b'{"stageName": "v1"}')
    assert call(app) == ("201 Created", b'{"stageName": "v1"}'), "the retry is replayed, not re-run"
    assert backend.calls == 1
    assert app.replayed == 1


def test_a_new_call_is_not_a_retry():
    backend = CreateOnce()
    app = RetryReplay(backend)
    call(app, invocation="inv-1")
    assert call(app, invocation="inv-2")[0] == "409 Conflict", "a second create is a real conflict"
    assert call(app, invocation=None)[0] == "409 Conflict", "no invocation id: passed through"
    assert backend.calls == 3


def test_reads_and_failures_are_never_replayed():
    backend = CreateOnce()
    backend.created = True
    app = RetryReplay(backend)
    assert call(app, invocation="inv-9")[0] == "409 Conflict"
    assert call(app, invocation="inv-9")[0] == "409 Conflict", "a failed answer is not cached"
    call(app, method="GET", invocation="inv-3")
    call(app, method="GET", invocation="inv-3")
    assert backend.calls == 4
    assert app.replayed == 0


def test_a_retry_arriving_during_the_first_attempt_waits_for_it():
    backend = CreateOnce(delay=0.3)
    app = RetryReplay(backend)
    results = []
    first = threading.Thread(target=lambda: results.append(call(app)))
    first.start()
    time.sleep(0.05)
    results.append(call(app))  # the SDK gave up waiting and retried
    first.join()
    assert results == [("201 Created", b'{"stageName": "v1"}')] * 2
    assert backend.calls == 1


def test_memory_is_bounded():
    app = RetryReplay(CreateOnce(), max_entries=3)
    for i in range(10):
        app.app.created = False
        call(app, invocation=f"inv-{i}")
    assert len(app._answers) == 3
