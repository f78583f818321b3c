"""`latent keys new|sign|id`: the artist's signing keys (host tools, CLI).

    latent keys new NAME [--dir DIR]     NAME.key (private, mode 0600) and NAME.pub in DIR
                                         (default ~/.config/latent/keys)
    latent keys sign BUNDLE --key KEY    writes BUNDLE.sig beside the bundle (or --out FILE)
    latent keys id KEYFILE               prints the key id of a .pub or .key file

The device accepts a bundle only if its signature is by a key it trusts: copy NAME.pub to the
instrument and run `latent models trust NAME.pub` there once.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from device.cli_options import examples

DEFAULT_DIR = Path("~/.config/latent/keys")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("keys", help="make signing keys and sign bundles",
                            description="Make the artist's signing keys and sign bundles with them; the "
                                        "instrument trusts a key with `latent models trust NAME.pub`.",
                            **examples("latent keys new me", "latent keys sign models/gan-medium.bundle "
                                       "--key ~/.config/latent/keys/me.key"))
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    new = actions.add_parser("new", help="make a new ed25519 signing key pair",
                             description="Make a new ed25519 signing key pair: NAME.key (private, mode "
                                         "0600) and NAME.pub in DIR.",
                             **examples("latent keys new me"))
    new.add_argument("name", help="key name (file names NAME.key and NAME.pub)")
    new.add_argument("--dir", default=str(DEFAULT_DIR), help=f"where to put the keys (default {DEFAULT_DIR})")
    new.set_defaults(func=_new)
    sign = actions.add_parser("sign", help="write a detached signature BUNDLE.sig",
                              description="Write a detached signature of a bundle (BUNDLE.sig beside it, "
                                          "or --out FILE).",
                              **examples("latent keys sign models/gan-medium.bundle "
                                         "--key ~/.config/latent/keys/me.key"))
    sign.add_argument("bundle", help="bundle file")
    sign.add_argument("--key", required=True, metavar="KEYFILE", help="private key from `latent keys new`")
    sign.add_argument("--out", metavar="FILE", help="signature file (default: BUNDLE.sig)")
    sign.set_defaults(func=_sign)
    kid = actions.add_parser("id", help="print the key id of a public or private key file",
                             description="Print the key id of a public (.pub) or private (.key) key file.",
                             **examples("latent keys id ~/.config/latent/keys/me.pub"))
    kid.add_argument("keyfile", help="a .pub or .key file")
    kid.set_defaults(func=_id)


def _new(args: argparse.Namespace) -> int:
    from device.errors import SignatureError
    from device.store.layout import check_bundle_name
    from device.store.signature import key_id, new_private_key, public_key_line, save_private_key

    try:
        check_bundle_name(args.name)
    except ValueError:
        raise SignatureError(f"key name {args.name!r}: use letters, digits and . _ + - only") from None
    # Absolute, so that the paths printed below are where the keys are, whatever the directory.
    directory = Path(args.dir).expanduser().absolute()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    private, public = directory / f"{args.name}.key", directory / f"{args.name}.pub"
    for path in (private, public):
        if path.exists():
            raise SignatureError(f"{path} already exists; pick another name (keys are never overwritten)")
    key = new_private_key()
    save_private_key(key, private)
    public.write_text(public_key_line(key.public_key(), args.name), encoding="utf-8")
    print(f"key {key_id(key.public_key())}\n  private: {private} (keep it secret)\n  public:  {public}\n"
          f"Sign when flashing: latent flash BUNDLE --to URL --key {private}\n"
          f"On the instrument, once: copy {public} to it (e.g. with scp) and run there: "
          f"latent models trust {public.name}")
    return 0


def _sign(args: argparse.Namespace) -> int:
    from device.bundle.reader import open_bundle
    from device.store.fsops import RealFs, write_atomic
    from device.store.signature import load_private_key, sign_bundle, signature_bytes, signature_path

    bundle = Path(args.bundle)
    with open_bundle(bundle):  # sign only what the device would accept as a bundle
        pass
    doc = sign_bundle(bundle, load_private_key(Path(args.key)))
    out = Path(args.out) if args.out else signature_path(bundle)
    write_atomic(RealFs(), out, signature_bytes(doc), "signature")
    print(f"signed {bundle.name} with key {doc['key_id']} -> {out}")
    return 0


def _id(args: argparse.Namespace) -> int:
    from device.errors import SignatureError
    from device.safe_read import read_text
    from device.store.signature import MAX_KEY_FILE_BYTES, key_id, load_private_key, parse_public_key

    path = Path(args.keyfile)
    text = read_text(path, max_bytes=MAX_KEY_FILE_BYTES, what="a key file", error=SignatureError)
    if "PRIVATE KEY" in text:
        public = load_private_key(path).public_key()
    else:
        public = parse_public_key(text, str(path))
    print(key_id(public))
    return 0
