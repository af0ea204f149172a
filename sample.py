"""Draw samples from an unconditional generator: ``python sample.py ckpt_path=... n=16``."""

from __future__ import annotations

import hydra

from audiogan.cli import exit_on_user_error
from audiogan.sample import run


@hydra.main(version_base="1.3", config_path="conf", config_name="sample")
@exit_on_user_error
def main(cfg):
    run(cfg)


if __name__ == "__main__":
    main()
