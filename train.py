"""Train a GAN family: ``python train.py model=melgan data=tiny_speech`` (see conf/train.yaml)."""

import hydra

from audiogan.cli import exit_on_user_error
from audiogan.train import run
from audiogan.utils.config import register_resolvers

register_resolvers()


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
@exit_on_user_error
def main(cfg):
    return run(cfg)


if __name__ == "__main__":
    main()
