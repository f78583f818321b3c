"""Detached ed25519 signatures over bundles, and the device's set of trusted keys (store layer).

What is signed: the sha256 of every byte of the bundle file and its size, behind a fixed domain
tag:

    message = b"latent-bundle-signature-v2\\0" + sha256(file) (32 bytes) + uint64_le(file_size)

Every byte counts, alignment padding included (version 1 signed only the header, so bytes the
reader skipped could be changed under a valid signature; it is refused). Because the message is
made of the two numbers a transfer announces before its first byte, a device checks the
signature against the offer before it stages anything, and checks again that the bytes that
arrived hash to the signed value.

The signature travels beside the bundle as `NAME.bundle.sig`, a small JSON document:

    {"format": "latent-bundle-signature-v2", "algorithm": "ed25519", "key_id": "<16 hex>",
     "file_size": N, "sha256": "<64 hex>", "signature": "<base64, 64 bytes>"}

Keys: a private key is a PKCS#8 PEM file (mode 0600); a public key is one line
`latent-ed25519 <base64 of the 32 raw bytes> [comment]`. A key id is the first 16 hex digits of
the sha256 of the raw public key. The device trusts the public keys in its store's
`trusted-keys/` directory. Signing lives here too so the laptop signs with the very code the
device verifies with (host_tools imports it, as it imports the bundle writer).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from device.errors import SignatureError
from device.files import stream_sha256
from device.safe_read import loads_json, open_regular, read_bytes

SIGNATURE_FORMAT = "latent-bundle-signature-v2"
OLD_FORMATS = ("latent-bundle-signature-v1",)
ALGORITHM = "ed25519"
DOMAIN_TAG = b"latent-bundle-signature-v2\x00"
MAX_KEY_FILE_BYTES = 4096
_SHA256 = re.compile(r"[0-9a-f]{64}")
PUBLIC_KEY_TAG = "latent-ed25519"
MAX_SIGNATURE_DOC_BYTES = 4096


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_key_line(public: Ed25519PublicKey, comment: str = "") -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return f"{PUBLIC_KEY_TAG} {base64.b64encode(raw).decode('ascii')} {comment}".rstrip() + "\n"


def parse_public_key(text: str, source: str) -> Ed25519PublicKey:
    fields = text.strip().split()
    if len(fields) < 2 or fields[0] != PUBLIC_KEY_TAG:
        raise SignatureError(f"{source}: not a latent public key (expected a line "
                             f"'{PUBLIC_KEY_TAG} BASE64 [comment]', as written by `latent keys new`)")
    try:
        raw = base64.b64decode(fields[1], validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError):
        raise SignatureError(f"{source}: the key is not 32 bytes of valid base64") from None


def new_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def save_private_key(key: Ed25519PrivateKey, path: Path) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    data = read_bytes(path, max_bytes=MAX_KEY_FILE_BYTES, what="a private key file", error=SignatureError)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise SignatureError(f"{path}: not an unencrypted PEM private key "
                             "(make one with `latent keys new`)") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SignatureError(f"{path}: is not an ed25519 key; bundles are signed with ed25519 "
                             "(make one with `latent keys new`)")
    return key


def hash_bundle(bundle: Path, max_bytes: int | None = None) -> tuple[str, int]:
    """sha256 (hex) and size of a regular file: exactly what a signature covers.

    The size is checked against `max_bytes` before a byte is hashed; the hash is of the bytes
    actually read, so a file that changes meanwhile cannot pair one size with another's hash.
    """
    fd, st = open_regular(bundle, what="a bundle file", error=SignatureError)
    with os.fdopen(fd, "rb") as f:
        if max_bytes is not None and st.st_size > max_bytes:
            raise SignatureError(f"{bundle}: {st.st_size} bytes is over the limit of {max_bytes} bytes "
                                 "per bundle")
        try:
            sha256, size = stream_sha256(f, None if max_bytes is None else max_bytes + 1)
        except OSError as bad:
            raise SignatureError(f"{bundle}: cannot read the bundle: {bad.strerror or bad}") from None
    if max_bytes is not None and size > max_bytes:
        raise SignatureError(f"{bundle}: grew past the limit of {max_bytes} bytes while it was read")
    return sha256, size


def _message(sha256: str, size: int) -> bytes:
    return DOMAIN_TAG + bytes.fromhex(sha256) + struct.pack("<Q", size)


def sign_bundle(bundle: Path, key: Ed25519PrivateKey) -> dict[str, Any]:
    """The signature document for `bundle` made with `key`."""
    sha256, size = hash_bundle(bundle)
    return sign_digest(sha256, size, key)


def sign_digest(sha256: str, size: int, key: Ed25519PrivateKey) -> dict[str, Any]:
    """The signature document for a file of `size` bytes hashing to `sha256`."""
    return {
        "format": SIGNATURE_FORMAT,
        "algorithm": ALGORITHM,
        "key_id": key_id(key.public_key()),
        "file_size": size,
        "sha256": sha256,
        "signature": base64.b64encode(key.sign(_message(sha256, size))).decode("ascii"),
    }


def signature_bytes(doc: dict[str, Any]) -> bytes:
    return (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode("utf-8")


def signature_path(bundle: Path) -> Path:
    return bundle.with_name(bundle.name + ".sig")


@dataclass(frozen=True)
class Signature:
    key_id: str
    file_size: int
    sha256: str
    signature: bytes

    @staticmethod
    def from_doc(doc: object, source: str) -> Signature:
        """Check a signature document's shape; the cryptographic check is `TrustStore.verify`."""
        if not isinstance(doc, dict):
            raise SignatureError(f"{source}: a signature must be a JSON object")
        if doc.get("format") in OLD_FORMATS:
            raise SignatureError(f"{source}: signature format {doc.get('format')!r} covered only the "
                                 f"bundle's header and is no longer accepted; re-sign the bundle with "
                                 f"`latent keys sign` ({SIGNATURE_FORMAT} covers every byte)")
        if doc.get("format") != SIGNATURE_FORMAT:
            raise SignatureError(f"{source}: signature format {doc.get('format')!r} is not "
                                 f"{SIGNATURE_FORMAT!r}; re-sign with `latent keys sign`")
        if doc.get("algorithm") != ALGORITHM:
            raise SignatureError(f"{source}: signature algorithm {doc.get('algorithm')!r} is not "
                                 f"{ALGORITHM!r}")
        kid, size, sig = doc.get("key_id"), doc.get("file_size"), doc.get("signature")
        sha256 = doc.get("sha256")
        if not isinstance(kid, str) or len(kid) != 16 or not all(c in "0123456789abcdef" for c in kid):
            raise SignatureError(f"{source}: key_id {kid!r} is not 16 hex digits")
        if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size < 2**64:
            raise SignatureError(f"{source}: file_size {size!r:.40} is not a byte count")
        if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
            raise SignatureError(f"{source}: sha256 {sha256!r:.80} is not 64 lowercase hex digits")
        try:
            raw = base64.b64decode(sig, validate=True) if isinstance(sig, str) else b""
        except binascii.Error:
            raw = b""
        if len(raw) != 64:
            raise SignatureError(f"{source}: the signature is not 64 bytes of valid base64")
        return Signature(key_id=kid, file_size=size, sha256=sha256, signature=raw)


