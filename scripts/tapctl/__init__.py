"""tapctl: the one pipeline CLI. Workflows and people run the same commands."""
