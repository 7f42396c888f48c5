"""parsedmarc's side of the ingest benchmark: parse every report file of a directory in one process.

Usage: parsedmarc_ingest.py DIR

Each file goes to `parsedmarc.parse_report_file` (which unpacks gzip and parses the XML into its
report dict), offline (no DNS, no IP database download), with nothing saved anywhere: this is
parsedmarc's parsing cost alone, the part comparable to `mailauth reports ingest` less its SQLite
writes. Prints {"files": N, "aggregate": N, "errors": N} as JSON.
"""

import json
import logging
import os
import sys

import parsedmarc


def main() -> None:
    logging.disable(logging.CRITICAL)
    directory = sys.argv[1]
    files = aggregate = errors = 0
    for name in sorted(os.listdir(directory)):
        if name.startswith("."):
            continue
        files += 1
        try:
            parsed = parsedmarc.parse_report_file(
                os.path.join(directory, name),
                offline=True,
                always_use_local_files=True,
            )
            aggregate += parsed["report_type"] == "aggregate"
        except Exception:  # counted: the benchmark reports refusals, it does not stop on them
            errors += 1
    print(json.dumps({"files": files, "aggregate": aggregate, "errors": errors}))


if __name__ == "__main__":
    main()
