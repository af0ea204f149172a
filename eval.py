"""Test-split metrics of a checkpoint: ``python eval.py ckpt_path=...`` (conf/eval.yaml)."""

from __future__ import annotations

import hydra

from audiogan.cli import exit_on_user_error
from audiogan.evaluate import evaluate
from audiogan.utils.config import register_resolvers

register_resolvers()


@hydra.main(version_base="1.3", config_path="conf", config_name="eval")
@exit_on_user_error
def main(cfg):
    evaluate(cfg)


if __name__ == "__main__":
    main()
