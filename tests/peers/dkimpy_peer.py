#!/usr/bin/env python3
"""dkimpy as a peer oracle for mailauth's interop tests (tests/interop.rs).

    dkimpy_peer.py sign --domain D --selector S --key FILE --algorithm A --canon H/B < msg > signed
    dkimpy_peer.py verify --dns RECORDS.json < msg        -> JSON list, one entry per signature

RECORDS.json maps a DNS name (no trailing dot) to the TXT value mailauth's resolver returned for
it, so dkimpy answers from the same zone data mailauth used. The key file for Ed25519 may be
PKCS#8 PEM (converted here to the raw seed dkimpy takes) or dkimpy's own base64 seed.
"""
import argparse
import base64
import json
import sys

import dkim


def ed25519_seed(data: bytes) -> bytes:
    text = data.decode("ascii").strip()
    if text.startswith("-----BEGIN PRIVATE KEY-----"):
        body = "".join(l for l in text.splitlines() if not l.startswith("-----"))
        der = base64.b64decode(body)
        # PKCS#8 Ed25519 (RFC 8410): the 32-byte seed is the last OCTET STRING.
        return base64.b64encode(der[-32:])
    return text.encode("ascii")


def sign(args):
    message = sys.stdin.buffer.read()
    key = open(args.key, "rb").read()
    alg = args.algorithm.encode()
    if alg == b"ed25519-sha256":
        key = ed25519_seed(key)
    header, body = args.canon.split("/")
    signature = dkim.sign(
        message,
        args.selector.encode(),
        args.domain.encode(),
        key,
        canonicalize=(header.encode(), body.encode()),
        signature_algorithm=alg,
        include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
    )
    sys.stdout.buffer.write(signature + message)


def verify(args):
    records = json.load(open(args.dns))
    message = sys.stdin.buffer.read()

    def dnsfunc(name, timeout=5):
        key = name.decode().rstrip(".").lower()
        value = records.get(key)
        return value.encode("latin-1") if value is not None else None

    d = dkim.DKIM(message)
    count = sum(1 for (k, _) in d.headers if k.lower() == b"dkim-signature")
    results = []
    for idx in range(count):
        try:
            ok = d.verify(idx=idx, dnsfunc=dnsfunc)
            results.append({"pass": bool(ok), "error": None})
        except dkim.DKIMException as e:
            results.append({"pass": False, "error": str(e)})
    print(json.dumps(results))


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("sign")
    s.add_argument("--domain", required=True)
    s.add_argument("--selector", required=True)
    s.add_argument("--key", required=True)
    s.add_argument("--algorithm", default="rsa-sha256")
    s.add_argument("--canon", default="relaxed/relaxed")
    v = sub.add_parser("verify")
    v.add_argument("--dns", required=True)
    args = parser.parse_args()
    {"sign": sign, "verify": verify}[args.command](args)


if __name__ == "__main__":
    main()
