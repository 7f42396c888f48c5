#!/usr/bin/env bash
# Fill fuzz/corpus/TARGET with seeds derived from the repository's test data, so no seed is kept
# twice in git: messages and reports are copied, record values are cut out of the zone files,
# configurations out of the raw strings in the tests and the `init` starter, provider answers and
# DNS replies built from the zone files' records. Idempotent; existing corpus entries are kept.
# Usage: fuzz/seed.sh [CORPUS_DIR]   (default fuzz/corpus)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-fuzz/corpus}"
python3 - "$out" <<'PY'
import glob, hashlib, json, os, re, struct, sys

out = sys.argv[1]

def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

def read(path):
    with open(path, "rb") as f:
        return f.read()

zones = sorted(glob.glob("testdata/dns/*.zone"))
emls = sorted(glob.glob("testdata/eml/*.eml")) + sorted(glob.glob("testdata/reports/*.eml"))
reports = [p for p in sorted(glob.glob("testdata/reports*/**", recursive=True))
           if os.path.isfile(p) and not p.endswith("SOURCE")]

# Each zone TXT record's strings joined, and the zone's records as (owner, type, data).
txt_values = []
records = []
for z in zones:
    origin = ""
    for line in read(z).decode("utf-8", "replace").splitlines():
        line = line.split(";", 1)[0] if '"' not in line else line
        if line.startswith("$ORIGIN"):
            origin = line.split()[1].rstrip(".")
            continue
        m = re.match(r'^(\S+)?\s+(?:\d+\s+)?(?:IN\s+)?(TXT|MX|CNAME|TLSA)\s+(.*)$', line)
        if not m:
            continue
        owner, rtype, data = m.groups()
        name = origin if owner in (None, "@") else owner.rstrip(".") if owner.endswith(".") else f"{owner}.{origin}"
        if rtype == "TXT":
            value = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', data))
            txt_values.append(value)
            data = value
        records.append((name, rtype, data.strip()))

for p in emls:
    put("message", read(p))
    put("dkim_verify", read(p))
    body = read(p).replace(b"\r\n", b"\n").split(b"\n\n", 1)[-1].replace(b"\n", b"\r\n")
    put("canon_relaxed", body)
    for m in re.finditer(rb"(?ims)^DKIM-Signature:(.*?)(?=^\S)", read(p)):
        put("dkim_signature", m.group(1).strip())
put("canon_relaxed", b" C \r\nD \t E\r\n\r\n\r\n")
put("canon_relaxed", b"a  \t\r\n  b\t\r\n \r\n\r")

for v in txt_values:
    if v.startswith("v=DKIM1") or "p=" in v and "k=" in v:
        put("dkim_key", v)
    elif v.startswith("v=spf1"):
        put("spf_record", v)
        for word in v.split():
            if "%" in word:
                put("spf_macro", word.split(":", 1)[-1].split("=", 1)[-1])
    elif v.startswith("v=DMARC1"):
        put("dmarc_record", v)
    if "%{" in v and not v.startswith("v="):
        put("spf_macro", v)
for m in ["%{ir}.%{v}._spf.%{d2}", "%{lr-}.lp._spf.%{d2}", "%{d2}.trusted-domains.example.net",
          "%{i} is not one of %{d}'s designated mail servers.", "%{c} %{r} %{t} %{S} %%%_%-"]:
    put("spf_macro", m)

for z in zones:
    text = read(z)
    put("zone", text)
    # The same trees re-rooted at example.com, the origin the check_host target queries.
    origin = re.search(rb"\$ORIGIN (\S+?)\.?\n", text)
    if origin:
        put("spf_check_host", text.replace(origin.group(1), b"example.com"))

# Configurations: raw strings in the tests and the `init` starter that hold a [domains] table.
for p in sorted(glob.glob("tests/*.rs")) + ["src/cli/publish.rs", "src/config.rs"]:
    for m in re.finditer(r'r#"(.*?)"#', read(p).decode("utf-8", "replace"), re.S):
        text = m.group(1)
        if "[domains" in text or "[providers" in text:
            put("config", text.replace("DOMAIN", "example.com"))

