"""Console output: the composed config as a Rich tree, printed once by rank zero."""

from __future__ import annotations

import rich
import rich.syntax
import rich.tree
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

FIRST = ("model", "data", "audio", "trainer", "logger", "callbacks", "paths")


@rank_zero_only
def print_config_tree(cfg: DictConfig) -> None:
    """One branch per top-level key (the important groups first), each as resolved YAML."""
    tree = rich.tree.Tree("config", style="bold", guide_style="dim")
    keys = [k for k in FIRST if k in cfg] + [k for k in cfg if k not in FIRST]
    for key in keys:
        node = cfg[key]
        text = OmegaConf.to_yaml(node, resolve=True) if isinstance(node, DictConfig) else str(node)
        tree.add(f"[bold]{key}").add(rich.syntax.Syntax(text, "yaml", theme="ansi_dark"))
    rich.print(tree)
