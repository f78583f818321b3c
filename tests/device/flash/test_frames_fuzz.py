"""Fuzzing the serial frame decoder with hostile byte streams (seeded and bounded, so CI is repeatable).

The decoder reads whatever arrives on the flashing cable: line noise, a sender that died
mid-frame, a forged header. It must never raise, never hold more than one frame's worth of bytes
(a stream of noise must not grow its buffer), never invent a frame that was not sent, and lose
nothing but the frames that were actually damaged. These properties are checked with
hypothesis-generated streams cut into arbitrary chunks, because the serial port hands the
decoder reads of any length.

Only the public API is used (`FrameDecoder().feed`, `encode`, `Frame`, the counters); the buffer
bound is measured on whatever byte buffers the decoder holds, whatever they are called.
"""

from __future__ import annotations

import itertools
import struct
import zlib
from dataclasses import dataclass

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from device.flash.frames import (
    FRAME_OVERHEAD,
    HEADER_SIZE,
    MAGIC,
    MAX_PAYLOAD,
    Frame,
    FrameDecoder,
    encode,
)

# Deterministic in CI: derandomized, no example database written into the working tree.
FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# The most a decoder may keep between reads: one frame that is still arriving (header valid,
# payload at most MAX_PAYLOAD) is held whole; anything else is noise and must be dropped.
MAX_BUFFERED = FRAME_OVERHEAD + MAX_PAYLOAD
# Enough bytes to complete any partial frame a stream may end on, so that it is decided. Not zeros
# nor 0xff: crc32(b"") == 0 and crc32(b"\xff" * 4) == 0xffffffff, so a header whose payload was lost
# and declares 0 or 4 bytes is completed by such a run (see the last test). No run of 0x55 of length
# 0..MAX_PAYLOAD has a CRC of 0x55555555.
FLUSH = b"\x55" * (MAX_PAYLOAD + FRAME_OVERHEAD)

_HEAD = struct.Struct("<4sBBHQI")


def _buffered(decoder: FrameDecoder) -> int:
    """Bytes the decoder holds between reads (every byte buffer among its attributes)."""
    return sum(len(value) for value in vars(decoder).values()
               if isinstance(value, bytes | bytearray | memoryview))


def _key(frame: Frame) -> tuple[int, int, int, bytes, int]:
    return (frame.type, frame.session, frame.offset, bytes(frame.payload), frame.version)


def _header(ftype: int, version: int, session: int, offset: int, length: int) -> bytes:
    """A header with a valid header CRC, whatever the length it declares."""
    head = _HEAD.pack(MAGIC, ftype, version, session, offset, length)
    return head + struct.pack("<I", zlib.crc32(head))


frames_st = st.builds(
    Frame,
    type=st.integers(0, 255),
    session=st.integers(0, 0xFFFF),
    offset=st.integers(0, 2**64 - 1),
    payload=st.binary(max_size=300),
    version=st.integers(0, 255),
)


@st.composite
def _stub(draw: st.DrawFn) -> bytes:
    """The first bytes of a real frame whose sender died: may hold a valid header that declares a
    payload which never comes. The cut never falls in the trailer, so later bytes cannot complete
    the frame by chance."""
    frame = draw(frames_st.filter(lambda f: len(f.payload) > 0))
    whole = encode(frame)
    return whole[:draw(st.integers(1, HEADER_SIZE + len(frame.payload) - 1))]


# Noise that cannot hold a frame: random bytes, pieces of a magic, a magic followed by junk.
plain_noise = st.one_of(
    st.binary(max_size=64),
    st.sampled_from([MAGIC[:1], MAGIC[:2], MAGIC[:3], MAGIC, MAGIC + MAGIC[:3]]),
    st.binary(max_size=30).map(lambda junk: MAGIC + junk),
)
# Noise that can stall the decoder: partial frames, headers declaring any length (also more than
# MAX_PAYLOAD, which must be refused at once rather than waited for).
stalling_noise = st.one_of(
    _stub(),
    st.builds(_header, st.integers(0, 255), st.integers(0, 255), st.integers(0, 0xFFFF),
              st.integers(0, 2**64 - 1), st.integers(1, 2**32 - 1)),
)


@st.composite
def _chunks(draw: st.DrawFn, stream: bytes) -> list[bytes]:
    """`stream` cut at arbitrary points (empty reads included), as a serial port delivers it."""
    cuts = sorted(draw(st.lists(st.integers(0, len(stream)), max_size=24)))
    bounds = [0, *cuts, len(stream)]
    return [stream[a:b] for a, b in itertools.pairwise(bounds)]


