"""Synthesize a throw-away stack built by a test, and return its parsed JSON."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lib.naming import Namer

NAMER = Namer("tap", "dev", "dev", "us-east-1", "111111111111")


def synth_stack(build: Callable[[Any], None], *, aspects: tuple[Any, ...] = ()) -> dict[str, Any]:
    """Run ``build(stack)`` inside a fresh app with the AWS provider; return ``cdk.tf.json``."""
    from cdktf import App, Aspects, TerraformStack
    from cdktf_cdktf_provider_aws.provider import AwsProvider

    outdir = tempfile.mkdtemp(prefix="construct-")
    app = App(outdir=outdir)
    stack = TerraformStack(app, "test")
    AwsProvider(stack, "aws", region="us-east-1")
    build(stack)
    for aspect in aspects:
        Aspects.of(stack).add(aspect)
    app.synth()
    return json.loads((Path(outdir) / "stacks" / "test" / "cdk.tf.json").read_text())
