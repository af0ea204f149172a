"""The one way this package opens a file written by ``torch.save`` (checkpoints, caches, released weights):
as plain data, never running code from it.

``torch.load(weights_only=True)`` unpickles tensors, containers and numbers only; a pickle that names any
other global (a crafted file calling ``os.system`` on load) is refused before anything of it runs. Here that
refusal becomes one line naming the file and the global (:class:`audiogan.errors.UnsafeFileError`).
"""

from __future__ import annotations

import os
import pickle
import re
import zipfile
from typing import Any

import torch

from audiogan.errors import UnsafeFileError


def load_tensor_file(
    path: str | os.PathLike, map_location: str | torch.device = "cpu", mmap: bool = False
) -> Any:
    """The contents of a ``torch.save`` file, loaded with ``weights_only=True`` (``mmap``: tensors are read
    when used; files in torch's format before 1.6, as many released weights are, are read whole). A file that
    needs more than plain data raises :class:`UnsafeFileError`; a damaged file raises what ``torch.load``
    raises (the caller names the damage)."""
    mmap = mmap and zipfile.is_zipfile(path)
    try:
        return torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as err:
        named = re.search(r"GLOBAL (\S+)", str(err))
        if named is None:
            raise
        raise UnsafeFileError(
            f"{path} asks to load {named[1]} when opened, which could run code: refused, nothing of it ran "
            "(a checkpoint or weights file holds tensors and plain data only)"
        ) from None
