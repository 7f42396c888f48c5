"""Generate the Maildir for the batch verification benchmark (seeded: the same messages every run).

Usage: .venv/bin/python generate.py OUT_DIR [COUNT (10000)] [SEED (14)]

Writes, under OUT_DIR:
  keys/SELECTOR.DOMAIN.pem   private keys, made now with `openssl genpkey` (RSA-2048 and Ed25519)
  zone.txt                   every published key record (RFC 6376 §3.6.2.2 names,
                             SELECTOR._domainkey.DOMAIN) and a DMARC record per signing domain
  maildir/{cur,new,tmp}/     COUNT messages, one file each (most in cur/ with a `:2,S` flag
                             suffix, a tenth in new/), tmp/ left empty as a delivery agent leaves it
  expected.json              what the generator made: how many should pass, were tampered, were
                             signed with an unpublished selector

Messages: realistic header blocks (Return-Path, two Received, DKIM-signed From/To/Subject/Date/
Message-ID/MIME-Version/Content-Type, List-Unsubscribe on newsletters), three size classes (60 %
about 2 KB, 30 % 10-30 KB, 10 % 100-200 KB; the larger ones multipart with a base64 attachment),
text with runs of spaces, tabs and trailing whitespace so relaxed canonicalization (RFC 6376
§3.4.4) has work to do. Each is signed relaxed/relaxed by dkimpy with one of about forty keys
across thirty signing domains (RSA-2048 and Ed25519-SHA256, RFC 8463), so a key cache holds many
keys. About 5 % have their body changed after signing (body hash mismatch, RFC 6376 §3.7) and
about 3 % are signed under a selector with no key record (RFC 6376 §6.1.2: no key).

The message text is a function of SEED and the message number only; the keys (and so the
signature bytes) are new every run. Signing runs on every CPU (multiprocessing). Prints the size
distribution and the mix on stderr.
"""

import base64
import json
import multiprocessing
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import dkim

SIGNED = [b"from", b"to", b"subject", b"date", b"message-id", b"mime-version", b"content-type"]
WORDS = (
    "the of and to in is you that it he was for on are as with his they at be this have from or "
    "one had by word but not what all were we when your can said there use an each which she do "
    "how their if will up other about out many then them these so some her would make like him "
    "into time has look two more write go see number no way could people my than first water been "
    "call who oil its now find long down day did get come made may part invoice order shipment "
    "account meeting quarterly report newsletter update schedule release notes ticket customer"
).split()
FIRST = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
         "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter"]
SUBJECTS = ["Your order {n} has shipped", "Weekly digest #{n}", "Re: meeting notes ({n})",
            "Invoice {n} for November", "[list] release {n} announced", "Password reset request",
            "Fwd: quarterly report draft {n}", "Welcome aboard!", "Ticket #{n} updated"]
TLDS = ["example", "example.com", "example.net", "example.org"]


# ----------------------------------------------------------------------------------------------
# Keys and zone


def signing_domains(rng):
    """Thirty signing domains; each gets one or two selectors, RSA-2048 or Ed25519."""
    names = [f"{w}{i}.{rng.choice(TLDS)}" for i, w in enumerate(
        ["shop", "news", "bank", "mail", "travel", "games", "cloud", "media", "school", "clinic"] * 3)]
    domains = []
    for i, name in enumerate(names):
        selectors = []
        for s in range(1 + (i % 3 == 0)):
            kind = "ed25519" if rng.random() < 0.35 else "rsa"
            selectors.append((f"{'ed' if kind == 'ed25519' else 's'}{2026 - s}{chr(97 + i % 26)}", kind))
        domains.append((name, selectors))
    return domains


