#!/usr/bin/env python3
"""CDKTF app entry point.

Reads ``ENVIRONMENT`` (default ``dev``) and ``ENVIRONMENT_SUFFIX`` (default:
the environment's own name; required for ephemeral ``pr`` environments), plus
CI metadata for tags (``REPOSITORY``, ``COMMIT_AUTHOR``, ``PR_NUMBER``,
``COMMIT_SHA``), and synthesizes one stack per system the environment lists
into ``cdktf.out/`` (or ``CDKTF_OUTDIR``). ``scripts/tap synth`` is the usual
way to run it.
"""

from lib.app import main

if __name__ == "__main__":
    main()
