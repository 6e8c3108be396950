"""提示音: Mandarin TTS through espeak-ng, uploaded recordings and music on hold, all as
8 kHz 16-bit mono PCM (numpy int16), cached as WAV under ``VAR_DIR/prompts``.

Rendering is slow (espeak-ng takes ~100 ms a sentence), so a prompt is rendered once per
text and kept on disk; the node keeps the G.711 bytes of each prompt in memory per codec.
"""

import hashlib
import logging
import pathlib
import shutil
import subprocess
import tempfile
import wave

import numpy as np
from aiortp.codecs import get_codec
from django.conf import settings

log = logging.getLogger(__name__)

RATE = 8000
FRAME = 160  # samples in 20 ms
ESPEAK = shutil.which("espeak-ng") or "/usr/bin/espeak-ng"
VOICE = "cmn"
SPEED = 160  # words a minute: espeak's Mandarin default is hurried for a hotline


def folder() -> pathlib.Path:
    path = pathlib.Path(settings.VAR_DIR) / "prompts"
    path.mkdir(parents=True, exist_ok=True)
    return path


def recordings_folder() -> pathlib.Path:
    """Where uploaded recordings live (a flow's ``recording`` is a file name here)."""
    path = pathlib.Path(settings.MEDIA_ROOT) / "prompts"
    path.mkdir(parents=True, exist_ok=True)
    return path


def read_wav(path: pathlib.Path) -> tuple[np.ndarray, int]:
    """Samples (mono int16) and rate of a 16-bit PCM WAV (stereo is mixed down)."""
    with wave.open(str(path), "rb") as reader:
        if reader.getsampwidth() != 2:
            raise ValueError(f"{path.name}: 仅支持 16 位 PCM WAV")
        rate, channels = reader.getframerate(), reader.getnchannels()
        samples = np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2")
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1).astype(np.int16)
    return samples, rate


def write_wav(path: pathlib.Path, samples: np.ndarray, rate: int = RATE) -> None:
    partial = path.with_suffix(".part")
    with wave.open(str(partial), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(samples.astype("<i2").tobytes())
    partial.replace(path)  # readers never see half a file


def resample(samples: np.ndarray, rate: int) -> np.ndarray:
    """To 8 kHz: a windowed-sinc low-pass below 3.6 kHz, then linear interpolation."""
    if rate == RATE:
        return samples.astype(np.int16)
    signal = samples.astype(np.float64)
    if rate > RATE:
        cutoff = 3600 / rate
        taps = np.arange(-32, 33)
        kernel = 2 * cutoff * np.sinc(2 * cutoff * taps) * np.hamming(len(taps))
        signal = np.convolve(signal, kernel / kernel.sum(), mode="same")
    count = int(len(signal) * RATE / rate)
    positions = np.arange(count) * (rate / RATE)
    out = np.interp(positions, np.arange(len(signal)), signal)
    return np.clip(out, -32768, 32767).astype(np.int16)


def tts(text: str) -> np.ndarray:
    """``text`` spoken in Mandarin, 8 kHz; rendered once, then read from the cache."""
    key = hashlib.sha256(f"{VOICE}|{SPEED}|{text}".encode()).hexdigest()[:32]
    path = folder() / f"tts-{key}.wav"
    if path.exists():
        return read_wav(path)[0]
    with tempfile.NamedTemporaryFile(suffix=".wav", dir=folder()) as raw:
        subprocess.run(
            # "--": a text that starts with "-" is words to say, never an option
            [ESPEAK, "-v", VOICE, "-s", str(SPEED), "-w", raw.name, "--", text],
            check=True,
            capture_output=True,
            timeout=30,
        )
        samples, rate = read_wav(pathlib.Path(raw.name))
    samples = resample(samples, rate)
    write_wav(path, samples)
    return samples


def recording(name: str) -> np.ndarray:
    """An uploaded recording (any rate, 16-bit PCM WAV), converted and cached at 8 kHz."""
    source = recordings_folder() / pathlib.Path(name).name  # never outside the folder
    key = hashlib.sha256(f"{source.name}|{source.stat().st_mtime_ns}".encode()).hexdigest()[:32]
    path = folder() / f"rec-{key}.wav"
    if path.exists():
        return read_wav(path)[0]
    samples, rate = read_wav(source)
    samples = resample(samples, rate)
    write_wav(path, samples)
    return samples


def hold_music(seconds: float = 8.0) -> np.ndarray:
    """Music on hold (等待音乐): a soft three-note chime that repeats, generated."""
    notes = (523.25, 659.25, 783.99, 659.25)  # C5 E5 G5 E5
    note_len = int(RATE * 0.5)
    t = np.arange(note_len) / RATE
    envelope = np.minimum(1.0, t / 0.02) * np.exp(-3.0 * t)
    phrase = np.concatenate([np.sin(2 * np.pi * f * t) * envelope for f in notes])
    pause = np.zeros(int(RATE * 1.0))
    one = np.concatenate([phrase, pause])
    repeats = max(1, int(np.ceil(seconds * RATE / len(one))))
    return (np.tile(one, repeats)[: int(seconds * RATE)] * 6000).astype(np.int16)


def beep(seconds: float = 0.4) -> np.ndarray:
    """The tone before a voice message (1 kHz)."""
    t = np.arange(int(seconds * RATE)) / RATE
    return (6000 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)


def encode(samples: np.ndarray, payload_type: int) -> bytes:
    """G.711 bytes of ``samples`` padded to whole 20 ms frames."""
    pad = (-len(samples)) % FRAME
    if pad:
        samples = np.concatenate([samples, np.zeros(pad, dtype=np.int16)])
    return get_codec(payload_type).encode(samples.astype("<i2").tobytes())


def decode(payload: bytes, payload_type: int) -> np.ndarray:
    return np.frombuffer(get_codec(payload_type).decode(payload), dtype="<i2")
