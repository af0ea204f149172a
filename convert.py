"""Convert speech to another speaker's voice: ``python convert.py ckpt_path=... input=...``."""

from __future__ import annotations

import hydra

from audiogan.cli import exit_on_user_error
from audiogan.infer import run
from audiogan.tasks.voice_conversion import VoiceConversionTask


@hydra.main(version_base="1.3", config_path="conf", config_name="convert")
@exit_on_user_error
def main(cfg):
    run(cfg, command="convert", task_type=VoiceConversionTask)


if __name__ == "__main__":
    main()
