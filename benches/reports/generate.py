"""Generate DMARC aggregate reports for the ingest benchmark (seeded: the same files every run).

Usage: generate.py OUT_DIR [COUNT (10000)] [SEED (15)]

Each report is an RFC 7489 Appendix C report (one in five in the RFC 9990 namespace) from one of
a dozen reporting organisations, for one of twenty example.* domains, with 1 to 50 records (most
reports small, a few large, as real rua mailboxes are: many receivers send one or two sources a
day, a few big ones send dozens). Record fields vary: IPv4 and IPv6 sources in the documentation
ranges, counts from 1 to thousands, pass and fail results, 0 to 3 DKIM signatures, the optional
envelope_to/envelope_from, override reasons. About 40 % are written gzip-compressed (`.xml.gz`),
the rest as plain `.xml`. Sizes range from about 800 bytes to about 30 KB uncompressed (median about 2.5 KB).

Writes OUT_DIR/NNNNN-org!domain!begin!end.xml[.gz] and prints a one-line summary. The
benchmark's own test data: made here, not by mailauth, and not committed (benches/reports/run.sh
makes it under target/).
"""

import gzip
import random
import sys
from pathlib import Path

ORGS = [
    ("google.com", "noreply-dmarc-support@google.com"),
    ("Enterprise Outlook", "dmarcreport@microsoft.com"),
    ("Yahoo", "dmarchelp@yahooinc.com"),
    ("Mail.Ru", "dmarc_support@corp.mail.ru"),
    ("comcast.net", "dmarc_report@comcast.net"),
    ("receiver-a.example", "dmarc@receiver-a.example"),
    ("receiver-b.example", "rua@receiver-b.example"),
    ("receiver-c.example", "reports@receiver-c.example"),
    ("receiver-d.example", "dmarc@receiver-d.example"),
    ("receiver-e.example", "dmarc@receiver-e.example"),
    ("receiver-f.example", "dmarc@receiver-f.example"),
    ("receiver-g.example", "dmarc@receiver-g.example"),
]
DOMAINS = [f"brand{i}.example" for i in range(10)] + [f"shop{i}.example.org" for i in range(10)]
FOREIGN = ["esp.example.net", "lists.example.org", "crm.example.net", "bulk.example.com"]
REASONS = ["forwarded", "mailing_list", "local_policy", "trusted_forwarder", "other"]
START = 1790208000  # 2026-09-24T00:00:00Z


def source_ip(rng):
    kind = rng.random()
    if kind < 0.75:
        net = rng.choice(["192.0.2", "198.51.100", "203.0.113"])
        return f"{net}.{rng.randrange(1, 255)}"
    return f"2001:db8:{rng.randrange(0, 0xffff):x}::{rng.randrange(1, 0xffff):x}"


def record_count(rng):
    """Records per report: half have 1 to 3, a tail goes up to 50."""
    roll = rng.random()
    if roll < 0.5:
        return rng.randint(1, 3)
    if roll < 0.85:
        return rng.randint(4, 15)
    return rng.randint(16, 50)


def record(rng, domain, rfc9990):
    aligned_dkim = rng.random() < 0.7
    aligned_spf = rng.random() < 0.6
    passed = aligned_dkim or aligned_spf
    if passed:
        disposition = "pass" if rfc9990 else "none"
    else:
        disposition = rng.choice(["none", "none", "quarantine", "reject"])
    reason = ""
    if not passed and rng.random() < 0.2:
        reason = f"<reason><type>{rng.choice(REASONS)}</type><comment></comment></reason>"
    count = rng.choice([1, 1, 2, 3, 5, 8, 13, 40, 120, 900, 4000])
    foreign = rng.choice(FOREIGN)
    ids = [f"<header_from>{domain}</header_from>"]
    if rng.random() < 0.5:
        ids.insert(0, f"<envelope_to>{rng.choice(DOMAINS)}</envelope_to>")
    if rng.random() < 0.6:
        ids.append(f"<envelope_from>{domain if aligned_spf else foreign}</envelope_from>")
    dkims = []
    for i in range(rng.choice([0, 1, 1, 1, 2, 3])):
        d = domain if (i == 0 and aligned_dkim) else foreign
        result = "pass" if (d != domain or aligned_dkim) else rng.choice(["fail", "permerror"])
        dkims.append(
            f"<dkim><domain>{d}</domain><selector>s{rng.randrange(1, 9)}</selector>"
            f"<result>{result}</result></dkim>"
        )
    spf_domain = domain if aligned_spf else foreign
    spf_result = "pass" if aligned_spf else rng.choice(["pass", "fail", "softfail", "none"])
    return (
        "  <record>\n"
        f"    <row><source_ip>{source_ip(rng)}</source_ip><count>{count}</count>"
        f"<policy_evaluated><disposition>{disposition}</disposition>"
        f"<dkim>{'pass' if aligned_dkim else 'fail'}</dkim>"
        f"<spf>{'pass' if aligned_spf else 'fail'}</spf>{reason}</policy_evaluated></row>\n"
        f"    <identifiers>{''.join(ids)}</identifiers>\n"
        f"    <auth_results>{''.join(dkims)}<spf><domain>{spf_domain}</domain>"
        f"<scope>mfrom</scope><result>{spf_result}</result></spf></auth_results>\n"
        "  </record>\n"
    )


def report(rng, index):
    org, email = rng.choice(ORGS)
    domain = rng.choice(DOMAINS)
    rfc9990 = rng.random() < 0.2
    begin = START + rng.randrange(0, 60) * 86400
    end = begin + 86399
    namespace = ' xmlns="urn:ietf:params:xml:ns:dmarc-2.0"' if rfc9990 else ""
    p = rng.choice(["none", "quarantine", "reject"])
    extra = "<np>none</np><testing>n</testing><discovery_method>psl</discovery_method>" if rfc9990 \
        else "<pct>100</pct>"
    head = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<feedback{namespace}>\n'
        "  <version>1.0</version>\n"
        f"  <report_metadata><org_name>{org}</org_name><email>{email}</email>"
        f"<report_id>bench-{index:05d}-{rng.getrandbits(48):012x}</report_id>"
        f"<date_range><begin>{begin}</begin><end>{end}</end></date_range></report_metadata>\n"
        f"  <policy_published><domain>{domain}</domain><adkim>r</adkim><aspf>r</aspf>"
        f"<p>{p}</p><sp>{p}</sp>{extra}</policy_published>\n"
    )
    body = "".join(record(rng, domain, rfc9990) for _ in range(record_count(rng)))
    safe_org = org.replace(" ", "_")
    return f"{index:05d}-{safe_org}!{domain}!{begin}!{end}.xml", head + body + "</feedback>\n"


def main() -> None:
    out = Path(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 15
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    sizes = []
    compressed = 0
    for index in range(count):
        name, xml = report(rng, index)
        data = xml.encode()
        sizes.append(len(data))
        if rng.random() < 0.4:
            compressed += 1
            (out / (name + ".gz")).write_bytes(gzip.compress(data, mtime=0))
        else:
            (out / name).write_bytes(data)
    sizes.sort()
    print(
        f"{count} reports in {out}: {compressed} gzip; XML size min {sizes[0]} B, "
        f"median {sizes[len(sizes) // 2]} B, max {sizes[-1]} B, total {sum(sizes) // 1024} KiB"
    )


if __name__ == "__main__":
    main()
