"""The listening report of runs: ``python report.py runs=[<run dir>,...]`` (conf/report.yaml).

A thin wrapper of ``audiogan.cli.report_main``, installed as ``audiogan-report``.
"""

from audiogan.cli import report_main

if __name__ == "__main__":
    report_main()
