"""audiogan: Lightning + Hydra framework for training audio GANs.

``audiogan.load(checkpoint)`` returns a trained model ready to use from Python (:mod:`audiogan.api`).
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    # the API imports torch and Lightning: only when asked for, so ``import audiogan.<module>`` stays light
    if name == "load":
        from audiogan.api import load

        return load
    raise AttributeError(f"module 'audiogan' has no attribute {name!r}")
