"""Signal processing only: file I/O, features, normalisation, augmentation. No Lightning here."""

from audiogan.audio.config import AudioConfig
from audiogan.audio.io import AudioFileError, load_audio, read_audio, save_audio

__all__ = ["AudioConfig", "AudioFileError", "load_audio", "read_audio", "save_audio"]
