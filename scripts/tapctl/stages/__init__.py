"""The pipeline's stages, each one CLI command and a function the others compose: synth,
the state bucket (``state``: bootstrap), plan, apply, converge, outputs, integration tests,
destroy, the parallel per-stack scheduler (``parallel``), container images (``images``), plan
summaries (``plans``), state locks, the secrets scan, checkov (``scan``), sealed plans
(``seal``), tox (``check``) and the whole local sequence (``pipeline``). ``session`` is what
every Terraform stage works in: one environment instance on one cloud.
"""
