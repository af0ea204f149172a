"""Adversarial objectives, feature matching and spectral reconstruction losses."""