@dataclass
class _Run:
    frames: list[Frame]
    max_buffered: int


def _feed(chunks: list[bytes], decoder: FrameDecoder | None = None) -> _Run:
    """Feed every chunk, checking the bounds and the byte accounting after each read."""
    decoder = decoder if decoder is not None else FrameDecoder()
    out: list[Frame] = []
    fed = 0
    worst = 0
    for chunk in chunks:
        got = decoder.feed(chunk)
        assert isinstance(got, list)
        out += got
        fed += len(chunk)
        held = _buffered(decoder)
        worst = max(worst, held)
        assert held <= MAX_BUFFERED, f"decoder holds {held} bytes after a read"
        # Every byte fed is either in a frame that came out, thrown away as garbage, or held.
        emitted = sum(len(f.payload) + FRAME_OVERHEAD for f in out)
        assert emitted + decoder.garbage_bytes + held == fed
    return _Run(out, worst)


def _expect(run: _Run, frames: list[Frame], *alternatives: list[Frame]) -> None:
    got = [_key(f) for f in run.frames]
    if alternatives and any(got == [_key(f) for f in alt] for alt in alternatives):
        return
    assert got == [_key(f) for f in frames]


# Long runs of noise: more than a decoder may hold, so a buffer that keeps them is caught.
walls = st.sampled_from([bytes(MAX_BUFFERED + 1), b"\xa5" * (MAX_BUFFERED + 1),
                         MAGIC * (MAX_BUFFERED // 4 + 1), bytes(range(256)) * (MAX_BUFFERED // 256 + 1)])


@FUZZ
@given(data=st.data(), pieces=st.lists(st.one_of(st.binary(max_size=200), plain_noise, stalling_noise,
                                                 frames_st.map(encode), walls), max_size=12))
def test_arbitrary_bytes_never_raise_never_pile_up_and_never_invent_frames(
        data: st.DataObject, pieces: list[bytes]) -> None:
    stream = b"".join(pieces)
    chunks = data.draw(_chunks(stream), label="chunks")
    run = _feed(chunks)
    for frame in run.frames:
        assert len(frame.payload) <= MAX_PAYLOAD
        # A frame that comes out was sent: its exact encoding occurs in the stream.
        assert encode(frame) in stream


@FUZZ
@given(data=st.data(), frames=st.lists(frames_st, min_size=1, max_size=8))
def test_frames_in_plain_noise_all_come_out_in_order_across_any_chunking(
        data: st.DataObject, frames: list[Frame]) -> None:
    noise = data.draw(st.lists(plain_noise, min_size=len(frames) + 1, max_size=len(frames) + 1),
                      label="noise")
    stream = noise[0] + b"".join(encode(f) + n for f, n in zip(frames, noise[1:], strict=True))
    _expect(_feed(data.draw(_chunks(stream), label="chunks")), frames)


@FUZZ
@given(data=st.data(), frames=st.lists(frames_st, min_size=1, max_size=6))
def test_frames_after_stalled_partial_frames_come_out_once_the_stall_is_decided(
        data: st.DataObject, frames: list[Frame]) -> None:
    noise = data.draw(st.lists(st.one_of(plain_noise, stalling_noise), min_size=len(frames) + 1,
                               max_size=len(frames) + 1), label="noise")
    stream = noise[0] + b"".join(encode(f) + n for f, n in zip(frames, noise[1:], strict=True))
    chunks = data.draw(_chunks(stream), label="chunks")
    # A partial frame holds later frames back until its declared length has arrived; the flush
    # supplies that many bytes (a deadline-based resync may release them earlier).
    _expect(_feed([*chunks, FLUSH]), frames)


@FUZZ
@given(data=st.data(), frames=st.lists(frames_st, min_size=1, max_size=6))
def test_one_corrupted_byte_loses_exactly_the_frame_it_hits(
        data: st.DataObject, frames: list[Frame]) -> None:
    noise = data.draw(st.lists(plain_noise, min_size=len(frames) + 1, max_size=len(frames) + 1),
                      label="noise")
    spans: list[tuple[int, int]] = []
    stream = bytearray(noise[0])
    for frame, after in zip(frames, noise[1:], strict=True):
        spans.append((len(stream), len(stream) + len(encode(frame))))
        stream += encode(frame) + after
    where = data.draw(st.integers(0, len(stream) - 1), label="corrupted byte")
    stream[where] ^= data.draw(st.integers(1, 255), label="xor mask")
    hit = [i for i, (a, b) in enumerate(spans) if a <= where < b]
    note(f"frames hit: {hit}")
    expected = [f for i, f in enumerate(frames) if i not in hit]
    _expect(_feed(data.draw(_chunks(bytes(stream)), label="chunks")), expected)


@FUZZ
@given(data=st.data(), frames=st.lists(frames_st, min_size=1, max_size=6))
def test_lost_bytes_lose_at_most_the_frame_they_were_cut_from(
        data: st.DataObject, frames: list[Frame]) -> None:
    encoded = [encode(f) for f in frames]
    victim = data.draw(st.integers(0, len(frames) - 1), label="victim")
    start = data.draw(st.integers(0, len(encoded[victim]) - 1), label="cut start")
    stop = data.draw(st.integers(start + 1, len(encoded[victim])), label="cut stop")
    encoded[victim] = encoded[victim][:start] + encoded[victim][stop:]
    stream = b"".join(encoded)
    chunks = data.draw(_chunks(stream), label="chunks")
    # A frame that lost bytes may still declare its full length: the flush decides it. If the flush
    # supplies exactly the bytes that were lost (a trailer ending in 0x55), the frame is intact again.
    _expect(_feed([*chunks, FLUSH]), [f for i, f in enumerate(frames) if i != victim], frames)


@FUZZ
@given(length=st.integers(MAX_PAYLOAD + 1, 2**32 - 1), frame=frames_st,
       data=st.data())
def test_a_valid_header_declaring_too_much_is_dropped_without_waiting(
        length: int, frame: Frame, data: st.DataObject) -> None:
    forged = _header(frame.type, frame.version, frame.session, frame.offset, length)
    stream = forged + encode(frame)
    run = _feed(data.draw(_chunks(stream), label="chunks"))
    _expect(run, [frame])


@settings(FUZZ, max_examples=10)
@given(data=st.data(), fill=st.integers(0, 255))
def test_largest_frames_and_a_wall_of_noise_stay_within_one_frame(
        data: st.DataObject, fill: int) -> None:
    big = Frame(3, 1, 0, bytes([fill]) * MAX_PAYLOAD)
    # A forged header that waits for a full MAX_PAYLOAD, then noise, then the largest frame.
    stream = _header(3, 1, 1, 0, MAX_PAYLOAD) + bytes(2 * MAX_PAYLOAD) + encode(big)
    run = _feed(data.draw(_chunks(stream), label="chunks"))
    _expect(run, [big])
    assert run.max_buffered <= MAX_BUFFERED


@settings(FUZZ, max_examples=25)
@given(stale=frames_st, after=frames_st)
def test_a_partial_frame_declaring_20_bytes_does_not_take_the_next_frames_header(
        stale: Frame, after: Frame) -> None:
    """A sender that died right after a header declaring a 20-byte payload, then a fresh frame.

    The header CRC and the payload CRC are the same function (CRC32 of the bytes before it), so
    the next frame's 20 header bytes followed by its header CRC read as a valid 20-byte payload
    with its CRC: the decoder delivers the dead frame with a payload that was never sent, and the
    fresh frame is lost. No deadline helps, since the bytes arrive at once.
    """
    dead = _header(stale.type, stale.version, stale.session, stale.offset, 20)
    _expect(_feed([dead, encode(after), FLUSH]), [after])


@settings(FUZZ, max_examples=25)
@given(stale=frames_st, after=frames_st)
def test_a_partial_frame_declaring_4_bytes_is_not_completed_by_idle_line_noise(
        stale: Frame, after: Frame) -> None:
    """A sender that died right after a header declaring a 4-byte payload, then 0xff noise (what a
    floating RX line reads), then a fresh frame.

    crc32(b"\\xff" * 4) == 0xffffffff, so the header followed by eight 0xff bytes is a valid frame
    with the payload ff ff ff ff, which was never sent.
    """
    dead = _header(stale.type, stale.version, stale.session, stale.offset, 4)
    _expect(_feed([dead, b"\xff" * 8, encode(after)]), [after])


def test_the_flush_itself_completes_no_partial_frame() -> None:
    """The harness' own claim: no run of 0x55 up to MAX_PAYLOAD bytes is followed by its CRC."""
    crc = 0
    for _ in range(MAX_PAYLOAD + 1):
        assert crc != int.from_bytes(FLUSH[:4], "little")
        crc = zlib.crc32(FLUSH[:1], crc)
