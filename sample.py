"""Draw samples from an unconditional generator: ``python sample.py ckpt_path=... n=16``.

A thin wrapper of ``audiogan.cli.sample_main``, installed as ``audiogan-sample``.
"""

from audiogan.cli import sample_main

if __name__ == "__main__":
    sample_main()
