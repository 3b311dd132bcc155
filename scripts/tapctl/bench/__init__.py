"""``scripts/tap bench``: this pipeline measured against the stock cdktf-cli workflow. The
command and its options (``command``), how runs are timed and recorded (``measure``), the four
parts (``parts``), the cdktf-cli peer (``peer``), the comparison table and JSON (``report``)
and the PNG waterfall (``png``).
"""
