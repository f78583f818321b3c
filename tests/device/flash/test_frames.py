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
