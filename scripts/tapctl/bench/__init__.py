"""``scripts/tap bench``: this pipeline measured against the stock cdktf-cli workflow. The
command and its options (``command``), how runs are timed and recorded (``measure``), the four
parts (``parts``), the cdktf-cli peer (``peer``), the comparison table and JSON (``report``)
and the chart: what it shows (``chart_data``, pure), the matplotlib drawing run in its own
venv (``chart``) and that venv and the child process (``chart_tool``).
"""