def load_signature_doc(path: Path, *, follow_links: bool = True) -> dict[str, Any]:
    raw = read_bytes(path, max_bytes=MAX_SIGNATURE_DOC_BYTES, what="a signature file",
                     error=SignatureError, follow_links=follow_links)
    doc = loads_json(raw, source=str(path), error=SignatureError, max_bytes=MAX_SIGNATURE_DOC_BYTES)
    Signature.from_doc(doc, str(path))
    return doc


class TrustStore:
    """The public keys in one directory (`<key id>.pub` files) whose signatures are accepted."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def keys(self) -> dict[str, Ed25519PublicKey]:
        found: dict[str, Ed25519PublicKey] = {}
        if not self.directory.is_dir():
            return found
        for path in sorted(self.directory.glob("*.pub")):
            if path.is_symlink() or not path.is_file():
                continue
            raw = read_bytes(path, max_bytes=MAX_KEY_FILE_BYTES, what="a public key file",
                             error=SignatureError, follow_links=False)
            public = parse_public_key(raw.decode("utf-8", errors="replace"), str(path))
            found[key_id(public)] = public
        return found

    def require_known(self, signature: Signature) -> Ed25519PublicKey:
        public = self.keys().get(signature.key_id)
        if public is None:
            raise SignatureError(
                f"signed by key {signature.key_id}, which this device does not trust; add its public "
                f"key with `latent models trust KEY.pub` (trusted keys live in {self.directory})")
        return public

    def verify_claim(self, doc: object, *, size: int, sha256: str, label: str) -> str:
        """Check `doc` against a file's size and sha256 (as announced, or as hashed); returns the
        signer's key id. Refuses before any byte needs to be stored."""
        signature = Signature.from_doc(doc, f"signature of {label}")
        public = self.require_known(signature)
        if size != signature.file_size or sha256 != signature.sha256:
            raise SignatureError(
                f"{label}: the signature is for a {signature.file_size}-byte file hashing to "
                f"{signature.sha256[:16]}…, not this {size}-byte file hashing to {sha256[:16]}… "
                "(signed for another file, or the bundle was changed after signing)")
        try:
            public.verify(signature.signature, _message(signature.sha256, signature.file_size))
        except InvalidSignature:
            raise SignatureError(
                f"{label}: the signature by key {signature.key_id} is not valid (the signature or the "
                "bundle was altered, or it was made by another key with the same id)") from None
        return signature.key_id

    def verify(self, bundle: Path, doc: object) -> str:
        """Check `doc` against every byte of `bundle`; returns the signer's key id."""
        sha256, size = hash_bundle(bundle)
        return self.verify_claim(doc, size=size, sha256=sha256, label=bundle.name)
