"""Frame encoding and the resynchronising decoder: whole frames come out of any noise, broken ones
never do."""

from __future__ import annotations

import random

from device.flash.frames import (
    FRAME_OVERHEAD,
    HEADER_SIZE,
    MAGIC,
    MAX_PAYLOAD,
    Frame,
    FrameDecoder,
    FrameType,
    encode,
)


def _frames(n: int, seed: int = 0) -> list[Frame]:
    rng = random.Random(seed)
    return [Frame(FrameType.DATA, 7, i * 100, rng.randbytes(rng.randrange(0, 300))) for i in range(n)]


def _same(a: Frame, b: Frame) -> bool:
    return (a.type, a.session, a.offset, bytes(a.payload), a.version) == \
        (b.type, b.session, b.offset, bytes(b.payload), b.version)


def test_roundtrip_in_one_feed_and_byte_by_byte() -> None:
    frames = _frames(20)
    stream = b"".join(encode(f) for f in frames)
    assert len(stream) == sum(len(f.payload) + FRAME_OVERHEAD for f in frames)
    whole = FrameDecoder().feed(stream)
    assert all(_same(a, b) for a, b in zip(whole, frames, strict=True))
    decoder, trickled = FrameDecoder(), []
    for i in range(len(stream)):
        trickled += decoder.feed(stream[i:i + 1])
    assert all(_same(a, b) for a, b in zip(trickled, frames, strict=True))
    assert decoder.garbage_bytes == 0 and decoder.bad_frames == 0


def test_garbage_between_frames_is_skipped_and_counted() -> None:
    frames = _frames(10, seed=1)
    rng = random.Random(2)
    stream = b""
    for frame in frames:
        stream += rng.randbytes(rng.randrange(0, 40)) + MAGIC + rng.randbytes(10) + encode(frame)
    decoder = FrameDecoder()
    out = decoder.feed(stream)
    assert all(_same(a, b) for a, b in zip(out, frames, strict=True))
    assert decoder.garbage_bytes > 0


def test_every_single_bit_flip_loses_exactly_that_frame() -> None:
    before, target, after = _frames(3, seed=3)
    target = Frame(FrameType.DATA, 9, 4096, bytes(range(64)))
    encoded = encode(target)
    for bit in range(len(encoded) * 8):
        broken = bytearray(encoded)
        broken[bit // 8] ^= 1 << (bit % 8)
        decoder = FrameDecoder()
        out = decoder.feed(encode(before) + bytes(broken) + encode(after))
        assert len(out) == 2, f"bit {bit}"
        assert _same(out[0], before) and _same(out[1], after)


def test_a_magic_inside_a_payload_does_not_confuse_the_decoder() -> None:
    tricky = Frame(FrameType.DATA, 1, 0, MAGIC * 20 + encode(Frame(FrameType.ACK, 1, 5))[:HEADER_SIZE])
    decoder = FrameDecoder()
    out = decoder.feed(b"\xa5L" + encode(tricky) + encode(tricky))
    assert len(out) == 2 and all(_same(f, tricky) for f in out)


def test_a_header_claiming_a_huge_payload_is_rejected_without_waiting() -> None:
    good = Frame(FrameType.ACK, 3, 99)
    forged = bytearray(encode(Frame(FrameType.DATA, 3, 0, b"")))
    forged[16:20] = (MAX_PAYLOAD + 1).to_bytes(4, "little")  # header CRC now fails too
    decoder = FrameDecoder()
    out = decoder.feed(bytes(forged) + encode(good))
    assert len(out) == 1 and _same(out[0], good) and decoder.bad_frames == 1


def test_a_partial_frame_is_dropped_after_its_deadline_and_the_frame_behind_it_comes_out() -> None:
    """A header announcing a payload that never comes (a killed or hostile sender) must not hold
    the decoder: the next sender's frame, already buffered behind it, comes out after the deadline."""
    decoder = FrameDecoder(max_payload=16 * 1024, byte_seconds=10 / 115200)
    stalled = encode(Frame(FrameType.DATA, 1, 0, bytes(16 * 1024)))[:HEADER_SIZE]
    hello = Frame(FrameType.HELLO, 2, 0, b'{"protocol":1}')
    deadline = decoder.partial_deadline(16 * 1024)
    assert 1.0 < deadline < 6.0
    assert decoder.feed(stalled + encode(hello), now=100.0) == []
    assert decoder.feed(b"", now=100.0 + deadline - 0.01) == []  # still waiting, within its time
    out = decoder.feed(b"", now=100.0 + deadline + 0.01)
    assert len(out) == 1 and _same(out[0], hello) and decoder.stalled_frames == 1


def test_a_frame_arriving_slowly_within_its_deadline_is_kept() -> None:
    decoder = FrameDecoder(byte_seconds=10 / 115200)
    frame = Frame(FrameType.DATA, 3, 0, bytes(range(256)) * 16)
    data = encode(frame)
    out: list[Frame] = []
    for i in range(0, len(data), 100):  # 100 bytes every 5 ms: slower than the line, not stalled
        out += decoder.feed(data[i:i + 100], now=i / 100 * 0.005)
    assert len(out) == 1 and _same(out[0], frame) and decoder.stalled_frames == 0


def test_a_length_over_the_receivers_limit_is_a_broken_header() -> None:
    decoder = FrameDecoder(max_payload=1024)
    big = Frame(FrameType.DATA, 4, 0, bytes(2048))
    small = Frame(FrameType.DATA, 4, 0, bytes(10))
    out = decoder.feed(encode(big)[:HEADER_SIZE] + encode(small), now=0.0)
    assert len(out) == 1 and _same(out[0], small) and decoder.bad_frames >= 1


def test_stale_headers_never_decode_as_frames_that_were_not_sent() -> None:
    """The two counterexamples the fuzz tests found in protocol version 1, whose trailer was the
    CRC of the payload alone: a header announcing 20 bytes took the next frame's header and its
    CRC as payload and trailer, and one announcing 4 bytes was completed by 0xff line noise."""
    after = Frame(FrameType.ACK, 5, 0, b"")
    for length, filler in ((20, b""), (4, b"\xff" * 8)):
        stale = encode(Frame(FrameType.DATA, 5, 0, bytes(length)))[:HEADER_SIZE]
        out = FrameDecoder().feed(stale + filler + encode(after) + b"\x55" * 64, now=0.0)
        assert [bytes(f.payload) for f in out] == [b""] and _same(out[-1], after), (length, out)
