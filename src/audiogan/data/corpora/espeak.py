"""A minimal ctypes binding to eSpeak NG (the library and data shipped by the ``espeakng-loader`` wheel).

eSpeak keeps synthesis state in C globals that survive between utterances (pitch flutter phase,
echo buffer, gain control), so the same call gives slightly different audio depending on what was
said before, and it seeds its noise generator from the clock. To make every clip a pure function of
its arguments, each call loads a private copy of the library, seeds the noise, synthesises one
utterance and unloads the library again (a few milliseconds).
"""

from __future__ import annotations

import _ctypes
import ctypes
import shutil
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

SAMPLE_RATE = 22050  # what eSpeak NG synthesises natively

# Constants from espeak-ng's speak_lib.h.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000  # return an error instead of calling exit() when the data is missing
_BUFFER_MS = 200
_RATE, _PITCH, _RANGE = 1, 3, 4  # espeak_PARAMETER
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_EE_OK = 0

_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)
_SIGNATURES = {  # name: (restype, argtypes), from speak_lib.h
    "espeak_Initialize": (ctypes.c_int, [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]),
    "espeak_Info": (ctypes.c_char_p, [ctypes.c_void_p]),
    "espeak_SetSynthCallback": (None, [_CALLBACK]),
    "espeak_SetVoiceByName": (ctypes.c_int, [ctypes.c_char_p]),
    "espeak_SetParameter": (ctypes.c_int, [ctypes.c_int, ctypes.c_int, ctypes.c_int]),
    # espeak_Synth(text, size, position, position_type, end_position, flags, unique_identifier*, user_data)
    "espeak_Synth": (
        ctypes.c_int,
        [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ],
    ),
    "espeak_Terminate": (ctypes.c_int, []),
    "espeak_ng_SetRandSeed": (ctypes.c_int, [ctypes.c_long]),
}
_LOCK = threading.Lock()  # one loaded instance at a time: two threads would share its globals


def _default_paths() -> tuple[Path, Path]:
    try:
        import espeakng_loader
    except ImportError as err:
        raise RuntimeError("eSpeak NG is unavailable: the espeakng-loader package is not installed") from err
    return Path(espeakng_loader.get_library_path()), Path(espeakng_loader.get_data_path())


class Espeak:
    """Synthesises text to int16 mono audio at :data:`SAMPLE_RATE`; use as a context manager.

    ``library`` / ``data`` default to the files of the ``espeakng-loader`` wheel; ``version`` is the
    library's own. Raises :class:`RuntimeError` when the library cannot be loaded or initialised.
    """

    def __init__(self, library: str | Path | None = None, data: str | Path | None = None):
        if library is None or data is None:
            default_library, default_data = _default_paths()
            library = default_library if library is None else library
            data = default_data if data is None else data
        self.library, self.data = Path(library), Path(data)
        if not hasattr(_ctypes, "dlclose"):
            raise RuntimeError("the eSpeak NG binding needs dlopen/dlclose (Linux or macOS)")
        if not self.library.is_file():
            raise RuntimeError(f"eSpeak NG library not found at {self.library}")
        if not self.data.is_dir():
            raise RuntimeError(f"eSpeak NG data directory not found at {self.data}")
        # A private copy (new inode) so nobody else in this process holds it and dlclose really unloads it.
        self._tmp = tempfile.TemporaryDirectory(prefix="audiogan-espeak-")
        self._copy = Path(self._tmp.name) / self.library.name
        shutil.copyfile(self.library, self._copy)
        try:
            with _LOCK:
                lib = self._load()
                try:
                    self.version = lib.espeak_Info(None).decode()
                finally:
                    self._unload(lib)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Espeak:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._tmp.cleanup()

    def synthesize(
        self, text: str, voice: str, rate: int, pitch: int, pitch_range: int = 50, seed: int = 0
    ) -> np.ndarray:
        """Return ``text`` spoken by ``voice`` (e.g. ``"en-us+f2"``) as an int16 array.

        ``rate`` is in words per minute (80-450), ``pitch`` and ``pitch_range`` are 0-100 (50 = voice
        default); ``seed`` fixes the breath noise of voices that have it. Raises ValueError for an
        unknown voice and RuntimeError when eSpeak fails or produces no audible audio.
        """
        chunks: list[np.ndarray] = []

        def collect(wav, n, _events):
            if n > 0:
                chunks.append(np.ctypeslib.as_array(wav, (n,)).copy())
            return 0

        callback = _CALLBACK(collect)
        encoded = text.encode("utf-8") + b"\0"
        with _LOCK:
            lib = self._load()
            try:
                lib.espeak_SetSynthCallback(callback)
                if lib.espeak_SetVoiceByName(voice.encode()) != _EE_OK:
                    raise ValueError(f"eSpeak NG has no voice {voice!r} (data dir {self.data})")
                for parameter, value in ((_RATE, rate), (_PITCH, pitch), (_RANGE, pitch_range)):
                    lib.espeak_SetParameter(parameter, int(value), 0)
                lib.espeak_ng_SetRandSeed(seed)  # eSpeak seeded its noise from the clock when initialised
                status = lib.espeak_Synth(
                    encoded, len(encoded), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
                )
                if status != _EE_OK:
                    raise RuntimeError(f"eSpeak NG synthesis failed (error {status}) for {text!r}")
            finally:
                self._unload(lib)
        audio = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
        if audio.size == 0 or np.abs(audio).max() == 0:
            raise RuntimeError(f"eSpeak NG produced no audio for {text!r} with voice {voice!r}")
        return audio

    def _load(self) -> ctypes.CDLL:
        try:
            lib = ctypes.CDLL(str(self._copy))
        except OSError as err:
            raise RuntimeError(f"cannot load the eSpeak NG library {self.library}: {err}") from err
        try:
            for name, (restype, argtypes) in _SIGNATURES.items():
                getattr(lib, name).restype, getattr(lib, name).argtypes = restype, argtypes
        except AttributeError as err:
            _ctypes.dlclose(lib._handle)
            raise RuntimeError(f"{self.library} is not a usable eSpeak NG >= 1.52 library: {err}") from err
        rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, _BUFFER_MS, str(self.data).encode(), _INITIALIZE_DONT_EXIT
        )
        if rate != SAMPLE_RATE:
            self._unload(lib, terminate=False)
            raise RuntimeError(f"eSpeak NG failed to initialise with data dir {self.data} (returned {rate})")
        return lib

    def _unload(self, lib: ctypes.CDLL, terminate: bool = True) -> None:
        if terminate:
            lib.espeak_Terminate()
        _ctypes.dlclose(lib._handle)
        maps = Path("/proc/self/maps")
        if sys.platform.startswith("linux") and maps.exists() and str(self._copy) in maps.read_text():
            raise RuntimeError("eSpeak NG stayed loaded after dlclose: synthesis would not be reproducible")
