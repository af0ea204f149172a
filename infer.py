"""Resynthesise audio with a trained generator: ``python infer.py ckpt_path=... input=...``.

A thin wrapper of ``audiogan.cli.infer_main``, installed as ``audiogan-infer``.
"""

from audiogan.cli import infer_main

if __name__ == "__main__":
    infer_main()
