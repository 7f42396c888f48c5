"""dkimpy's side of the batch verification benchmark: every message of a Maildir, one process.

Usage: .venv/bin/python dkimpy_loop.py ZONE_FILE MAILDIR

Reads the TXT records of ZONE_FILE (the simple one-record-per-line file generate.py writes:
`NAME TTL IN TXT "string" "string"...`) into a dict, then calls `dkim.verify(message,
dnsfunc=...)` on every file in MAILDIR/cur and MAILDIR/new (tmp/ is skipped: those messages are
not delivered yet), in sorted order, answering DNS from the dict (no network). dkim.verify checks
the first DKIM-Signature (generate.py puts exactly one on each message) and returns True or False.
Prints one JSON object: {"messages": N, "pass": P, "fail": F}.
"""

import json
import os
import sys

import dkim


def read_zone(path: str) -> dict:
    """TXT records by lower-case name without the final dot; strings of one record joined."""
    records = {}
    with open(path, encoding="ascii") as zone:
        for line in zone:
            if line.startswith(";") or " TXT " not in line:
                continue
            name, rest = line.split(None, 1)
            strings = rest.split(" TXT ", 1)[1].strip()
            value = "".join(part for i, part in enumerate(strings.split('"')) if i % 2 == 1)
            records[name.rstrip(".").lower()] = value.encode("ascii")
    return records


def main() -> None:
    records = read_zone(sys.argv[1])

    def dnsfunc(name, timeout=5):
        return records.get(name.decode("ascii").rstrip(".").lower())

    files = []
    for sub in ("cur", "new"):
        folder = os.path.join(sys.argv[2], sub)
        files += [os.path.join(folder, n) for n in os.listdir(folder) if not n.startswith(".")]
    files.sort()
    passed = 0
    for path in files:
        with open(path, "rb") as f:
            message = f.read()
        if dkim.verify(message, dnsfunc=dnsfunc):
            passed += 1
    print(json.dumps({"messages": len(files), "pass": passed, "fail": len(files) - passed}))


if __name__ == "__main__":
    main()
