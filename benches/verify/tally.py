"""Check that the verifiers agree, then print the batch verification table (for run.sh).

Usage: tally.py WORK_DIR EXPECTED_JSON TOOL...

For each TOOL (mailauth, dkimpy, mail-auth), WORK_DIR/TOOL.out is the verifier's stdout and
WORK_DIR/TOOL.time what measure.py printed for it. The verdicts are counted per message on the
first DKIM-Signature (each generated message has exactly one): pass, or anything else (fail).
  mailauth:  one JSON line per message (`verify --maildir --json`); dkim[0].result == "pass";
             a refused input ({"origin", "error"}) counts as not passing; the final
             {"summary": ...} line is skipped.
  dkimpy, mail-auth: one JSON object {"messages", "pass", "fail", ...}.
Every tool must have seen every message and all must give the same pass and fail counts (and
the counts generate.py expects): otherwise this prints the counts and exits 1, with no rates.
Then prints a Markdown table: tool, messages, wall, messages/s, peak RSS, rate ÷ dkimpy's rate.
"""

import json
import sys
from pathlib import Path

LABELS = {
    "mailauth": "mailauth verify --maildir --jobs 2 (release)",
    "dkimpy": "dkimpy dkim.verify loop (one process)",
    "mail-auth": "mail-auth 0.15.1 verify_dkim loop",
}


def mailauth_counts(path: Path) -> dict:
    messages = passed = 0
    results = {}
    with open(path, encoding="utf-8") as out:
        for line in out:
            item = json.loads(line)
            if "summary" in item and "dkim" not in item:
                continue
            messages += 1
            dkim = item.get("dkim") or []
            result = dkim[0]["result"] if dkim else "refused" if "error" in item else "none"
            results[result] = results.get(result, 0) + 1
            passed += result == "pass"
    return {"messages": messages, "pass": passed, "fail": messages - passed, "results": results}


def counts(work: Path, tool: str) -> dict:
    out = work / f"{tool}.out"
    if tool == "mailauth":
        return mailauth_counts(out)
    return json.loads(out.read_text())


def main() -> None:
    work, expected = Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text())
    tools = sys.argv[3:]
    want = {"messages": expected["messages"], "pass": expected["pass"],
            "fail": expected["tampered"] + expected["unknown"]}
    seen = {tool: counts(work, tool) for tool in tools}
    agree = True
    print(f"Verdicts (generated: {want['messages']} messages, {expected['pass']} good, "
          f"{expected['tampered']} tampered, {expected['unknown']} unknown selector):")
    for tool, c in seen.items():
        same = all(c[k] == want[k] for k in want)
        agree &= same
        extra = f" ({', '.join(f'{k} {v}' for k, v in sorted(c['results'].items()))})" if "results" in c else ""
        print(f"  {tool:>9}: {c['messages']} messages, pass {c['pass']}, fail {c['fail']}{extra}"
              f"{'' if same else '   <-- DISAGREES'}")
    if not agree:
        print("The verifiers disagree: no rates reported.", file=sys.stderr)
        sys.exit(1)
    print()
    times = {tool: json.loads((work / f"{tool}.time").read_text()) for tool in tools}
    rates = {tool: want["messages"] / t["seconds"] for tool, t in times.items()}
    print("| Tool | messages | wall | messages/s | peak RSS | rate ÷ dkimpy |")
    print("|---|---:|---:|---:|---:|---:|")
    for tool in tools:
        t = times[tool]
        ratio = f"{rates[tool] / rates['dkimpy']:.1f}×" if "dkimpy" in rates else "—"
        print(f"| {LABELS[tool]} | {want['messages']:,} | {t['seconds']:.2f} s | "
              f"{rates[tool]:,.0f} | {t['peak_rss_mib']:.1f} MiB | {ratio} |")


if __name__ == "__main__":
    main()
