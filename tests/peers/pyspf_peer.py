#!/usr/bin/env python3
"""pyspf as a peer oracle for mailauth's SPF differential test (tests/spf.rs) and benchmark.

    pyspf_peer.py ZONEFILE < queries.json   -> JSON list of [result, explanation]
    pyspf_peer.py ZONEFILE --serve          -> reads "N IP SENDER HELO" lines, runs check2 N
                                               times, prints "RESULT NANOSECONDS" (benches)

queries.json is a list of {"ip", "sender", "helo"}. pyspf's DNS is replaced by answers from
ZONEFILE, parsed with dnspython, so pyspf sees exactly the zone data mailauth reads.
"""
import json
import sys

import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.zone
import spf

spf.MAX_LOOKUP = 10
spf.MAX_VOID_LOOKUPS = 2

ZONE = dns.zone.from_file(sys.argv[1], relativize=False, check_origin=False)


def rdatas(name, qtype):
    node = ZONE.get_node(dns.name.from_text(name))
    if node is None:
        return None
    rds = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.from_text(qtype))
    if rds is None:
        cname = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.CNAME)
        if cname is not None and qtype != "CNAME":
            return rdatas(cname[0].target.to_text(), qtype)
        return []
    return list(rds)


def lookup(name, qtype, tcpfallback=True, timeout=30):
    out = []
    for r in rdatas(name, qtype) or []:
        if qtype in ("A", "AAAA"):
            out.append(((name, qtype), r.address))
        elif qtype == "MX":
            out.append(((name, qtype), (r.preference, r.exchange)))
        elif qtype == "PTR":
            out.append(((name, qtype), r.target.to_text(True)))
        elif qtype in ("TXT", "SPF"):
            out.append(((name, qtype), list(r.strings)))
    return out


spf.DNSLookup = lookup


def serve():
    import time

    for line in sys.stdin:
        n, ip, sender, helo = line.split()
        start = time.perf_counter_ns()
        for _ in range(int(n)):
            result, _explanation = spf.check2(i=ip, s=sender, h=helo)
        print(result, time.perf_counter_ns() - start, flush=True)


if len(sys.argv) > 2 and sys.argv[2] == "--serve":
    serve()
else:
    results = []
    for q in json.load(sys.stdin):
        result, explanation = spf.check2(i=q["ip"], s=q["sender"], h=q["helo"])
        results.append([result, explanation])
    print(json.dumps(results))
