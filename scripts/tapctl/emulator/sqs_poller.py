"""SQS event source mappings in the emulator: a background poller, as the Lambda service polls queues.

:class:`SqsPoller` loops over every enabled SQS mapping of every account and region: it receives
up to ``BatchSize`` visible messages with the queue's visibility timeout, runs the function with
the SQS event (:func:`sqs_event`), deletes the messages on success (only the successful ones when
the function reports ``batchItemFailures``) and leaves them to reappear on an error or a throttle,
so that after ``maxReceiveCount`` receives SQS moves them to the dead-letter queue.
``ScalingConfig.MaximumConcurrency`` and reserved concurrency bound the batches in flight.
"""

from __future__ import annotations

import contextlib
import json
import threading
from typing import Any

from scripts.tapctl.emulator.lambda_executor import executor
from scripts.tapctl.emulator.lambda_run import Throttled

POLL_INTERVAL = 0.25


class SqsPoller:
    """Lambda's SQS poller: one loop over every enabled mapping of every account."""

    def __init__(self, interval: float = POLL_INTERVAL) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._inflight: dict[str, int] = {}
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._loop, daemon=True, name="sqs-poller")

    def start(self) -> SqsPoller:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            with contextlib.suppress(Exception):
                self.poll_once()

    def mappings(self) -> list[Any]:
        from moto.awslambda.models import lambda_backends

        found = []
        for account in list(lambda_backends.values()):
            for backend in list(account.values()):
                for esm in list(getattr(backend, "_event_source_mappings", {}).values()):
                    if esm.enabled and esm.event_source_arn.split(":")[2] == "sqs":
                        found.append(esm)
        return found

    def poll_once(self) -> int:
        """Start one batch per mapping that has room; return how many batches started."""
        started = 0
        for esm in self.mappings():
            limit = int((esm.scaling_config or {}).get("MaximumConcurrency") or 1000)
            with self._lock:
                if self._inflight.get(esm.uuid, 0) >= limit:
                    continue
            batch = self._receive(esm)
            if not batch:
                continue
            with self._lock:
                self._inflight[esm.uuid] = self._inflight.get(esm.uuid, 0) + 1
            threading.Thread(target=self._deliver, args=(esm, *batch), daemon=True).start()
            started += 1
        return started

    def _receive(self, esm: Any) -> tuple[Any, list[Any], str] | None:
        from moto.sqs.models import sqs_backends

        parts = esm.event_source_arn.split(":")
        backend = sqs_backends[parts[4]][parts[3]]
        try:
            queue = backend.get_queue(parts[5])
        except Exception:
            return None
        messages = backend.receive_message(
            parts[5],
            count=int(esm.batch_size or 10),
            wait_seconds_timeout=0,
            visibility_timeout=int(queue.visibility_timeout),
            message_attribute_names=["All"],
        )
        return (backend, messages, parts[5]) if messages else None

    def _deliver(self, esm: Any, backend: Any, messages: list[Any], queue_name: str) -> None:
        from moto.awslambda.utils import get_backend

        try:
            fn = get_backend(esm.account_id, esm.region).get_function(esm.function_arn)
            event = sqs_event(messages, esm.event_source_arn)
            try:
                result = executor().run(fn, json.dumps(event).encode())
            except Throttled:
                return  # the messages become visible again after the visibility timeout
            if not result.ok:
                return
            failed: set[str] = set()
            if "ReportBatchItemFailures" in (esm.function_response_types or []):
                doc = result.document()
                items = (doc or {}).get("batchItemFailures") if isinstance(doc, dict) else None
                failed = {i.get("itemIdentifier") for i in items or [] if isinstance(i, dict)}
            for message in messages:
                if message.id not in failed:
                    with contextlib.suppress(Exception):
                        backend.delete_message(queue_name, message.receipt_handle)
        finally:
            with self._lock:
                self._inflight[esm.uuid] -= 1


def sqs_event(messages: list[Any], queue_arn: str) -> dict[str, Any]:
    region = queue_arn.split(":")[3]
    records = []
    for m in messages:
        attributes = {
            "ApproximateReceiveCount": str(m.approximate_receive_count),
            "SentTimestamp": str(m.sent_timestamp),
            "SenderId": m.sender_id,
            "ApproximateFirstReceiveTimestamp": str(m.approximate_first_receive_timestamp),
        }
        if m.group_id:
            attributes["MessageGroupId"] = m.group_id
        if m.deduplication_id:
            attributes["MessageDeduplicationId"] = m.deduplication_id
        records.append(
            {
                "messageId": m.id,
                "receiptHandle": m.receipt_handle,
                "body": m.body,
                "attributes": attributes,
                "messageAttributes": {
                    k: {
                        "stringValue": v.get("StringValue"),
                        "binaryValue": v.get("BinaryValue"),
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": v.get("DataType"),
                    }
                    for k, v in (m.message_attributes or {}).items()
                },
                "md5OfBody": m.body_md5,
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
        )
    return {"Records": records}
