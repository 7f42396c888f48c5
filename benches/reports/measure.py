"""Run one command and print its wall time and peak RSS as JSON (for benches/reports/run.sh).

Usage: measure.py OUT_FILE COMMAND...

The command's stdout goes to OUT_FILE, its stderr to OUT_FILE.err. Peak RSS is the child's
`ru_maxrss` (getrusage RUSAGE_CHILDREN): this process runs exactly one child, so it is that
child's own peak. Prints {"seconds": S, "peak_rss_mib": M, "exit": N}.
"""

import json
import resource
import subprocess
import sys
import time


def main() -> None:
    out = sys.argv[1]
    start = time.monotonic()
    with open(out, "wb") as stdout, open(out + ".err", "wb") as stderr:
        status = subprocess.run(sys.argv[2:], stdout=stdout, stderr=stderr).returncode
    seconds = time.monotonic() - start
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"seconds": round(seconds, 3), "peak_rss_mib": round(rss, 1), "exit": status}))


if __name__ == "__main__":
    main()
