"""What a trained model becomes for its users: modules and objects that take waveforms or mels and give audio,
with no training code (tasks build them; ``audiogan.load`` and the commands hand them out)."""
