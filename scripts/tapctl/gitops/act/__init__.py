"""The workflow files run locally: act on the host, stand-ins for third-party actions,
a fake GitHub API, the embedded AWS (``scripts/tap simulate``)."""
