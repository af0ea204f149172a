"""Train a GAN family: ``python train.py model=melgan data=tiny_speech`` (conf/train.yaml).

A thin wrapper of ``audiogan.cli.train_main``, installed as ``audiogan-train``.
"""

from audiogan.cli import train_main

if __name__ == "__main__":
    train_main()
