#!/usr/bin/env bash
# Run one fuzz target with its seed corpus and dictionary and the limits issue 13 sets:
#   fuzz/run.sh TARGET [LIBFUZZER_FLAG...]
# e.g. fuzz/run.sh spf_record -runs=10000000 -max_total_time=1800
# Builds without a sanitizer and with debug assertions (overflow checks) on: the workspace
# forbids unsafe code, so AddressSanitizer would mostly watch the C dependencies at a large cost
# in speed (FUZZ_SANITIZER=address to use it anyway). Prints the cargo command before running it.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:?usage: fuzz/run.sh TARGET [LIBFUZZER_FLAG...]}"
shift
case "$target" in
  message) dict=message ;;
  dkim_signature | dkim_key | dkim_verify) dict=dkim ;;
  spf_record | spf_macro | spf_check_host) dict=spf ;;
  dmarc_record) dict=dmarc ;;
  zone) dict=zone ;;
  config) dict=config ;;
  cloudflare | powerdns | report_tlsrpt) dict=json ;;
  report_xml) dict=xml ;;
  report_source) dict=report_source ;;
  *) dict="" ;;
esac
corpus="$PWD/fuzz/corpus/$target"
[ -d "$corpus" ] || bash fuzz/seed.sh >/dev/null
mkdir -p "$corpus"
flags=(-timeout=2 -rss_limit_mb=512)
[ -z "$dict" ] || flags+=("-dict=$PWD/fuzz/dict/$dict.dict")
cmd=(cargo +nightly fuzz run --sanitizer "${FUZZ_SANITIZER:-none}" --debug-assertions "$target" "$corpus" -- "${flags[@]}" "$@")
echo "+ ${cmd[*]}" >&2
exec "${cmd[@]}"
