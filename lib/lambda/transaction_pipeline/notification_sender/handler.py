"""notification-sender: the workflow's Notify step."""

from __future__ import annotations

import functools
import json
import logging
from typing import Any

import boto3
import notify_rules

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)


@functools.lru_cache(maxsize=1)
def _notifier(config: notify_rules.Config) -> notify_rules.Notifier:
    return notify_rules.Notifier(config, sns=boto3.client("sns"), dynamodb=boto3.resource("dynamodb"))


def handler(event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    result = _notifier(notify_rules.Config.from_env()).run(event)
    LOG.info(json.dumps(result))
    return result
