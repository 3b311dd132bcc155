"""Everything the GitHub workflows decide through the CLI: which environment a branch, pull
request or suffix is (``targets``), the promotion and approval rules (``promotion``), the PR
comment (``comment``, ``comment_cli``), the GitHub API (``github``), drift and its issues
(``drift``, ``drift_issues``), the ephemeral-environment janitor, sealing plans between jobs
(``seal_cli``), the per-account OIDC bootstrap (``bootstrap_oidc``), which commit a run is
about (``commits``), and the local run of the workflow files through act (``simulate`` and
the ``act`` subpackage).
"""
