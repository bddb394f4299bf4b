#!/usr/bin/env bash
# Instructions per delivery of labelrun's webhook ingest, counted by callgrind:
# the figure that stays the same on a loaded machine, where requests/s do not.
#
# Runs `labelrun serve` (durable inbox on, server.threads 1, log.level warn, as
# webhook_bench.sh does) under valgrind --tool=callgrind, sends the same signed
# 11,842-byte issues.labeled with unique X-GitHub-Delivery ids (wrk, the same
# request script as the benchmark), zeroes the counters after a warm-up, and
# dumps them once the measured deliveries are stored *and processed* (inbox
# depth 0), so the figure is everything the process spends on a delivery, on
# every thread: I/O thread, commit thread and processor. Prints instructions
# per delivery (total and per thread) and the top functions (inclusive and
# self), and keeps the callgrind output for callgrind_annotate.
#
# Environment: LABELRUN_BIN, DURATION (measured seconds, default 20),
# CONNECTIONS (default 8), OUT (directory for the callgrind files; default a
# temp dir that is removed), TOP (functions listed, default 25).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
LABELRUN_BIN="${LABELRUN_BIN:-$root/build/release/labelrun}"
DURATION="${DURATION:-20}"
CONNECTIONS="${CONNECTIONS:-8}"
TOP="${TOP:-25}"

die() { echo "webhook_profile: $*" >&2; exit 1; }
for tool in valgrind callgrind_control callgrind_annotate wrk openssl curl node; do
  command -v "$tool" >/dev/null || die "needs '$tool' on PATH"
done
[[ -x "$LABELRUN_BIN" ]] || die "no labelrun binary at $LABELRUN_BIN (build it first)"
if [[ ! -d "$here/node_modules/@octokit/webhooks-examples" ]]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/labelrun-profile.XXXXXX")"
out="${OUT:-$work/out}"
mkdir -p "$out"
pid=""
cleanup() {
  if [[ -n "$pid" ]]; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

payload="$work/payload.json"
(cd "$here" && node extract_payload.mjs "$payload" >/dev/null) || die "cannot extract the payload"
secret="$(openssl rand -hex 32)"
printf '%s' "$secret" >"$work/secret"
signature="$(openssl dgst -sha256 -hmac "$secret" -r "$payload" | cut -d' ' -f1)"
port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
mkdir -p "$work/state"
cat >"$work/labelrun.yaml" <<EOF
state_dir: $work/state
server:
  listen: "127.0.0.1:$port"
  threads: 1
webhook:
  secrets:
    - file: $work/secret
log:
  level: warn
EOF

valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out.%p" --separate-threads=yes \
  "$LABELRUN_BIN" serve --config "$work/labelrun.yaml" >"$work/labelrun.log" 2>&1 &
pid=$!
for _ in $(seq 600); do
  [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/readyz" || true)" == 200 ]] && break
  kill -0 "$pid" 2>/dev/null || die "labelrun exited: $(tail -5 "$work/labelrun.log")"
  sleep 0.2
done

depth() {
  curl -s --max-time 10 "http://127.0.0.1:$port/metrics" | awk '/^labelrun_inbox_depth/ { print $2 }'
}
stored() {
  curl -s --max-time 10 "http://127.0.0.1:$port/metrics" | awk '/^labelrun_inbox_stored_total/ { print $2 }'
}
wait_drained() {
  for _ in $(seq 600); do [[ "$(depth)" == 0 ]] && return 0; sleep 0.5; done
  die "the inbox did not drain"
}

load() {  # load SECONDS TAG
  wrk -t1 -c"$CONNECTIONS" -d"$1s" --timeout 10s -s "$here/webhook_req.lua" \
    "http://127.0.0.1:$port/webhook" -- "$payload" "$signature" "$2"
}
load 3 "$(openssl rand -hex 4)" >/dev/null  # warm-up: caches, allocator, SQLite pages
wait_drained
before="$(stored)"
callgrind_control -z "$pid" >/dev/null
load "$DURATION" "$(openssl rand -hex 4)" >"$work/wrk.txt"
wait_drained
callgrind_control -d "$pid" >/dev/null
after="$(stored)"
n=$((after - before))
grep -q 'Non-2xx' "$work/wrk.txt" && die "non-2xx answers: $(cat "$work/wrk.txt")"
(( n > 0 )) || die "no deliveries stored"

# With --separate-threads each thread has its own file; the dump is the last
# part of each.
mapfile -t dumps < <(ls "$out"/callgrind.out."$pid".1-* 2>/dev/null | sort)
[[ ${#dumps[@]} -gt 0 ]] || die "no callgrind dump in $out"
echo "== labelrun ingest under callgrind: $n deliveries stored and processed ($CONNECTIONS connections)"
total=0
for f in "${dumps[@]}"; do
  ir="$(awk '/^summary:/ { print $2 }' "$f")"
  [[ -n "$ir" && "$ir" != 0 ]] || continue
  total=$((total + ir))
  printf '  thread %-6s %14d Ir  %8.0f Ir/delivery\n' "${f##*-}" "$ir" "$(awk -v a="$ir" -v n="$n" 'BEGIN { print a / n }')"
done
printf '  %-13s %14d Ir  %8.0f Ir/delivery\n' total "$total" "$(awk -v a="$total" -v n="$n" 'BEGIN { print a / n }')"
# valgrind emulates no SHA extensions, so OpenSSL runs its scalar SHA-256
# here: its share is far larger than on the real CPU (SHA-NI). Shown apart.
crypto="$(callgrind_annotate --threshold=100 --auto=no "${dumps[@]}" 2>/dev/null \
  | awk '/libcrypto\.so/ && /^ *[0-9,]+ \(/ { gsub(/,/, "", $1); s += $1 } END { printf "%.0f", s }')"
printf '  %-13s %14d Ir  %8.0f Ir/delivery  (HMAC-SHA256; scalar under valgrind)\n' "of which libcrypto" \
  "$crypto" "$(awk -v a="$crypto" -v n="$n" 'BEGIN { print a / n }')"
printf '  %-13s %14d Ir  %8.0f Ir/delivery\n' "total less libcrypto" "$((total - crypto))" \
  "$(awk -v a="$((total - crypto))" -v n="$n" 'BEGIN { print a / n }')"
echo
echo "== top $TOP functions, inclusive, all threads (share of all instructions)"
callgrind_annotate --threshold=100 --auto=no --inclusive=yes "${dumps[@]}" 2>/dev/null \
  | grep -E '^ *[0-9,]+ \(' | cut -c1-180 | head -"$TOP" | sed 's/^/  /'
echo
echo "== top $TOP functions, self, all threads"
callgrind_annotate --threshold=100 --auto=no "${dumps[@]}" 2>/dev/null \
  | grep -E '^ *[0-9,]+ \(' | grep -v 'PROGRAM TOTALS' | cut -c1-180 | head -"$TOP" | sed 's/^/  /'
[[ -n "${OUT:-}" ]] && echo "(callgrind files kept in $out)"
exit 0
