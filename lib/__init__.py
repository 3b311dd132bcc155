"""CDKTF infrastructure for the TAP GitOps repository."""
