"""checkdmarc's RFC 9989 DMARC policy discovery, asked over a test DNS server on loopback.

Usage: checkdmarc_peer.py IP PORT < domains (one per line)
Prints one JSON object: {domain: location} where location is the domain whose _dmarc record
applies, or "none" (no record), or "error:<class>" when checkdmarc raised.
"""

import json
import sys

import dns.nameserver
from checkdmarc import dmarc


def main() -> None:
    ip, port = sys.argv[1], int(sys.argv[2])
    nameservers = [dns.nameserver.Do53Nameserver(ip, port=port)]
    answers = {}
    for line in sys.stdin:
        domain = line.strip()
        if not domain:
            continue
        try:
            found = dmarc.query_dmarc_record(domain, nameservers=nameservers, timeout=2.0)
            answers[domain] = found["location"]
        except dmarc.DMARCRecordNotFound:
            answers[domain] = "none"
        except Exception as error:  # each checkdmarc refusal is reported by its class
            answers[domain] = f"error:{type(error).__name__}"
    json.dump(answers, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main()