# Reports: every fixture to the source reader, XML and JSON to their parsers.
for p in reports:
    data = read(p)
    put("report_source", data)
    if p.endswith(".xml"):
        put("report_xml", data)
    if p.endswith(".json"):
        put("report_tlsrpt", data)

# Provider answers for the zone records: Cloudflare listing pages, PowerDNS zone answers, DNS
# replies; the first byte picks the type the target reads (0 TXT, 1 CNAME, 2 MX, 3 TLSA).
TYPES = ["TXT", "CNAME", "MX", "TLSA"]
def cloudflare_item(name, rtype, data):
    item = {"id": "0123", "name": name, "type": rtype, "ttl": 300, "comment": "managed by mailauth"}
    if rtype == "MX":
        pref, host = data.split(None, 1)
        item.update(content=host, priority=int(pref))
    elif rtype == "TLSA":
        u, s, m, hexdata = data.split(None, 3)
        item["data"] = {"usage": int(u), "selector": int(s), "matching_type": int(m), "certificate": hexdata}
    elif rtype == "TXT":
        item["content"] = json.dumps(data)
    else:
        item["content"] = data
    return item

for rtype in TYPES:
    pick = bytes([TYPES.index(rtype)])
    same = [r for r in records if r[1] == rtype][:20]
    if not same:
        continue
    name = "sel._domainkey.example.com"
    items = [cloudflare_item(name, rtype, d) for (_, _, d) in same]
    put("cloudflare", pick + json.dumps({"success": True, "result": items, "result_info": {"total_pages": 1}}).encode())
    put("cloudflare", pick + json.dumps({"success": False, "errors": [{"code": 81057, "message": "exists"}]}).encode())
    content = lambda d: '"' + d.replace('"', '\\"') + '"' if rtype == "TXT" else d
    rrsets = [{"name": "example.com.", "type": rtype, "ttl": 300,
               "records": [{"content": content(d), "disabled": False} for (_, _, d) in same],
               "comments": [{"content": "managed by mailauth", "account": "mailauth"}]}]
    put("powerdns", pick + json.dumps({"name": "example.com.", "rrsets": rrsets}).encode())

def wire_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"

def rdata(rtype, data):
    if rtype == "TXT":
        raw = data.encode()
        return b"".join(bytes([len(raw[i:i + 255])]) + raw[i:i + 255] for i in range(0, max(len(raw), 1), 255))
    if rtype == "CNAME":
        return wire_name(data)
    if rtype == "MX":
        pref, host = data.split(None, 1)
        return struct.pack(">H", int(pref)) + wire_name(host)
    u, s, m, hexdata = data.split(None, 3)
    return bytes([int(u), int(s), int(m)]) + bytes.fromhex(hexdata.replace(" ", ""))

CODES = {"TXT": 16, "CNAME": 5, "MX": 15, "TLSA": 52}
for rtype in TYPES:
    same = [r for r in records if r[1] == rtype][:4]
    for rcode in (0, 2, 3, 5, 9):
        question = wire_name("example.com") + struct.pack(">HH", CODES[rtype], 1)
        answers = b"".join(b"\xc0\x0c" + struct.pack(">HHIH", CODES[rtype], 1, 300, len(rd)) + rd
                           for rd in (rdata(rtype, d) for (_, _, d) in same))
        n = len(same) if rcode == 0 else 0
        header = struct.pack(">HHHHHH", 0x1234, 0x8180 | rcode, 1, n, 0, 0)
        put("rfc2136", bytes([TYPES.index(rtype)]) + header + question + (answers if n else b""))
PY
for d in "$out"/*/; do
  printf '%s %s\n' "$(basename "$d")" "$(ls "$d" | wc -l)"
done
