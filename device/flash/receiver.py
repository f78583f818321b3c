"""The receiving half of the serial flashing protocol, run by `latent serve --serial` (flash layer).

It writes nothing but the store's staging area, through `ModelStore.offer`: the offer is checked
(name, size limit, free space, signing key) before the first data byte is accepted, DATA is taken
only in order and never past the declared size (a sender that keeps going is cut off: ERROR, the
staged copy discarded), and on DONE the store verifies the whole file (sha256, signature, bundle
hashes, compatibility) before it activates anything. Garbage on the line is skipped by the frame
decoder; frames of other sessions are ignored. A session silent for `session_timeout` seconds is
closed with its bytes kept in staging for the next attempt to resume.

A hostile or broken peer must not stop the next one: frames longer than `MAX_FRAME_PAYLOAD`
are treated as broken (nothing legitimate is longer), a partial frame is dropped after its
deadline, JSON is read with bounded depth, a signed offer's signature is verified before any
byte is staged, and anything unexpected while handling one frame ends that session, not the
service.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

from device.errors import FlashError, InstrumentError
from device.flash.frames import PROTOCOL_VERSION, Frame, FrameType
from device.flash.link import FrameLink, SerialPort, json_payload, parse_json_payload
from device.store.incoming import IncomingTransfer, TransferOffer
from device.store.store import InstallOptions, ModelStore

DEFAULT_CHUNK = 4096
# The largest frame this side takes: a HELLO (a signature document is at most 4 KiB) or a DATA
# frame of the chunk it granted.
MAX_CHUNK = 16 * 1024
MAX_FRAME_PAYLOAD = MAX_CHUNK
DEFAULT_OPTIONS = InstallOptions()


@dataclass
class _Session:
    id: int
    incoming: IncomingTransfer | None
    last_seen: float
    reply: Frame | None = None     # the READY, then the RESULT/ERROR, resent on duplicates
    finished: bool = False
    stats: dict[str, int] = field(default_factory=lambda: {"frames": 0, "duplicates": 0, "gaps": 0})


class SerialReceiver:
    def __init__(self, port: SerialPort, store: ModelStore, *, options: InstallOptions = DEFAULT_OPTIONS,
                 session_timeout: float = 30.0, log: Callable[[str], None] | None = None,
                 baud: int | None = None) -> None:
        self.link = FrameLink(port, max_payload=MAX_FRAME_PAYLOAD, baud=baud)
        self.store = store
        self.options = options
        self.session_timeout = session_timeout
        self.log = log or (lambda line: None)
        self.session: _Session | None = None
        self.installs = 0
        self.refusals = 0
        self._stray_reply_at = 0.0

    def serve(self, *, max_installs: int | None = None, stop: Callable[[], bool] | None = None) -> None:
        """Answer senders until `max_installs` bundles were installed or `stop()` says so."""
        while (max_installs is None or self.installs < max_installs) and not (stop and stop()):
            for frame in self.link.poll(0.2):
                self._handle_safely(frame)
            self._expire(time.monotonic())
        self._close_session()

    def _handle_safely(self, frame: Frame) -> None:
        try:
            self.handle(frame)
        except FlashError:
            raise  # the port itself failed: the service must restart
        except Exception as bad:  # one peer's frame must never stop the service
            where = traceback.extract_tb(bad.__traceback__)[-1]
            self.log(f"internal error on a frame of type {frame.type} ({type(bad).__name__}: "
                     f"{str(bad)[:200]} at {where.filename}:{where.lineno}); session dropped")
            self._close_session()
            self._error(frame.session, "the device failed to handle this transfer (see its log); try again")

    def _expire(self, now: float) -> None:
        session = self.session
        if session is not None and not session.finished and now - session.last_seen > self.session_timeout:
            offset = session.incoming.offset if session.incoming else 0
            self.log(f"sender silent for {self.session_timeout:g} s; keeping {offset} staged bytes "
                     "for a resume")
            self._close_session()

    def _close_session(self) -> None:
        if self.session is not None and self.session.incoming is not None:
            self.session.incoming.close()
        self.session = None

    def _reply(self, frame: Frame) -> None:
        self.link.send(frame)

    def _error(self, session_id: int, reason: str) -> Frame:
        self.refusals += 1
        self.log(f"refused: {reason}")
        frame = Frame(FrameType.ERROR, session_id, 0, reason.encode("utf-8"))
        self._reply(frame)
        return frame

    def handle(self, frame: Frame) -> None:
        if frame.version != PROTOCOL_VERSION:
            self._error(frame.session, f"protocol version {frame.version} is not spoken here (this "
                                       f"device speaks {PROTOCOL_VERSION}); update the host tools")
            return
        session = self.session
        if frame.type == FrameType.HELLO:
            self._hello(frame)
        elif session is None or frame.session != session.id:
            if frame.type in (FrameType.DATA, FrameType.DONE):
                self._stray(frame)
        else:
            session.last_seen = time.monotonic()
            session.stats["frames"] += 1
            if session.finished:
                if frame.type == FrameType.DONE and session.reply is not None:
                    self._reply(session.reply)
            elif frame.type == FrameType.DATA:
                self._data(session, frame)
            elif frame.type == FrameType.DONE:
                self._done(session)

    def _stray(self, frame: Frame) -> None:
        # A sender still talking in a session this side no longer has (it restarted or timed
        # out): tell it, at most once a second, so it fails fast and resumes.
        now = time.monotonic()
        if now - self._stray_reply_at >= 1.0:
            self._stray_reply_at = now
            self._error(frame.session, "no transfer in progress for this session (the device restarted "
                                       "or the session timed out); run the same flash command again to "
                                       "resume")

    def _hello(self, frame: Frame) -> None:
        current = self.session
        if current is not None and current.id == frame.session:
            current.last_seen = time.monotonic()
            if current.reply is not None:
                self._reply(current.reply)  # the READY (or verdict) was lost: say it again
            return
        self._close_session()
        session = _Session(frame.session, None, time.monotonic())
        self.session = session
        try:
            doc = parse_json_payload(frame, "HELLO")
            if doc.get("protocol") != PROTOCOL_VERSION:
                raise FlashError(f"protocol {doc.get('protocol')!r} is not spoken here (this device "
                                 f"speaks {PROTOCOL_VERSION})")
            offer = TransferOffer.from_document(doc)
            incoming = self.store.offer(offer, self.options)
            if doc.get("restart"):
                incoming.restart()
        except (InstrumentError, OSError) as bad:
            session.reply, session.finished = self._error(frame.session, str(bad)), True
            return
        session.incoming = incoming
        chunk = doc.get("chunk")
        chunk = min(chunk, MAX_CHUNK) if isinstance(chunk, int) and not isinstance(chunk, bool) \
            and chunk > 0 else DEFAULT_CHUNK
        self.log(f"receiving {offer.name} ({offer.size} bytes)"
                 + (f", resuming at byte {incoming.offset}" if 0 < incoming.offset < offer.size else "")
                 + (" (already stored)" if incoming.existing else ""))
        session.reply = Frame(FrameType.READY, frame.session, incoming.offset, json_payload({
            "offset": incoming.offset, "prefix_sha256": incoming.prefix_sha256(), "chunk": chunk,
            "existing": incoming.existing}))
        self._reply(session.reply)

    def _data(self, session: _Session, frame: Frame) -> None:
        incoming = session.incoming
        assert incoming is not None
        end = frame.offset + len(frame.payload)
        if end > incoming.offer.size:
            incoming.discard()
            session.incoming = None
            session.reply = self._error(session.id, f"cut off: data up to byte {end} is past the declared "
                                                    f"size of {incoming.offer.size} bytes; nothing was "
                                                    "installed")
            session.finished = True
            return
        if frame.offset == incoming.offset and not incoming.existing:
            try:
                incoming.write(frame.offset, frame.payload)
            except (InstrumentError, OSError) as bad:
                session.reply, session.finished = self._error(session.id, str(bad)), True
                return
        elif frame.offset < incoming.offset:
            session.stats["duplicates"] += 1
        else:
            session.stats["gaps"] += 1
        self._reply(Frame(FrameType.ACK, session.id, incoming.offset))

    def _done(self, session: _Session) -> None:
        incoming = session.incoming
        assert incoming is not None
        session.finished = True
        if not incoming.complete:
            incoming.close()
            session.reply = self._error(session.id, f"DONE after {incoming.offset} of {incoming.offer.size} "
                                                    "bytes: the transfer is incomplete")
            return
        try:
            result = self.store.install_incoming(incoming, self.options)
        except (InstrumentError, OSError) as bad:
            session.reply = self._error(session.id, str(bad))
            return
        self.installs += 1
        self.log(result.message())
        session.reply = Frame(FrameType.RESULT, session.id, incoming.offer.size,
                              json_payload({"ok": True, **result.to_json()}))
        self._reply(session.reply)