def make_key(path: Path, kind: str):
    """A new private key from openssl; returns (key for dkimpy, p= value)."""
    args = ["openssl", "genpkey", "-out", str(path)]
    args += ["-algorithm", "ED25519"] if kind == "ed25519" else [
        "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]
    subprocess.run(args, check=True, stderr=subprocess.DEVNULL)
    spki = subprocess.run(["openssl", "pkey", "-in", str(path), "-pubout", "-outform", "DER"],
                          check=True, capture_output=True).stdout
    pem = path.read_bytes()
    if kind == "rsa":
        return pem, base64.b64encode(spki).decode()
    # RFC 8463 §4.2: p= is the bare 32-byte public key; dkimpy signs with the base64 seed, which
    # is the last 32 bytes of the PKCS#8 DER (RFC 8410 §7).
    der = base64.b64decode("".join(l for l in pem.decode().splitlines() if not l.startswith("-")))
    return base64.b64encode(der[-32:]), base64.b64encode(spki[-32:]).decode()


def txt_strings(value: str) -> str:
    """A TXT value as quoted character-strings of at most 255 bytes (RFC 1035 §3.3.14)."""
    return " ".join(f'"{value[i:i + 255]}"' for i in range(0, len(value), 255))


def make_keys(out: Path, domains):
    """Key files, the zone, and the list of (domain, selector, algorithm, key) signers."""
    (out / "keys").mkdir(parents=True, exist_ok=True)
    zone = ["; Key and DMARC records for the batch verification benchmark (generate.py)."]
    signers = []
    for i, (domain, selectors) in enumerate(domains):
        for selector, kind in selectors:
            key, public = make_key(out / "keys" / f"{selector}.{domain}.pem", kind)
            record = f"v=DKIM1; k={kind}; p={public}"
            zone.append(f"{selector}._domainkey.{domain}. 3600 IN TXT {txt_strings(record)}")
            alg = b"ed25519-sha256" if kind == "ed25519" else b"rsa-sha256"
            signers.append((domain, selector, alg, key))
        policy = ["none", "quarantine", "reject"][i % 3]
        zone.append(f'_dmarc.{domain}. 3600 IN TXT "v=DMARC1; p={policy}; rua=mailto:dmarc@{domain}"')
    (out / "zone.txt").write_text("\n".join(zone) + "\n")
    return signers


# ----------------------------------------------------------------------------------------------
# Messages


def text_lines(rng, size: int) -> list:
    """CRLF text lines of about `size` bytes, with the whitespace relaxed canonicalization folds."""
    lines, total = [], 0
    while total < size:
        if rng.random() < 0.08:
            line = ""
        else:
            words = [rng.choice(WORDS) for _ in range(rng.randint(4, 14))]
            seps = [rng.choice([" ", " ", " ", "  ", "\t", " \t "]) for _ in words]
            line = "".join(w + s for w, s in zip(words, seps)).rstrip(" \t")
            line += rng.choice(["", "", "", " ", "  ", "\t"])
        lines.append(line)
        total += len(line) + 2
    return lines


def size_class(rng):
    roll = rng.random()
    if roll < 0.6:
        return rng.randint(1000, 2000)
    if roll < 0.9:
        return rng.randint(10_000, 30_000)
    return rng.randint(100_000, 200_000)


def body_for(rng, size: int, boundary: str):
    """(Content-Type value, body bytes) of about `size` bytes."""
    if size < 8000:
        return 'text/plain; charset="utf-8"', "\r\n".join(text_lines(rng, size)).encode() + b"\r\n\r\n"
    text = text_lines(rng, min(size // 5, 6000))
    blob = base64.b64encode(rng.randbytes(max(0, size - 6000 - 600) * 3 // 4)).decode()
    attachment = [blob[i:i + 76] for i in range(0, len(blob), 76)]
    parts = [
        f"--{boundary}", 'Content-Type: text/plain; charset="utf-8"', "", *text,
        f"--{boundary}", "Content-Type: application/pdf; name=\"report.pdf\"",
        "Content-Transfer-Encoding: base64",
        'Content-Disposition: attachment; filename="report.pdf"', "", *attachment,
        f"--{boundary}--", "",
    ]
    return f'multipart/mixed;\r\n\tboundary="{boundary}"', "\r\n".join(parts).encode()


def make_message(seed: int, n: int, signers, start: int):
    """Message n: (file name, signed bytes, kind) where kind is pass, tampered or unknown."""
    rng = random.Random(seed * 1_000_003 + n)
    domain, selector, alg, key = signers[rng.randrange(len(signers))]
    roll = rng.random()
    kind = "tampered" if roll < 0.05 else "unknown" if roll < 0.08 else "pass"
    if kind == "unknown":
        selector = f"retired{rng.randint(2015, 2024)}"
    when = start + n * 7
    date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(when))
    sender = f"{rng.choice(FIRST)}@{domain}"
    to = f"{rng.choice(FIRST).title()} {rng.choice(FIRST).title()} <{rng.choice(FIRST)}@{rng.choice(['example.com', 'example.org'])}>"
    subject = rng.choice(SUBJECTS).format(n=rng.randint(1000, 99999))
    content_type, body = body_for(rng, size_class(rng), f"=_bench_{n:05d}_{rng.randrange(1 << 32):08x}")
    ip = f"192.0.2.{rng.randint(1, 254)}"
    head = [
        f"Return-Path: <bounce-{n}@{domain}>",
        f"Received: from mx{rng.randint(1, 9)}.{domain} (mx.{domain} [{ip}])\r\n\tby mx.example.com with ESMTPS id {rng.randrange(1 << 40):010x}\r\n\tfor <user@example.com>; {date}",
        f"Received: from localhost (localhost [127.0.0.1])\r\n\tby mx{rng.randint(1, 9)}.{domain}; {date}",
        f"From: {sender.split('@')[0].title()} <{sender}>",
        f"To: {to}",
        f"Subject:  {subject}",
        f"Date: {date}",
        f"Message-ID: <{rng.randrange(1 << 48):012x}.{n}@{domain}>",
        "MIME-Version: 1.0",
        f"Content-Type: {content_type}",
    ]
    if rng.random() < 0.3:
        head.append(f"List-Unsubscribe: <https://{domain}/unsubscribe?u={rng.randrange(1 << 32)}>")
    message = ("\r\n".join(head) + "\r\n\r\n").encode() + body
    signature = dkim.sign(message, selector.encode(), domain.encode(), key,
                          canonicalize=(b"relaxed", b"relaxed"), signature_algorithm=alg,
                          include_headers=SIGNED)
    signed = signature + message
    if kind == "tampered":
        # A body change after signing: one word of the first body line replaced.
        cut = signed.index(b"\r\n\r\n") + 4
        signed = signed[:cut] + b"TAMPERED " + signed[cut:]
    folder = "new" if rng.random() < 0.1 else "cur"
    suffix = "" if folder == "new" else ":2,S"
    name = f"{folder}/{when}.M{n:05d}P{1000 + n % 9000}.bench.example{suffix}"
    return name, signed, kind


_SIGNERS = None


def _init(signers):
    global _SIGNERS
    _SIGNERS = signers


def _write(task):
    seed, n, start, maildir = task
    name, data, kind = make_message(seed, n, _SIGNERS, start)
    path = Path(maildir) / name
    tmp = Path(maildir) / "tmp" / path.name
    tmp.write_bytes(data)
    os.replace(tmp, path)  # Maildir delivery: write in tmp/, then rename into place
    return len(data), kind


def main() -> None:
    out = Path(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 14
    maildir = out / "maildir"
    for sub in ["cur", "new", "tmp"]:
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    signers = make_keys(out, signing_domains(random.Random(seed)))
    start = 1_795_000_000  # 2026-11-18: message dates; signatures carry the signing time as t=
    tasks = [(seed, n, start, str(maildir)) for n in range(count)]
    with multiprocessing.Pool(os.cpu_count(), initializer=_init, initargs=(signers,)) as pool:
        made = pool.map(_write, tasks, chunksize=64)
    sizes = sorted(size for size, _ in made)
    kinds = {k: sum(1 for _, kind in made if kind == k) for k in ["pass", "tampered", "unknown"]}
    (out / "expected.json").write_text(json.dumps({"messages": count, **kinds}) + "\n")
    classes = [("< 8 KB", 0, 8_000), ("8-50 KB", 8_000, 50_000), ("> 50 KB", 50_000, 1 << 40)]
    print(f"generate.py: {count} messages in {maildir}, {len(signers)} keys "
          f"({sum(1 for s in signers if s[2] == b'rsa-sha256')} RSA-2048, "
          f"{sum(1 for s in signers if s[2] != b'rsa-sha256')} Ed25519) over "
          f"{len({s[0] for s in signers})} domains; {sum(sizes) / 2**20:.1f} MiB", file=sys.stderr)
    for label, lo, hi in classes:
        inside = [s for s in sizes if lo <= s < hi]
        if inside:
            print(f"  {label:>8}: {len(inside):5} ({100 * len(inside) / count:4.1f} %), "
                  f"{min(inside)}-{max(inside)} bytes", file=sys.stderr)
    print(f"  median {sizes[len(sizes) // 2]} bytes; expected: {kinds}", file=sys.stderr)


if __name__ == "__main__":
    main()
