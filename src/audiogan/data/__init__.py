"""Corpora readers, per-family datasets and the LightningDataModule that composes them."""
