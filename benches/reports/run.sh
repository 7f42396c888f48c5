#!/usr/bin/env bash
# `mailauth reports ingest` against parsedmarc on the same 10,000 generated aggregate reports, in
# the same run. Needs .venv with parsedmarc (bash .ci/install-deps).
#
#   bash benches/reports/run.sh [COUNT (10000)] [both|mailauth|parsedmarc]
#
# The reports are made once by generate.py (seeded) under $CARGO_TARGET_DIR (or target/).
# mailauth: the release build, `mailauth --json reports ingest --db FRESH.sqlite DIR` (reads,
# parses and stores every report in SQLite). parsedmarc: parsedmarc_ingest.py, its Python API in
# one process, `parse_report_file` on each file, offline, nothing saved. Each runs as the only
# child of measure.py, which reports wall time and that child's peak RSS (ru_maxrss). Prints a
# Markdown table: reports, seconds, reports/s, peak RSS, and the ratio of the rates.
set -euo pipefail
cd "$(dirname "$0")/../.."
count=${1:-10000}
which=${2:-both}
target=${CARGO_TARGET_DIR:-target}
data="$target/bench-reports/$count"
if [ ! -f "$data.done" ]; then
  rm -rf "$data"
  python3 benches/reports/generate.py "$data" "$count" >&2
  touch "$data.done"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

echo "| Tool | reports | wall | reports/s | peak RSS |"
echo "|---|---:|---:|---:|---:|"
if [ "$which" != parsedmarc ]; then
  cargo build --release --quiet --bin mailauth
  python3 benches/reports/measure.py "$work/mailauth.json" \
    "$target/release/mailauth" --json reports ingest --db "$work/bench.sqlite" "$data" > "$work/m.time"
  ingested=$(field "$work/mailauth.json" ingested)
  [ "$ingested" = "$count" ] || { echo "mailauth ingested $ingested of $count:" >&2; head -c 2000 "$work/mailauth.json" "$work/mailauth.json.err" >&2; exit 1; }
  m_s=$(field "$work/m.time" seconds); m_rss=$(field "$work/m.time" peak_rss_mib)
  m_rate=$(python3 -c "print(f'{$count / $m_s:.0f}')")
  echo "| mailauth reports ingest (release, SQLite) | $count | $m_s s | $m_rate | $m_rss MiB |"
fi
if [ "$which" != mailauth ]; then
  python3 benches/reports/measure.py "$work/parsedmarc.json" \
    .venv/bin/python benches/reports/parsedmarc_ingest.py "$data" > "$work/p.time"
  parsed=$(field "$work/parsedmarc.json" aggregate)
  [ "$parsed" = "$count" ] || { echo "parsedmarc parsed $parsed of $count" >&2; exit 1; }
  p_s=$(field "$work/p.time" seconds); p_rss=$(field "$work/p.time" peak_rss_mib)
  p_rate=$(python3 -c "print(f'{$count / $p_s:.1f}')")
  echo "| parsedmarc $(.venv/bin/python -c 'import parsedmarc; print(parsedmarc.__version__)') parse_report_file (offline) | $count | $p_s s | $p_rate | $p_rss MiB |"
fi
if [ "$which" = both ]; then
  echo
  python3 -c "print(f'Ratio: mailauth {$count / $m_s:.0f} / parsedmarc {$count / $p_s:.1f} = {$p_s / $m_s:.1f}x parsedmarc\'s rate; mailauth peak RSS $m_rss MiB')"
fi
