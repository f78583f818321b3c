"""WAV file output for offline runs (audio layer): 16-bit PCM through the stdlib `wave` module.

Used when there is no sound card, and by `latent play --out FILE.wav`. Blocks are pushed with
`write(block)`; a mono block is duplicated to every channel, as on the stereo audio HAT.
Samples outside -1..1 are clipped and counted (per source sample, before duplication to channels),
so a report can say whether the run clipped.
"""

from __future__ import annotations

import wave
from pathlib import Path
from types import TracebackType

import numpy as np

from device.audio.pcm import float_to_int16
from device.audio.stream_settings import check_stream_settings
from device.errors import AudioDeviceError, ConfigError


class WavFileOutput:
    """Writes float blocks to `path` as 16-bit PCM; close (or use as a context manager) to finish."""

    def __init__(self, path: str | Path, sample_rate: int = 48000, channels: int = 1) -> None:
        check_stream_settings(sample_rate, channels)
        self.path = Path(path)
        self.sample_rate = sample_rate
        self.channels = channels
        self.frames_written = 0
        self.clipped_samples = 0
        if not self.path.parent.is_dir():
            raise AudioDeviceError(
                f"cannot write WAV file {self.path}: folder {self.path.parent} does not exist "
                "(create it or choose another --out path)"
            )
        try:
            # The file stays open across write() calls until close(): a with-block cannot span them.
            self._wave: wave.Wave_write | None = wave.open(str(self.path), "wb")  # noqa: SIM115
        except OSError as exc:
            raise AudioDeviceError(f"cannot write WAV file {self.path}: {exc.strerror or exc}") from exc
        self._wave.setnchannels(channels)
        self._wave.setsampwidth(2)
        self._wave.setframerate(sample_rate)
        self._pcm = np.empty((0, channels), dtype="<i2")
        self._scratch = np.empty(0, dtype=np.float32)

    def write(self, block: np.ndarray) -> None:
        """Append one block: shape (frames,) (mono, copied to every channel) or (frames, channels)."""
        if self._wave is None:
            raise AudioDeviceError(f"WAV output {self.path} is already closed; open a new one to write more")
        block = np.asarray(block)
        if block.ndim == 2 and block.shape[1] == self.channels:
            mono = None
        elif block.ndim == 1:
            mono = block
        else:
            raise ConfigError(
                f"WAV output {self.path} takes blocks shaped (frames,) or (frames, {self.channels}); "
                f"got shape {block.shape}"
            )
        if not np.issubdtype(block.dtype, np.floating):
            raise ConfigError(f"WAV output takes float blocks (nominally -1..1); got dtype {block.dtype}")
        frames = block.shape[0]
        if self._pcm.shape[0] < frames:
            self._pcm = np.empty((frames, self.channels), dtype="<i2")
            self._scratch = np.empty(frames * self.channels, dtype=np.float32)
        pcm = self._pcm[:frames]
        if mono is not None:
            column = np.empty(frames, dtype="<i2")
            self.clipped_samples += float_to_int16(mono, column, self._scratch[:frames])
            pcm[:] = column[:, None]
        else:
            flat = pcm.reshape(-1)
            self.clipped_samples += float_to_int16(block.reshape(-1), flat, self._scratch[: flat.size])
        self._wave.writeframes(pcm.tobytes())
        self.frames_written += frames

    @property
    def seconds_written(self) -> float:
        return self.frames_written / self.sample_rate

    def close(self) -> None:
        """Finish the file (the header's length is written here). Closing twice is harmless."""
        if self._wave is not None:
            self._wave.close()
            self._wave = None

    def __enter__(self) -> WavFileOutput:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
