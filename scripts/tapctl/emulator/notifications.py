"""S3 and SNS notifications to Lambda in the emulator, delivered as AWS delivers them: asynchronously.

:func:`patch_s3_lambda_async` sends the S3 event AWS sends (event time, identity, sequencer, the
key URL-encoded as a form value) to the function as an ``Event`` invocation after moto's own
event-name and prefix/suffix filter match, instead of moto running it inside ``PutObject``.
:func:`patch_sns_lambda` lets moto's subscription apply its filter policy, then delivers the SNS
event (message id, attributes, topic, subscription, subject) asynchronously instead of moto's
canned, synchronous one. Both go through the installed Lambda executor.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from scripts.tapctl.emulator.lambda_executor import executor

# -- S3 -> Lambda -------------------------------------------------------------------------------


def patch_s3_lambda_async() -> None:
    from moto.s3 import notifications

    def _invoke_awslambda(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
        from moto.awslambda.utils import get_backend

        try:
            fn = get_backend(fn_arn.split(":")[4], region_name).get_function(fn_arn)
        except Exception:  # a notification to a deleted function: AWS drops it too
            return
        record = event_body["Records"][0]
        record.setdefault("eventTime", time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()))
        record.setdefault("userIdentity", {"principalId": "AWS:TAPEMULATOR"})
        record.setdefault("requestParameters", {"sourceIPAddress": "127.0.0.1"})
        obj = record["s3"]["object"]
        obj.setdefault("sequencer", f"{time.time_ns():X}")
        # S3 URL-encodes the key as a form value but keeps "/" (moto encodes it too)
        obj["key"] = quote_plus(unquote_plus(obj["key"]), safe="/")
        executor().invoke_async(fn, json.dumps(event_body).encode())

    notifications._invoke_awslambda = _invoke_awslambda


# -- SNS -> Lambda ------------------------------------------------------------------------------


_SNS_DELIVERY = threading.local()


def patch_sns_lambda() -> None:
    """moto's subscription applies the filter policy, then calls ``send_sns_message``
    synchronously with a canned event: deliver the real event, asynchronously."""
    from moto.awslambda.models import LambdaBackend
    from moto.sns.models import Subscription

    original_publish = Subscription.publish

    def publish(self: Subscription, message: str, message_id: str, *args: Any, **kwargs: Any) -> None:
        _SNS_DELIVERY.current = (
            self,
            message_id,
            kwargs.get("message_attributes") or (args[1] if len(args) > 1 else None),
        )
        try:
            return original_publish(self, message, message_id, *args, **kwargs)
        finally:
            _SNS_DELIVERY.current = None

    def send_sns_message(
        self: LambdaBackend,
        function_name: str,
        message: str,
        subject: str | None = None,
        qualifier: str | None = None,
    ) -> None:
        subscription, message_id, attributes = getattr(_SNS_DELIVERY, "current", None) or (
            None,
            str(uuid.uuid4()),
            None,
        )
        fn = self.get_function(function_name, qualifier)
        event = {
            "Records": [
                {
                    "EventVersion": "1.0",
                    "EventSubscriptionArn": subscription.arn if subscription else "",
                    "EventSource": "aws:sns",
                    "Sns": {
                        "SignatureVersion": "1",
                        "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                        "Signature": "EMULATED",
                        "SigningCertUrl": "",
                        "MessageId": message_id,
                        "Message": message,
                        "MessageAttributes": {
                            k: {
                                "Type": v.get("DataType", "String"),
                                "Value": v.get("StringValue", v.get("BinaryValue")),
                            }
                            for k, v in (attributes or {}).items()
                        },
                        "Type": "Notification",
                        "UnsubscribeUrl": "",
                        "TopicArn": subscription.topic.arn if subscription else "",
                        "Subject": subject,
                    },
                }
            ]
        }
        executor().invoke_async(fn, json.dumps(event).encode())

    Subscription.publish = publish  # type: ignore[method-assign]
    LambdaBackend.send_sns_message = send_sns_message  # type: ignore[method-assign]
