"""Detached ed25519 signatures over bundles, and the device's set of trusted keys (store layer).

What is signed: the bundle's 48-byte header (magic, format version, manifest length, sha256 of the
manifest) and the file's size, behind a fixed domain tag:

    message = b"latent-bundle-signature-v1\\0" + header[0:48] + uint64_le(file_size)

The manifest's sha256 is in the header and every payload's sha256 is in the manifest, so once
`device.bundle.reader.open_bundle` has verified the file (manifest hash, payload hashes, exact
size), a good signature over that message vouches for every byte that the reader trusts. The
store always runs both checks; neither is enough alone.

The signature travels beside the bundle as `NAME.bundle.sig`, a small JSON document:

    {"format": "latent-bundle-signature-v1", "algorithm": "ed25519",
     "key_id": "<16 hex>", "file_size": N, "signature": "<base64, 64 bytes>"}

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
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from device.bundle.format import HEADER_SIZE
from device.errors import SignatureError

SIGNATURE_FORMAT = "latent-bundle-signature-v1"
ALGORITHM = "ed25519"
DOMAIN_TAG = b"latent-bundle-signature-v1\x00"
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
    try:
        data = Path(path).read_bytes()
    except OSError as bad:
        raise SignatureError(f"{path}: cannot read the private key: {bad.strerror or bad}") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise SignatureError(f"{path}: not an unencrypted PEM private key "
                             "(make one with `latent keys new`)") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SignatureError(f"{path}: is not an ed25519 key; bundles are signed with ed25519 "
                             "(make one with `latent keys new`)")
    return key


def read_signed_part(bundle: Path) -> tuple[bytes, int]:
    """The bundle's header bytes and its size: exactly what a signature covers."""
    try:
        with open(bundle, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            header = f.read(HEADER_SIZE)
    except OSError as bad:
        raise SignatureError(f"{bundle}: cannot read the bundle: {bad.strerror or bad}") from None
    if len(header) < HEADER_SIZE:
        raise SignatureError(f"{bundle}: only {size} bytes, too short to hold a bundle header")
    return header, size


def _message(header: bytes, size: int) -> bytes:
    return DOMAIN_TAG + header + struct.pack("<Q", size)


def sign_bundle(bundle: Path, key: Ed25519PrivateKey) -> dict[str, Any]:
    """The signature document for `bundle` made with `key`."""
    header, size = read_signed_part(bundle)
    return {
        "format": SIGNATURE_FORMAT,
        "algorithm": ALGORITHM,
        "key_id": key_id(key.public_key()),
        "file_size": size,
        "signature": base64.b64encode(key.sign(_message(header, size))).decode("ascii"),
    }


def signature_bytes(doc: dict[str, Any]) -> bytes:
    return (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode("utf-8")


def signature_path(bundle: Path) -> Path:
    return bundle.with_name(bundle.name + ".sig")


@dataclass(frozen=True)
class Signature:
    key_id: str
    file_size: int
    signature: bytes

    @staticmethod
    def from_doc(doc: object, source: str) -> Signature:
        """Check a signature document's shape; the cryptographic check is `TrustStore.verify`."""
        if not isinstance(doc, dict):
            raise SignatureError(f"{source}: a signature must be a JSON object")
        if doc.get("format") != SIGNATURE_FORMAT:
            raise SignatureError(f"{source}: signature format {doc.get('format')!r} is not "
                                 f"{SIGNATURE_FORMAT!r}; re-sign with `latent keys sign`")
        if doc.get("algorithm") != ALGORITHM:
            raise SignatureError(f"{source}: signature algorithm {doc.get('algorithm')!r} is not "
                                 f"{ALGORITHM!r}")
        kid, size, sig = doc.get("key_id"), doc.get("file_size"), doc.get("signature")
        if not isinstance(kid, str) or len(kid) != 16 or not all(c in "0123456789abcdef" for c in kid):
            raise SignatureError(f"{source}: key_id {kid!r} is not 16 hex digits")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise SignatureError(f"{source}: file_size {size!r} is not a byte count")
        try:
            raw = base64.b64decode(sig, validate=True) if isinstance(sig, str) else b""
        except binascii.Error:
            raw = b""
        if len(raw) != 64:
            raise SignatureError(f"{source}: the signature is not 64 bytes of valid base64")
        return Signature(key_id=kid, file_size=size, signature=raw)


def load_signature_doc(path: Path) -> dict[str, Any]:
    try:
        raw = Path(path).read_bytes()
    except OSError as bad:
        raise SignatureError(f"{path}: cannot read the signature: {bad.strerror or bad}") from None
    if len(raw) > MAX_SIGNATURE_DOC_BYTES:
        raise SignatureError(f"{path}: {len(raw)} bytes is far too large for a signature file")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise SignatureError(f"{path}: not a JSON signature document") from None
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
            public = parse_public_key(path.read_text(encoding="utf-8", errors="replace"), str(path))
            found[key_id(public)] = public
        return found

    def require_known(self, signature: Signature) -> Ed25519PublicKey:
        public = self.keys().get(signature.key_id)
        if public is None:
            raise SignatureError(
                f"signed by key {signature.key_id}, which this device does not trust; add its public "
                f"key with `latent models trust KEY.pub` (trusted keys live in {self.directory})")
        return public

    def verify(self, bundle: Path, doc: object) -> str:
        """Check `doc` against `bundle`'s header and size; returns the signer's key id."""
        signature = Signature.from_doc(doc, f"signature of {bundle.name}")
        public = self.require_known(signature)
        header, size = read_signed_part(bundle)
        if size != signature.file_size:
            raise SignatureError(f"{bundle.name}: the signature is for a {signature.file_size}-byte file "
                                 f"but the bundle has {size} bytes")
        try:
            public.verify(signature.signature, _message(header, size))
        except InvalidSignature:
            raise SignatureError(
                f"{bundle.name}: the signature by key {signature.key_id} does not match the bundle "
                "(the bundle or its signature was altered, or it was signed for another file)") from None
        return signature.key_id
