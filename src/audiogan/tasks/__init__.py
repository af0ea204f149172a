"""LightningModules: the GAN engine (base) and one task per family."""
