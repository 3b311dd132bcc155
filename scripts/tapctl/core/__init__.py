"""The shared leaves every package may import, which import nothing above them: user-facing
errors (``errors``), where files live (``paths``, ``outdirs``), progress output (``ui``), the
Terraform runner (``terraform``), where Terraform and boto3 point (``cloud``), the embedded
AWS's process seen from outside: start, stop, status, credentials (``emulator_process``),
and the light toolchain's lock (``light_lock``).
"""
