#!/usr/bin/env python3
"""CDKTF app entry point.

Reads ``ENVIRONMENT`` (default ``pr``, as the CLI) and ``ENVIRONMENT_SUFFIX`` (default:
the environment's own name; ``pr0`` for the ephemeral ``pr`` template; both
resolved by :func:`lib.config.resolve_target`) and
synthesizes one stack per system the environment lists into ``cdktf.out/`` (or
``CDKTF_OUTDIR``). CI context (``REPOSITORY``, ``COMMIT_AUTHOR``, ``PR_NUMBER``,
``COMMIT_SHA``) is recorded in ``tap-synth.json`` only: the Terraform
configuration, tags included, depends on the repository's files alone.
``--also ENV[/SUFFIX]=DIR`` (repeatable) synthesizes more targets in the same process.
``scripts/tap synth`` is the usual way to run it.
"""

from lib.app import main

if __name__ == "__main__":
    main()
