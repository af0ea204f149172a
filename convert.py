"""Convert speech to another speaker's voice: ``python convert.py ckpt_path=... input=...``."""

from __future__ import annotations

import hydra

from audiogan.cli import exit_on_user_error
from audiogan.convert import run


@hydra.main(version_base="1.3", config_path="conf", config_name="convert")
@exit_on_user_error
def main(cfg):
    run(cfg)


if __name__ == "__main__":
    main()
