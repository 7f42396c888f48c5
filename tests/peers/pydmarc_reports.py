"""Produce DMARC aggregate reports with an independent producer: the `dmarc` PyPI package.

Usage: pydmarc_reports.py OUT_DIR

Each scenario below is a list of messages as a receiver saw them: the connecting IP, the
RFC5322.From domain, the envelope domains, and the raw SPF and DKIM results. The `dmarc`
package evaluates each message against the published DMARC record (alignment, disposition,
the testing-mode override), its report classes gather the messages into records, and its
bundled XML schemas (RFC 7489 Appendix C and the RFC 9990 `dmarc-2.0` namespace) serialise the
report. Nothing here decides a DMARC result: only the message inputs are written by hand.

Run once by hand; the outputs are committed under testdata/reports/pydmarc/ (see testdata/reports.SOURCE).
"""

import ipaddress
import sys
import xml.etree.ElementTree as ET
from collections import OrderedDict
from decimal import Decimal
from pathlib import Path

from dmarc import (
    DMARC,
    AuthResults,
    DateRange,
    DKIMAuthResult,
    DKIMResult,
    DMARCActionDisposition,
    DMARCDiscovery,
    DMARCDisposition,
    DMARCPolicyOverride,
    DMARCTesting,
    Identifiers,
    PolicyEvaluated,
    PolicyOverrideReason,
    PolicyPublished,
    Record,
    Report,
    ReportMetadata,
    Row,
    SPFAuthResult,
    SPFDomainScope,
    SPFResult,
)
from dmarc.report import DMARC2Schema, DMARCSchema
from xmlschema import etree_tostring

DAY = 86400
BEGIN = 1790208000  # 2026-09-24T00:00:00Z


def msg(ip, header_from, mail_from, spf, dkim, envelope_to=None):
    """One message: spf is a result word for mail_from; dkim a list of (d=, selector, result)."""
    if ":" in ip:
        # the schemas' IPv6 pattern wants all eight groups: write them without "::"
        ip = ":".join(format(int(g, 16), "x") for g in ipaddress.IPv6Address(ip).exploded.split(":"))
    return {
        "ip": ip,
        "from": header_from,
        "mail_from": mail_from,
        "spf": spf,
        "dkim": dkim,
        "to": envelope_to,
    }


SCENARIOS = [
    {
        "file": "pydmarc-rfc7489-example.com.xml",
        "schema": "7489",
        "org": "Receiver One (pydmarc)",
        "email": "dmarc-reports@receiver-one.example",
        "report_id": "r1-2026-09-24-example.com",
        "record": "v=DMARC1; p=none; rua=mailto:dmarc@example.com",
        "domain": "example.com",
        "day": 0,
        "messages": (
            [msg("192.0.2.10", "example.com", "example.com", "pass",
                 [("example.com", "s2026", "pass")])] * 14
            + [msg("198.51.100.7", "example.com", "bounce.esp.example.net", "pass",
                   [("esp.example.net", "esp1", "pass")])] * 5
            + [msg("203.0.113.5", "example.com", "lists.example.org", "fail",
                   [("example.com", "s2026", "pass")])] * 3
            + [msg("2001:db8::25", "example.com", "example.com", "softfail", [])] * 2
            + [msg("198.51.100.99", "example.com", "mail.example.com", "pass",
                   [("example.com", "s2026", "fail")])]
        ),
    },
    {
        "file": "pydmarc-rfc9990-example.org.xml",
        "schema": "9990",
        "org": "Receiver Two (pydmarc)",
        "email": "noreply-dmarc@receiver-two.example",
        "report_id": "r2.20260925.example.org",
        "record": "v=DMARC1; p=quarantine; sp=none; t=y; adkim=s",
        "domain": "example.org",
        "day": 1,
        "testing": True,
        "messages": (
            [msg("192.0.2.20", "example.org", "example.org", "pass",
                 [("example.org", "k1", "pass")], "example.net")] * 9
            + [msg("192.0.2.21", "example.org", "example.org", "fail",
                   [("mail.example.org", "k1", "pass")], "example.net")] * 4
            + [msg("2001:db8:5::1", "example.org", "other.example", "pass",
                   [("other.example", "sel", "pass"), ("example.org", "k1", "fail")],
                   "example.net")] * 2
        ),
    },
    {
        "file": "pydmarc-rfc7489-reject.example.xml",
        "schema": "7489",
        "org": "Receiver Three (pydmarc)",
        "email": "dmarc@receiver-three.example",
        "report_id": "r3-0001",
        "record": "v=DMARC1; p=reject; aspf=s; pct=100",
        "domain": "reject.example",
        "day": 2,
        "messages": (
            [msg("203.0.113.40", "reject.example", "reject.example", "pass",
                 [("reject.example", "a", "pass")])] * 30
            + [msg("203.0.113.41", "reject.example", "bounces.reject.example", "pass",
                   [])] * 6
            + [msg("198.51.100.200", "reject.example", "spoof.example", "fail",
                   [("spoof.example", "x", "pass")])] * 11
            + [msg("2001:db8:ff::7", "reject.example", "reject.example", "temperror",
                   [("reject.example", "a", "temperror")])]
        ),
    },
]


