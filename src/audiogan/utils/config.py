"""Config plumbing: plain dicts from OmegaConf nodes and the model/data start-up check."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from omegaconf import DictConfig, OmegaConf

from audiogan.errors import ConfigError


def to_dict(node: Any) -> dict:
    """A resolved plain dict from a DictConfig, dict or None (None gives {})."""
    if node is None:
        return {}
    if isinstance(node, DictConfig):
        return OmegaConf.to_container(node, resolve=True)
    return dict(node)


def check_model_data(
    model: Mapping[str, Any], data: Mapping[str, Any], model_name: str, data_name: str
) -> None:
    """Fail at once when the data config cannot feed the model, saying what the model needs."""
    needs = model.get("data_kind")
    provides = list(data.get("provides", []))
    if needs not in provides:
        raise ConfigError(
            f"model={model_name} needs data of kind {needs!r}, but data={data_name} provides {provides}; "
            f"choose a data config whose 'provides' lists {needs!r}"
        )
