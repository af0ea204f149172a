"""audiogan: Lightning + Hydra framework for training audio GANs."""

__version__ = "0.1.0"
