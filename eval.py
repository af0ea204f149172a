"""Test-split metrics of a checkpoint: ``python eval.py ckpt_path=...`` (conf/eval.yaml).

A thin wrapper of ``audiogan.cli.eval_main``, installed as ``audiogan-eval``.
"""

from audiogan.cli import eval_main

if __name__ == "__main__":
    eval_main()
