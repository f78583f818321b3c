"""WAV file output for offline runs (audio layer): 16-bit PCM through the stdlib `wave` module.

Used when there is no sound card, and by `latent play --out FILE.wav`. Blocks are pushed with
`write(block)`; a mono block is duplicated to every channel, as on the stereo audio HAT.
Samples outside -1..1 are clipped and counted (per source sample, before duplication to channels),
so a report can say whether the run clipped.

The file is opened here, not by `wave.open(name)`: that one fails half-way on a directory and
then raises again from its destructor, and it would block forever on a FIFO without a reader.
Only a regular file (new, or one to replace) is accepted as the output.
"""

from __future__ import annotations

import os
import stat
import wave
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import numpy as np

from device.audio.pcm import float_to_int16
from device.audio.stream_settings import check_stream_settings
from device.errors import AudioDeviceError, ConfigError
from device.safe_read import file_kind


def _not_regular(path: Path, mode: int) -> AudioDeviceError:
    return AudioDeviceError(f"cannot write WAV file {path}: it is {file_kind(mode)}, not a regular file "
                            "(give --out a file name, e.g. take.wav)")


def open_wav_target(path: Path) -> BinaryIO:
    """`path` opened for writing from its start, refusing anything but a regular file.

    Checked before opening so that nothing else is truncated or blocked on, and again on the open
    descriptor (non-blocking, so a FIFO swapped in meanwhile cannot hang it) before truncating.
    """
    try:
        mode: int | None = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise AudioDeviceError(f"cannot write WAV file {path}: {exc.strerror or exc}") from None
    if mode is not None and not stat.S_ISREG(mode):
        raise _not_regular(path, mode)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        raise AudioDeviceError(f"cannot write WAV file {path}: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _not_regular(path, mode)
        os.ftruncate(fd, 0)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        raise


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
        # The file stays open across write() calls until close(): a with-block cannot span them.
        self._file: BinaryIO | None = open_wav_target(self.path)
        # Given an open file, wave neither opens nor closes it: close() closes it after wave's.
        self._wave: wave.Wave_write | None = wave.open(self._file, "wb")  # noqa: SIM115
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
        # Forget both first: if finishing fails (a full disk), a second close must not retry it.
        wave_out, self._wave = self._wave, None
        file, self._file = self._file, None
        try:
            if wave_out is not None:
                wave_out.close()
        finally:
            if file is not None:
                file.close()

    def __enter__(self) -> WavFileOutput:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
