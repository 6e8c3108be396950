"""通话录音: a bridged call written as it happens — both parties as one stereo WAV
(left the caller, right the agent; 8 kHz 16-bit PCM, which every browser plays) — and
voice messages (语音留言), mono.

The node's ticker hands each 20 ms its two G.711 frames; they are decoded and written a
second at a time, so a long call costs neither memory nor a write per frame.
"""

import datetime as dt
import pathlib
import wave

import numpy as np
from django.conf import settings

from . import prompts

FLUSH_FRAMES = 50  # one second


def path_for(owner, started: dt.datetime, call_id: str) -> pathlib.Path:
    """``recordings/YYYY/MM/DD/<owner>-<call>.wav`` under MEDIA_ROOT (relative); the owner
    is the session's id, or ``call<id>`` for a call placed from an order."""
    safe = "".join(c for c in call_id if c.isalnum())[:16] or "call"
    return pathlib.Path("recordings", f"{started:%Y/%m/%d}", f"{owner}-{safe}.wav")


class Recorder:
    """Stereo (the caller left, the agent right) — or mono: a voice message (语音留言)."""

    def __init__(self, relative: pathlib.Path, payload_type: int, channels: int = 2):
        self.relative = relative
        self.payload_type = payload_type
        self.channels = channels
        self.path = pathlib.Path(settings.MEDIA_ROOT) / relative
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = wave.open(str(self.path), "wb")  # noqa: SIM115 - closed by close()
        self._writer.setnchannels(channels)
        self._writer.setsampwidth(2)
        self._writer.setframerate(prompts.RATE)
        self._caller = bytearray()
        self._agent = bytearray()
        self._frames = 0
        self.samples = 0

    def add(self, caller: bytes, agent: bytes = b"") -> None:
        self._caller += caller
        self._agent += agent
        self._frames += 1
        if self._frames >= FLUSH_FRAMES:
            self._flush()

    def _flush(self) -> None:
        if not self._caller and not self._agent:
            return
        left = prompts.decode(bytes(self._caller), self.payload_type)
        if self.channels == 1:
            self._writer.writeframes(left.astype("<i2").tobytes())
            length = len(left)
        else:
            right = prompts.decode(bytes(self._agent), self.payload_type)
            length = max(len(left), len(right))  # a side that sent less: padded with silence
            both = np.zeros((length, 2), dtype="<i2")
            both[: len(left), 0] = left
            both[: len(right), 1] = right
            self._writer.writeframes(both.tobytes())
        self.samples += length
        self._caller.clear()
        self._agent.clear()
        self._frames = 0

    def close(self) -> tuple[float, int]:
        """Finish the file: (seconds, bytes)."""
        self._flush()
        self._writer.close()
        return self.samples / prompts.RATE, self.path.stat().st_size