def evaluate(scenario, message):
    """The `dmarc` package's verdict for one message."""
    dmarc = DMARC()
    policy = dmarc.parse_record(scenario["record"], domain=message["from"])
    spf = SPFAuthResult(message["mail_from"], SPFResult(message["spf"]), SPFDomainScope.MFROM)
    dkim = [DKIMAuthResult(d, DKIMResult(r), selector=s) for d, s, r in message["dkim"]]
    result = dmarc.get_result(
        policy,
        auth_results=AuthResults(spf=spf, dkim=dkim or None),
        allow_policy_test_mode=scenario.get("testing", False),
    )
    return policy, spf, dkim, result


def build(scenario):
    rows = OrderedDict()
    policy = None
    for message in scenario["messages"]:
        policy, spf, dkim, result = evaluate(scenario, message)
        disposition = result.disposition.value or "none"
        if scenario["schema"] == "9990" and result.result.value == "pass":
            disposition = "pass"
        key = (message["ip"], message["from"], message["mail_from"], message["spf"],
               tuple(message["dkim"]), message["to"], disposition, result.spf.value,
               result.dkim.value, result.reason)
        entry = rows.setdefault(key, {"count": 0, "spf": spf, "dkim": dkim, "result": result,
                                      "message": message, "disposition": disposition})
        entry["count"] += 1
    records = []
    for entry in rows.values():
        message, result = entry["message"], entry["result"]
        reasons = None
        if result.reason is not None:
            reasons = [PolicyOverrideReason(result.reason, "policy published with t=y")]
        evaluated = PolicyEvaluated(DMARCActionDisposition(entry["disposition"]), result.spf,
                                    result.dkim, reasons)
        records.append(Record(
            Row(message["ip"], entry["count"], evaluated),
            Identifiers(message["from"], message["mail_from"], message["to"]),
            AuthResults(spf=entry["spf"], dkim=entry["dkim"] or None),
        ))
    begin = BEGIN + scenario["day"] * DAY
    is9990 = scenario["schema"] == "9990"
    metadata = ReportMetadata(
        org_name=scenario["org"],
        email=scenario["email"],
        report_id=scenario["report_id"],
        date_range=DateRange(begin, begin + DAY - 1),
        generator="pydmarc 1.2.1 (tests/peers/pydmarc_reports.py)" if is9990 else None,
    )
    published = PolicyPublished(
        domain=scenario["domain"],
        p=policy.p,
        sp=policy.sp if policy.sp is not DMARCDisposition.UNSPECIFIED else None,
        np=DMARCDisposition.NONE if is9990 else None,
        adkim=policy.adkim if policy.adkim.value else None,
        aspf=policy.aspf if policy.aspf.value else None,
        pct=(policy.pct if policy.pct >= 0 else None) if not is9990 else None,
        testing=(DMARCTesting.Y if scenario.get("testing") else DMARCTesting.N) if is9990 else None,
        discovery_method=DMARCDiscovery.TREEWALK if is9990 else None,
    )
    return Report(metadata, published, records, version=Decimal("1.0"))


def serialise(scenario, report):
    data = report.as_dict()
    if scenario["schema"] == "9990":
        ET.register_namespace("", DMARC2Schema.target_namespace)
        data = {"@xmlns": DMARC2Schema.target_namespace, **data}
        tree = DMARC2Schema.to_etree(data, use_defaults=False)
    else:
        tree = DMARCSchema.to_etree(data)
    return etree_tostring(tree, encoding="UTF-8", xml_declaration=True)


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for scenario in SCENARIOS:
        xml = serialise(scenario, build(scenario))
        if isinstance(xml, str):
            xml = xml.encode()
        (out / scenario["file"]).write_bytes(xml + b"\n")
        print(out / scenario["file"])


if __name__ == "__main__":
    main()
