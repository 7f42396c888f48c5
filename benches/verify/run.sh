#!/usr/bin/env bash
# Batch DKIM verification: `mailauth verify --maildir` against a dkimpy loop and a mail-auth loop
# on the same generated Maildir, in the same run. Needs .venv with dkimpy (bash .ci/install-deps)
# and openssl.
#
#   bash benches/verify/run.sh [COUNT (10000)] [all|mailauth|dkimpy|mail-auth]
#
# generate.py (seeded) makes the Maildir, fresh keys and the zone file once under
# $CARGO_TARGET_DIR (or target/)/bench-verify/COUNT. The three verifiers, each the only child of
# benches/reports/measure.py (wall time and that child's peak RSS, ru_maxrss):
#   mailauth   the release build: mailauth --json --zone ZONE verify --maildir DIR --jobs 2 --now T
#              (DKIM and DMARC for every message, one JSON line each, keys and DMARC answers
#              cached across messages);
#   dkimpy     benches/verify/dkimpy_loop.py: dkim.verify on every file, one Python process;
#   mail-auth  the verify_loop bin of benches/compare (mail-auth 0.15.1 verify_dkim, 2 threads),
#              built --release --locked in $COMPARE_TARGET_DIR (default benches/compare/target).
# MAILAUTH_BIN=PATH measures that mailauth binary instead of building target/release/mailauth.
# All answer DNS from the same zone file, offline. tally.py checks that they agree message counts
# and pass/fail counts (and match what generate.py made) before it prints the table.
set -euo pipefail
cd "$(dirname "$0")/../.."
count=${1:-10000}
which=${2:-all}
target=${CARGO_TARGET_DIR:-target}
compare_target=${COMPARE_TARGET_DIR:-benches/compare/target}
mailauth_bin=${MAILAUTH_BIN:-$target/release/mailauth}
python=.venv/bin/python
[ -x "$python" ] || { echo "no .venv: run bash .ci/install-deps first" >&2; exit 1; }
case "$which" in
  all) tools=(mailauth dkimpy mail-auth) ;;
  mailauth|dkimpy|mail-auth) tools=("$which") ;;
  *) echo "which: all, mailauth, dkimpy or mail-auth (got $which)" >&2; exit 2 ;;
esac

data="$target/bench-verify/$count"
if [ ! -f "$data/done" ]; then
  rm -rf "$data"
  "$python" benches/verify/generate.py "$data" "$count" >&2
  touch "$data/done"
fi
for tool in "${tools[@]}"; do
  case "$tool" in
    mailauth) [ -n "${MAILAUTH_BIN:-}" ] || cargo build --release --quiet --bin mailauth ;;
    mail-auth) CARGO_TARGET_DIR="$compare_target" cargo build --release --quiet --locked \
                 --ignore-rust-version --manifest-path benches/compare/Cargo.toml --bin verify_loop ;;
  esac
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
now=$(date +%s) # after generation: every signature's t= is in the past
echo "Load average before the run: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
for tool in "${tools[@]}"; do
  case "$tool" in
    mailauth) cmd=("$mailauth_bin" --json --zone "$data/zone.txt" verify
                   --maildir "$data/maildir" --jobs 2 --now "$now") ;;
    dkimpy) cmd=("$python" benches/verify/dkimpy_loop.py "$data/zone.txt" "$data/maildir") ;;
    mail-auth) cmd=("$compare_target/release/verify_loop" "$data/zone.txt" "$data/maildir" 2) ;;
  esac
  python3 benches/reports/measure.py "$work/$tool.out" "${cmd[@]}" > "$work/$tool.time"
done
echo "Load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
if ! python3 benches/verify/tally.py "$work" "$data/expected.json" "${tools[@]}"; then
  for tool in "${tools[@]}"; do
    echo "--- $tool: $(cat "$work/$tool.time"); stderr:" >&2
    head -c 1500 "$work/$tool.out.err" >&2
  done
  exit 1
fi
