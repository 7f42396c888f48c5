#!/usr/bin/env bash
# mailauth check against checkdmarc on the same generated domains, served by a real BIND named,
# in the same run. checkdmarc cannot query a port other than 53, so named, mailauth and
# checkdmarc all run inside a private network namespace (unshare --net --mount) where named
# listens on 127.0.0.1:53 and /etc/resolv.conf is bind-mounted to point at it. Nothing leaves
# the namespace. Needs root, bind9 and .venv (bash .ci/install-deps).
#
#   bash benches/check_vs_checkdmarc.sh [DOMAINS (10000)] [CHECKDMARC_SAMPLE (1000)]
#
# mailauth checks every domain; checkdmarc, which is much slower, checks the first SAMPLE of
# them, and mailauth checks that same sample too, so the rates compare like with like. Prints
# wall time, domains per second and peak RSS (from getrusage of each child) for each run.
set -euo pipefail
cd "$(dirname "$0")/.."
domains=${1:-10000}
sample=${2:-1000}
root=$(pwd)
cargo build --release --quiet --bin mailauth
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The zone: bench.test with DOMAINS subdomains, a mix of good and broken records.
python3 - "$work" "$domains" <<'PY'
import sys
work, n = sys.argv[1], int(sys.argv[2])
lines = [
    "$ORIGIN bench.test.", "$TTL 300",
    "@ IN SOA ns1 hostmaster 1 3600 600 86400 300", "@ IN NS ns1", "ns1 IN A 127.0.0.1",
    "@ IN MX 10 mx", "mx IN A 192.0.2.25", '@ IN TXT "v=spf1 mx -all"',
    '_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@bench.test"',
    '_spf IN TXT "v=spf1 ip4:198.51.100.0/24 ip4:203.0.113.0/24 -all"',
]
names = []
for i in range(n):
    d = f"d{i:05d}"
    names.append(f"{d}.bench.test")
    kind = i % 10
    lines.append(f"{d} IN MX 10 mx.bench.test.")
    if kind == 0:
        pass  # no SPF
    elif kind == 1:
        lines.append(f'{d} IN TXT "v=spf1 mx +all"')
    elif kind == 2:
        lines.append(f'{d} IN TXT "v=spf1 mx -all"')
        lines.append(f'{d} IN TXT "v=spf1 a -all"')
    else:
        lines.append(f'{d} IN TXT "v=spf1 mx include:_spf.bench.test -all"')
    if kind in (3, 4):
        lines.append(f'_dmarc.{d} IN TXT "v=DMARC1; p=none; rua=mailto:dmarc@bench.test"')
    elif kind == 5:
        lines.append(f'_dmarc.{d} IN TXT "v=DMARC1; p=quarantine; pct=25"')
open(f"{work}/bench.test.zone", "w").write("\n".join(lines) + "\n")
open(f"{work}/domains.txt", "w").write("\n".join(names) + "\n")
PY
head -n "$sample" "$work/domains.txt" > "$work/sample.txt"
cat > "$work/named.conf" <<EOF
options { directory "$work"; pid-file "$work/named.pid"; listen-on port 53 { 127.0.0.1; };
  listen-on-v6 { none; }; recursion no; dnssec-validation no; allow-query { 127.0.0.1; }; };
controls { };
zone "bench.test" { type primary; file "$work/bench.test.zone"; };
EOF

# Run a command, print "LABEL: N domains in S s = R domains/s, peak RSS M MiB".
cat > "$work/measure.py" <<'PY'
import resource, subprocess, sys, time
label, count, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
start = time.monotonic()
with open(out, "wb") as sink:
    subprocess.run(sys.argv[4:], stdout=sink, stderr=subprocess.DEVNULL)
elapsed = time.monotonic() - start
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"{label}: {count} domains in {elapsed:.2f} s = {count / elapsed:.1f} domains/s, peak RSS {rss:.1f} MiB", flush=True)
PY

cat > "$work/inner.sh" <<EOF
set -euo pipefail
ip link set lo up
echo "nameserver 127.0.0.1" > "$work/resolv.conf"
mount --bind "$work/resolv.conf" /etc/resolv.conf
named -c "$work/named.conf" -g 2> "$work/named.log" &
named_pid=\$!
for _ in \$(seq 100); do dig +short @127.0.0.1 bench.test SOA > /dev/null 2>&1 && break; sleep 0.1; done
dig +short @127.0.0.1 bench.test SOA | grep -q . || { cat "$work/named.log"; exit 1; }
m="$root/target/release/mailauth"
python3 "$work/measure.py" "mailauth check (all)" $domains "$work/all.jsonl" \
  "\$m" --resolver 127.0.0.1 check --domains-file "$work/domains.txt" --json --key-dir "$work/nokeys"
python3 "$work/measure.py" "mailauth check (sample)" $sample "$work/sample.jsonl" \
  "\$m" --resolver 127.0.0.1 check --domains-file "$work/sample.txt" --json --key-dir "$work/nokeys"
python3 "$work/measure.py" "checkdmarc (sample)" $sample "$work/checkdmarc.json" \
  "$root/.venv/bin/checkdmarc" -n 127.0.0.1 -t 2 -f json "$work/sample.txt"
cp "$work/checkdmarc.json" /tmp/checkdmarc-last.json 2>/dev/null || true
kill \$named_pid
wait \$named_pid 2>/dev/null || true
echo "mailauth reports: \$(wc -l < "$work/all.jsonl") lines; with errors: \$(grep -c '"severity":"error"' "$work/all.jsonl")"
echo "checkdmarc output: \$(wc -c < "$work/checkdmarc.json") bytes"
EOF
unshare --net --mount --propagation private bash "$work/inner.sh"
