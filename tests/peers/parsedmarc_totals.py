"""parsedmarc's reading of a set of report files: per report, the totals mailauth must agree on.

Usage: parsedmarc_totals.py PATH...

Each PATH is a file or a directory (walked in name order, dotfiles left out). A file ending in `.mbox` is read with parsedmarc's mbox reader; a
directory holding `cur/`, `new/` and `tmp/` is a Maildir, whose messages in `new/` and `cur/`
are each given to `parse_report_file` (parsedmarc's own Maildir connection moves messages into
archive folders, so it is not used on the committed test data). Every other file goes to
`parse_report_file`, which unpacks gzip and zip and reads report mail itself.

Prints one JSON object: {"reports": [...], "errors": [{"origin", "error"}]} (errors: each file
parsedmarc refused, with its reason), reports sorted by
(org_name, report_id). An aggregate report is {"kind": "aggregate", "origin", "org_name",
"report_id", "domain", "records", "messages", "dmarc_pass", "spf_aligned_pass",
"dkim_aligned_pass"}, the counts being parsedmarc's: `records` is the length of its record list,
`messages` the sum of each record's `count`, and a record's count goes to `dmarc_pass`,
`spf_aligned_pass`, `dkim_aligned_pass` when its `alignment.dmarc`, `.spf`, `.dkim` is true
(parsedmarc sets those from `policy_evaluated`: spf or dkim equal to "pass"). A TLS report is
{"kind": "tls", "origin", "org_name", "report_id", "policies", "successful_sessions",
"failed_sessions"} from the policies' summaries.

parsedmarc runs offline (no DNS, no IP database download), and with a timespan threshold far
beyond any report so that it never splits a record across days (its default splits reports
longer than 24 hours, which would change `records` though not the message counts).
"""

import json
import logging
import os
import sys

import parsedmarc

OPTIONS = {
    "offline": True,
    "always_use_local_files": True,
    "normalize_timespan_threshold_hours": 1e9,
}


def aggregate_totals(origin, report):
    records = report["records"]
    totals = {
        "kind": "aggregate",
        "origin": origin,
        "org_name": report["report_metadata"]["org_name"],
        "report_id": report["report_metadata"]["report_id"],
        "domain": report["policy_published"]["domain"],
        "records": len(records),
        "messages": 0,
        "dmarc_pass": 0,
        "spf_aligned_pass": 0,
        "dkim_aligned_pass": 0,
    }
    for record in records:
        count = int(record["count"])
        totals["messages"] += count
        alignment = record["alignment"]
        totals["dmarc_pass"] += count if alignment["dmarc"] else 0
        totals["spf_aligned_pass"] += count if alignment["spf"] else 0
        totals["dkim_aligned_pass"] += count if alignment["dkim"] else 0
    return totals


def tls_totals(origin, report):
    policies = report["policies"]
    return {
        "kind": "tls",
        "origin": origin,
        "org_name": report["organization_name"],
        "report_id": report["report_id"],
        "policies": len(policies),
        "successful_sessions": sum(int(p["successful_session_count"]) for p in policies),
        "failed_sessions": sum(int(p["failed_session_count"]) for p in policies),
    }


def from_parsed(origin, parsed, out):
    kind = parsed.get("report_type")
    if kind == "aggregate":
        out.append(aggregate_totals(origin, parsed["report"]))
    elif kind == "smtp_tls":
        out.append(tls_totals(origin, parsed["report"]))
    else:
        raise ValueError(f"not an aggregate or TLS report: {kind}")


def from_results(origin, results, out):
    for report in results["aggregate_reports"]:
        out.append(aggregate_totals(origin, report))
    for report in results["smtp_tls_reports"]:
        out.append(tls_totals(origin, report))


def is_maildir(path):
    return all(os.path.isdir(os.path.join(path, sub)) for sub in ("cur", "new", "tmp"))


def read_path(path, out, errors):
    try:
        if os.path.isdir(path):
            if is_maildir(path):
                for sub in ("new", "cur"):
                    for name in sorted(os.listdir(os.path.join(path, sub))):
                        if not name.startswith("."):
                            read_path(os.path.join(path, sub, name), out, errors)
                return
            for name in sorted(os.listdir(path)):
                if name.startswith("."):
                    continue
                read_path(os.path.join(path, name), out, errors)
        elif path.endswith(".mbox"):
            from_results(path, parsedmarc.get_dmarc_reports_from_mbox(path, **OPTIONS), out)
        else:
            from_parsed(path, parsedmarc.parse_report_file(path, **OPTIONS), out)
    except Exception as error:  # each refusal is reported with its file, not raised
        errors.append({"origin": path, "error": f"{type(error).__name__}: {error}"})


def main() -> None:
    logging.disable(logging.CRITICAL)
    reports, errors = [], []
    for path in sys.argv[1:]:
        read_path(path, reports, errors)
    reports.sort(key=lambda r: (r["org_name"], r["report_id"]))
    json.dump({"reports": reports, "errors": errors}, sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
