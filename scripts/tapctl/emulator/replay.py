"""Answer an SDK's retry of a call the embedded AWS already completed with the first answer.

AWS SDKs (boto3, and the Go SDK inside the Terraform provider) retry a call
whose response they did not get, with the same ``amz-sdk-invocation-id``
header. On a loaded machine the provider sometimes retries a create the
emulator had already answered with 2xx; moto then answers the retry
``409 already exists`` (seen for API Gateway stages and Lambda functions) and
the apply fails, although the resource exists exactly as requested.

This WSGI middleware remembers the successful answer to each non-read call by
its invocation id and replays it to a retry, and makes a retry that arrives
while the first attempt is still running wait for it. Reads, calls without an
invocation id and failed answers pass straight through, so nothing but a
genuine retry of the same call is affected.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
READS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_ENTRIES = 4096
MAX_BODY = 1024 * 1024
WAIT_SECONDS = 120.0


class RetryReplay:
    def __init__(self, app: WSGIApp, *, max_entries: int = MAX_ENTRIES) -> None:
        self.app = app
        self.max_entries = max_entries
        self.replayed = 0
        self._answers: OrderedDict[str, tuple[str, list[tuple[str, str]], bytes]] = OrderedDict()
        self._running: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        invocation = environ.get("HTTP_AMZ_SDK_INVOCATION_ID")
        if not invocation or environ.get("REQUEST_METHOD", "GET") in READS:
            return self.app(environ, start_response)
        with self._lock:
            running = self._running.get(invocation)
            if running is None and invocation not in self._answers:
                running = self._running[invocation] = threading.Event()
                first = True
            else:
                first = False
        if not first:
            if running is not None:
                running.wait(WAIT_SECONDS)
            with self._lock:
                answer = self._answers.get(invocation)
            if answer is not None:
                status, headers, body = answer
                with self._lock:
                    self.replayed += 1
                start_response(status, headers)
                return [body]
            return self.app(environ, start_response)  # the first attempt failed: run this one
        try:
            status, headers, body = self._call(environ)
            if status[:1] == "2" and len(body) <= MAX_BODY:
                with self._lock:
                    self._answers[invocation] = (status, headers, body)
                    while len(self._answers) > self.max_entries:
                        self._answers.popitem(last=False)
        finally:
            with self._lock:
                self._running.pop(invocation).set()
        start_response(status, headers)
        return [body]

    def _call(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        captured: dict[str, Any] = {}
        chunks: list[bytes] = []

        def start(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], Any]:
            captured["status"], captured["headers"] = status, list(headers)
            return chunks.append

        result = self.app(environ, start)
        try:
            chunks.extend(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return captured["status"], captured["headers"], b"".join(chunks)
