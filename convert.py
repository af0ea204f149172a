"""Convert speech to another speaker's voice: ``python convert.py ckpt_path=... input=...``.

A thin wrapper of ``audiogan.cli.convert_main``, installed as ``audiogan-convert``.
"""

from audiogan.cli import convert_main

if __name__ == "__main__":
    convert_main()
