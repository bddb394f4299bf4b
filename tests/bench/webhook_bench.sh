#!/usr/bin/env bash
# Webhook throughput benchmark. Not a test: it prints
# figures and exits non-zero only when something failed to run.
#
# Measures signed issues.labeled deliveries per second (wrk, 32 connections,
# loopback), p50/p99 latency and peak RSS of labelrun, then the same for a
# minimal Node server on @octokit/webhooks (createNodeMiddleware) handling the
# same 11,842-byte payload, and prints the ratio. Then the same load against
# the floor: tests/bench/floor_server.c, which only reads each request and
# answers 202, so its rate is the most any server could answer here; and the
# durable floor, the same server writing each request to a file and answering a
# pass's requests after one fdatasync, the most any server that stores each
# delivery before its 202 could answer on this disk; and the overlapped durable
# floor, which reads the next requests while a second thread syncs the last
# ones. The server runs on core 0, wrk on core 1.
#
# Environment:
#   LABELRUN_BIN   labelrun binary (default build/release/labelrun; built with
#                  `cmake --preset release && ninja -C build/release labelrun`
#                  when missing)
#   DURATION       measured seconds per server (default 10)
#   WARMUP         warm-up seconds per server, not measured (default 2)
#   CONNECTIONS    wrk connections (default 32)
#   SERVER_CPU     core for the server under test (default 0)
#   WRK_CPU        core for wrk (default 1)
#   SKIP_OCTOKIT=1 do not measure @octokit/webhooks
#   SKIP_FLOOR=1   do not measure the floor server
#   TMPDIR         parent of the temp dir holding labelrun's state_dir (its
#                  disk's fsync latency bounds labelrun's latency)
#
# Exit status: 0 the benchmark ran (whether or not targets were met);
#              1 something failed to run (build, start, wrk, server died);
#              3 it ran, but a server answered non-2xx or had socket errors,
#                so its figures are not a valid measurement.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-2}"
CONNECTIONS="${CONNECTIONS:-32}"
SERVER_CPU="${SERVER_CPU:-0}"
WRK_CPU="${WRK_CPU:-1}"
SKIP_OCTOKIT="${SKIP_OCTOKIT:-0}"
SKIP_FLOOR="${SKIP_FLOOR:-0}"
LABELRUN_BIN="${LABELRUN_BIN:-$root/build/release/labelrun}"

# Targets: labelrun's req/s against the floor and @octokit/webhooks measured in
# the same run, its p99 latency and peak RSS, and no errors.
TARGET_FLOOR_RATIO=0.5
TARGET_RATIO=3
TARGET_P99_MS=2
TARGET_RSS_MB=30

die() { echo "webhook_bench: $*" >&2; exit 1; }

for tool in wrk taskset openssl curl node npm; do
  command -v "$tool" >/dev/null || die "needs '$tool' on PATH"
done
ncpu="$(nproc)"
if (( SERVER_CPU >= ncpu || WRK_CPU >= ncpu )); then
  die "needs cores $SERVER_CPU and $WRK_CPU; this machine has $ncpu"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/labelrun-bench.XXXXXX")"
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- inputs -----------------------------------------------------------------

if [[ ! -x "$LABELRUN_BIN" ]]; then
  echo "== building labelrun (release)"
  (cd "$root" && cmake --preset release >/dev/null && ninja -C build/release labelrun) \
    || die "build failed"
  [[ -x "$LABELRUN_BIN" ]] || die "no binary at $LABELRUN_BIN after the build"
fi

if [[ ! -d "$here/node_modules/@octokit/webhooks" || ! -d "$here/node_modules/@octokit/webhooks-examples" ]]; then
  echo "== installing @octokit/webhooks and @octokit/webhooks-examples (npm ci)"
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed"
fi

payload="$work/payload.json"
payload_bytes="$(cd "$here" && node extract_payload.mjs "$payload")" || die "cannot extract the payload"
secret="$(openssl rand -hex 32)"
printf '%s' "$secret" >"$work/secret"
chmod 600 "$work/secret"
signature="$(openssl dgst -sha256 -hmac "$secret" -r "$payload" | cut -d' ' -f1)"
[[ "$signature" =~ ^[0-9a-f]{64}$ ]] || die "cannot compute the HMAC"

free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# Waits until URL answers with any HTTP status (or 200 when $2 is "200").
wait_http() {
  local url="$1" want="${2:-any}" pid="$3" code
  for _ in $(seq 200); do
    kill -0 "$pid" 2>/dev/null || return 1
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" || true)"
    if [[ "$want" == any && "$code" != 000 ]] || [[ "$code" == "$want" ]]; then return 0; fi
    sleep 0.05
  done
  return 1
}

# One signed delivery with curl; prints the status code.
probe() {
  curl -s -o "$work/probe.out" -w '%{http_code}' --max-time 5 -X POST "$1" \
    -H 'Content-Type: application/json' -H 'X-GitHub-Event: issues' \
    -H "X-GitHub-Delivery: 00000000-0000-4000-8000-$(openssl rand -hex 6)" \
    -H "X-Hub-Signature-256: sha256=$signature" --data-binary "@$payload" || true
}

# wrk latency like "812.00us", "1.53ms", "1.00s" -> milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u);
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000;
    printf "%.3f", n }'
}

# Busy jiffies (all but idle and iowait) and total jiffies of one core.
cpu_jiffies() {
  awk -v c="cpu$1" '$1 == c { busy = $2 + $3 + $4 + $7 + $8 + $9; print busy, busy + $5 + $6 }' /proc/stat
}
busy_pct() {  # busy_pct "BUSY0 TOTAL0" "BUSY1 TOTAL1"
  awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ");
    t = y[2] - x[2]; printf "%.0f", (t > 0 ? 100 * (y[1] - x[1]) / t : 0) }'
}
# CPU seconds (user + system) a process has used so far.
proc_cpu_s() {
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$1/stat"
}

# Bytes a process has sent to the storage layer so far (/proc/PID/io
# write_bytes: counted per page when the page is dirtied, so a commit that
# rewrites part of a page counts the whole page, as the disk writes it).
io_write_bytes() { awk '/^write_bytes:/ { print $2 }' "/proc/$1/io"; }

# "TID NAME CPU_SECONDS" for each thread of a process.
thread_cpu() {
  local t
  for t in /proc/"$1"/task/*; do
    awk -v hz="$(getconf CLK_TCK)" -v tid="${t##*/}" -v name="$(cat "$t/comm" 2>/dev/null)" \
      '{ sub(/^.*\) /, ""); printf "%s %s %.2f\n", tid, name, ($12 + $13) / hz }' "$t/stat" 2>/dev/null || true
  done
}
# Per-thread CPU seconds between two thread_cpu snapshots, busiest first.
thread_cpu_diff() {
  awk 'NR == FNR { before[$1] = $3; next }
       { d = $3 - before[$1]; if (d >= 0.01) printf "%s(%s) %.2f\n", $2, $1, d }' "$1" "$2" \
    | sort -k2 -nr | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2 } END { if (NR) print "" }'
}

rss_mb() { awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

# run_wrk NAME URL PID: warm-up, then the measured run; sets R_* variables.
run_wrk() {
  local name="$1" url="$2" pid="$3" out="$work/wrk-$1.txt"
  local tag
  tag="$(openssl rand -hex 4)"
  taskset -c "$WRK_CPU" wrk -t1 -c"$CONNECTIONS" -d"${WARMUP}s" --timeout 5s \
    -s "$here/webhook_req.lua" "$url" -- "$payload" "$signature" "$tag" >"$work/warmup-$name.txt" \
    || die "$name: wrk warm-up failed: $(cat "$work/warmup-$name.txt")"
  kill -0 "$pid" 2>/dev/null || die "$name: server exited during the warm-up"
  tag="$(openssl rand -hex 4)"
  local s0 w0 p0 s1 w1 p1 b0 b1
  s0="$(cpu_jiffies "$SERVER_CPU")" w0="$(cpu_jiffies "$WRK_CPU")" p0="$(proc_cpu_s "$pid")"
  b0="$(io_write_bytes "$pid")"
  thread_cpu "$pid" >"$work/threads0-$name.txt"
  taskset -c "$WRK_CPU" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 5s --latency \
    -s "$here/webhook_req.lua" "$url" -- "$payload" "$signature" "$tag" >"$out" \
    || die "$name: wrk failed: $(cat "$out")"
  kill -0 "$pid" 2>/dev/null || die "$name: server exited during the run (wrk output: $(cat "$out"))"
  s1="$(cpu_jiffies "$SERVER_CPU")" w1="$(cpu_jiffies "$WRK_CPU")" p1="$(proc_cpu_s "$pid")"
  b1="$(io_write_bytes "$pid")"
  thread_cpu "$pid" >"$work/threads1-$name.txt"
  R_SRV_CORE="$(busy_pct "$s0" "$s1")"
  R_WRK_CORE="$(busy_pct "$w0" "$w1")"
  R_SRV_CPU="$(awk -v a="$p0" -v b="$p1" 'BEGIN { printf "%.2f", b - a }')"
  sed 's/^/    /' "$out"
  echo "    core $SERVER_CPU (server) busy ${R_SRV_CORE}%, core $WRK_CPU (wrk) busy ${R_WRK_CORE}%;" \
       "server process used ${R_SRV_CPU} CPU-s in the ${DURATION}s run" \
       "($(awk -v c="$R_SRV_CPU" -v n="$(awk '/requests in/ { print $1 }' "$out")" \
            'BEGIN { printf "%.0f", (n > 0 ? c * 1e6 / n : 0) }') us per request)"
  echo "    CPU-s by thread: $(thread_cpu_diff "$work/threads0-$name.txt" "$work/threads1-$name.txt")"

  R_RPS="$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")"
  R_P50="$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")"
  R_P99="$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")"
  R_REQS="$(awk '/requests in/ { print $1 }' "$out")"
  # Bytes written to the disk per request answered in the measured run.
  R_WPR="$(awk -v a="$b0" -v b="$b1" -v n="$R_REQS" 'BEGIN { printf "%.0f", (n > 0 ? (b - a) / n : 0) }')"
  echo "    written to the disk: $R_WPR bytes per request (/proc/PID/io write_bytes)"
  R_NON2XX="$(awk -F: '/Non-2xx or 3xx responses/ { gsub(/ /, "", $2); print $2 }' "$out")"
  R_NON2XX="${R_NON2XX:-0}"
  R_SOCKERR="$(awk '/Socket errors:/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 }' "$out")"
  R_SOCKERR="${R_SOCKERR:-0}"
  R_RSS="$(rss_mb "$pid")"
  [[ -n "$R_RPS" && -n "$R_P50" && -n "$R_P99" ]] || die "$name: cannot parse wrk output"
  if (( R_NON2XX > 0 || R_SOCKERR > 0 )); then invalid=1; fi
}

invalid=0
cpu_model="$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
rev="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
dirty="$(git -C "$root" status --porcelain --untracked-files=no -- src include CMakeLists.txt 2>/dev/null | wc -l)"
octokit_version="$(node -p 'require(process.argv[1]).version' "$here/node_modules/@octokit/webhooks/package.json")"

# The durable inbox answers 202 only after a commit's fsync, so the disk under
# state_dir bounds latency and, with at most CONNECTIONS deliveries per commit,
# requests/s: measure a durable 4 KiB append there (write + fdatasync, 200 times).
cc -O2 -o "$work/fsync_probe" "$here/fsync_probe.c" || die "cannot build fsync_probe.c"
read -r fsync_p50 fsync_p99 fsync_max < <("$work/fsync_probe" "$work" 200) \
  || die "fsync_probe failed"
fsync_ms="$fsync_p50"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
# Other work on the two cores skews everything; look for it for a second.
q0="$(cpu_jiffies "$SERVER_CPU")" q1="$(cpu_jiffies "$WRK_CPU")"
sleep 1
idle_busy="$(busy_pct "$q0" "$(cpu_jiffies "$SERVER_CPU")")/$(busy_pct "$q1" "$(cpu_jiffies "$WRK_CPU")")"

echo "== webhook_bench: issues.labeled, $payload_bytes-byte body, wrk -t1 -c$CONNECTIONS," \
     "${WARMUP}s warm-up + ${DURATION}s measured"
echo "   server on core $SERVER_CPU, wrk on core $WRK_CPU ($ncpu cores: $cpu_model)"
echo "   write + fdatasync of 4 KiB under $work: p50 ${fsync_p50} ms, p99 ${fsync_p99} ms," \
     "max ${fsync_max} ms; load average before: $load_before"
echo "   cores busy before starting (server/wrk): ${idle_busy//\//% \/ }%"
if (( ${idle_busy%/*} > 10 || ${idle_busy#*/} > 10 )); then
  echo "   WARNING: other processes are using the benchmark cores; figures will be low and noisy"
fi

# --- labelrun ---------------------------------------------------------------

lr_port="$(free_port)"
mkdir -p "$work/state"
cat >"$work/labelrun.yaml" <<EOF
state_dir: $work/state
server:
  listen: "127.0.0.1:$lr_port"
  threads: 1
webhook:
  secrets:
    - file: $work/secret
log:
  level: warn
EOF
"$LABELRUN_BIN" check-config --config "$work/labelrun.yaml" >"$work/check-config.txt" 2>&1 \
  || die "labelrun check-config failed: $(cat "$work/check-config.txt")"

echo
echo "== labelrun $("$LABELRUN_BIN" version 2>/dev/null | awk '{print $NF}') (git $rev$( ((dirty)) && echo ", sources modified")," \
     "$LABELRUN_BIN), durable inbox on, log.level warn"
taskset -c "$SERVER_CPU" "$LABELRUN_BIN" serve --config "$work/labelrun.yaml" >"$work/labelrun.log" 2>&1 &
lr_pid=$!
pids+=("$lr_pid")
wait_http "http://127.0.0.1:$lr_port/readyz" 200 "$lr_pid" \
  || die "labelrun did not become ready: $(tail -20 "$work/labelrun.log")"
code="$(probe "http://127.0.0.1:$lr_port/webhook")"
[[ "$code" == 202 ]] || die "labelrun answered a signed probe delivery with $code: $(cat "$work/probe.out")"

run_wrk labelrun "http://127.0.0.1:$lr_port/webhook" "$lr_pid"
lr_rps="$R_RPS" lr_p50="$R_P50" lr_p99="$R_P99" lr_rss="$R_RSS" lr_reqs="$R_REQS"
lr_non2xx="$R_NON2XX" lr_sockerr="$R_SOCKERR" lr_core="$R_SRV_CORE" lr_wrkcore="$R_WRK_CORE"
lr_wpr="$R_WPR"
metrics="$(curl -s --max-time 5 "http://127.0.0.1:$lr_port/metrics" || true)"
lr_stored="$(awk '/^labelrun_inbox_stored_total/ { printf "%.0f", $2 }' <<<"$metrics")"
lr_commits="$(awk '/^labelrun_inbox_commits_total/ { printf "%.0f", $2 }' <<<"$metrics")"
lr_commit_fail="$(awk '/^labelrun_inbox_commit_failures_total/ { printf "%.0f", $2 }' <<<"$metrics")"
echo "    deliveries by outcome (/metrics):"
grep '^labelrun_webhook_deliveries_total' <<<"$metrics" | sed 's/^/      /' || true
echo "    inbox: stored ${lr_stored:-?} in ${lr_commits:-?} commits (${lr_commit_fail:-?} failed);" \
     "state dir $(du -sh "$work/state" | cut -f1)"
if grep -qiE '\[(warn|warning|error|critical)\]' "$work/labelrun.log"; then
  echo "    labelrun logged warnings/errors (first 10):"
  grep -iE '\[(warn|warning|error|critical)\]' "$work/labelrun.log" | head -10 | sed 's/^/      /'
fi
kill -TERM "$lr_pid"
lr_exit=0
wait "$lr_pid" || lr_exit=$?
pids=()
echo "    SIGTERM -> labelrun exited with status $lr_exit"

# --- @octokit/webhooks ------------------------------------------------------

if [[ "$SKIP_OCTOKIT" != 1 ]]; then
  ok_port="$(free_port)"
  echo
  echo "== @octokit/webhooks $octokit_version (createNodeMiddleware), node $(node --version)"
  WEBHOOK_SECRET="$secret" PORT="$ok_port" taskset -c "$SERVER_CPU" \
    node "$here/octokit_server.mjs" >"$work/octokit.log" 2>&1 &
  ok_pid=$!
  pids+=("$ok_pid")
  wait_http "http://127.0.0.1:$ok_port/readyz" any "$ok_pid" \
    || die "octokit server did not start: $(tail -20 "$work/octokit.log")"
  code="$(probe "http://127.0.0.1:$ok_port/webhook")"
  [[ "$code" == 200 ]] || die "octokit server answered a signed probe delivery with $code: $(cat "$work/probe.out")"

  run_wrk octokit "http://127.0.0.1:$ok_port/webhook" "$ok_pid"
  ok_rps="$R_RPS" ok_p50="$R_P50" ok_p99="$R_P99" ok_rss="$R_RSS" ok_reqs="$R_REQS"
  ok_non2xx="$R_NON2XX" ok_sockerr="$R_SOCKERR" ok_core="$R_SRV_CORE" ok_wrkcore="$R_WRK_CORE"
  if grep -q 'octokit_server: [^l]' "$work/octokit.log"; then
    echo "    octokit server logged errors (first 5):"
    grep 'octokit_server: [^l]' "$work/octokit.log" | head -5 | sed 's/^/      /'
  fi
  kill -TERM "$ok_pid" 2>/dev/null || true
  wait "$ok_pid" 2>/dev/null || true
  pids=()
fi

# --- the floor: read the request, answer 202, nothing else -------------------

# run_floor NAME TITLE [FILE [overlap]]: floor_server.c under the same load;
# sets the R_* variables of run_wrk.
run_floor() {
  local name="$1" title="$2" port pid
  shift 2
  port="$(free_port)"
  echo
  echo "== $title"
  taskset -c "$SERVER_CPU" "$work/floor_server" "$port" "$@" >"$work/$name.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  wait_http "http://127.0.0.1:$port/" any "$pid" || die "$name server did not start: $(cat "$work/$name.log")"
  run_wrk "$name" "http://127.0.0.1:$port/webhook" "$pid"
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$work/durable-floor.bin"
  pids=()
}

if [[ "$SKIP_FLOOR" != 1 ]]; then
  cc -O2 -pthread -o "$work/floor_server" "$here/floor_server.c" || die "cannot build floor_server.c"
  run_floor floor "floor: tests/bench/floor_server.c (reads each request, answers 202; no checks, no storage)"
  fl_rps="$R_RPS" fl_p50="$R_P50" fl_p99="$R_P99" fl_rss="$R_RSS" fl_reqs="$R_REQS"
  fl_non2xx="$R_NON2XX" fl_sockerr="$R_SOCKERR" fl_core="$R_SRV_CORE" fl_wrkcore="$R_WRK_CORE"

  # The durable floor: the same server, but each request is written to a file
  # on the state folder's disk and the 202s of one pass over the ready
  # connections wait for one fdatasync — the most a server that stores every
  # delivery before answering could do here, with no parsing, no checks, no index.
  # It writes per request what labelrun wrote per delivery in its run above
  # (whole pages, index and checkpoints included), so that the two put the same
  # load on the disk; the whole request when that was not measured (tmpfs).
  if (( lr_wpr > 0 )); then
    floor_bytes=("$lr_wpr") floor_writes="$lr_wpr bytes per request (what labelrun wrote)"
  else
    floor_bytes=() floor_writes="each request whole"
  fi
  run_floor durable-floor "durable floor: tests/bench/floor_server.c with a store file (writes $floor_writes; fdatasync per pass, then 202)" \
    "$work/durable-floor.bin" sync "${floor_bytes[@]}"
  df_rps="$R_RPS" df_p50="$R_P50" df_p99="$R_P99" df_rss="$R_RSS" df_reqs="$R_REQS"
  df_non2xx="$R_NON2XX" df_sockerr="$R_SOCKERR" df_core="$R_SRV_CORE" df_wrkcore="$R_WRK_CORE"

  # The overlapped durable floor: the same, with each fdatasync (and the 202s it
  # covers) on a second thread while the first reads and writes the next requests.
  run_floor overlap-floor "overlapped durable floor: tests/bench/floor_server.c FILE overlap (writes $floor_writes; fdatasync on a second thread while reading on)" \
    "$work/durable-floor.bin" overlap "${floor_bytes[@]}"
  do_rps="$R_RPS" do_p50="$R_P50" do_p99="$R_P99" do_rss="$R_RSS" do_reqs="$R_REQS"
  do_non2xx="$R_NON2XX" do_sockerr="$R_SOCKERR" do_core="$R_SRV_CORE" do_wrkcore="$R_WRK_CORE"
fi

# --- summary ----------------------------------------------------------------

verdict() { if awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN { exit !(op == ">=" ? a >= b : (op == "<=" ? a <= b : a < b)) }'; then echo met; else echo MISSED; fi; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

summary="$work/summary.txt"
{
  echo "webhook_bench $(date -u +%Y-%m-%dT%H:%M:%SZ)  labelrun git $rev$( ((dirty)) && echo "+modified")  host $(uname -n)"
  echo "issues.labeled ${payload_bytes} B, signed, unique X-GitHub-Delivery per request;" \
       "wrk -t1 -c$CONNECTIONS ${DURATION}s (+${WARMUP}s warm-up), loopback;" \
       "server on core $SERVER_CPU, wrk on core $WRK_CPU; $cpu_model"
  echo "labelrun: durable inbox on, server.threads 1, log.level warn (per-delivery info lines off)"
  echo "disk: write + fdatasync of 4 KiB p50 ${fsync_p50} ms, p99 ${fsync_p99} ms (a 202 waits for at least" \
       "one commit fsync); load average before ${load_before}, after $(cut -d' ' -f1-3 /proc/loadavg);" \
       "cores busy before start ${idle_busy}%"
  printf '%-20s %9s %8s %8s %12s %9s %7s %14s\n' server "req/s" "p50 ms" "p99 ms" "peak RSS MB" requests errors "busy srv/wrk"
  printf '%-20s %9s %8s %8s %12s %9s %7s %14s\n' labelrun "$lr_rps" "$lr_p50" "$lr_p99" "$lr_rss" "$lr_reqs" \
    "$((lr_non2xx + lr_sockerr))" "${lr_core}%/${lr_wrkcore}%"
  if [[ "$SKIP_OCTOKIT" != 1 ]]; then
    printf '%-20s %9s %8s %8s %12s %9s %7s %14s\n' "@octokit/webhooks" "$ok_rps" "$ok_p50" "$ok_p99" "$ok_rss" \
      "$ok_reqs" "$((ok_non2xx + ok_sockerr))" "${ok_core}%/${ok_wrkcore}%"
    ratio="$(ratio "$lr_rps" "$ok_rps")"
  fi
  if [[ "$SKIP_FLOOR" != 1 ]]; then
    printf '%-20s %9s %8s %8s %12s %9s %7s %14s\n' "floor (read, 202)" "$fl_rps" "$fl_p50" "$fl_p99" \
      "$fl_rss" "$fl_reqs" "$((fl_non2xx + fl_sockerr))" "${fl_core}%/${fl_wrkcore}%"
    printf '%-20s %9s %8s %8s %12s %9s %7s %14s\n' "durable floor" "$df_rps" "$df_p50" "$df_p99" \
      "$df_rss" "$df_reqs" "$((df_non2xx + df_sockerr))" "${df_core}%/${df_wrkcore}%"
    printf '%-20s %9s %8s %8s %12s %9s %7s %14s\n' "  overlapped" "$do_rps" "$do_p50" "$do_p99" \
      "$do_rss" "$do_reqs" "$((do_non2xx + do_sockerr))" "${do_core}%/${do_wrkcore}%"
  fi
  echo "targets (labelrun, this run):"
  if [[ "$SKIP_FLOOR" != 1 ]]; then
    floor_ratio="$(ratio "$lr_rps" "$fl_rps")"
    echo "  labelrun/floor     ${floor_ratio}x  ($lr_rps / $fl_rps req/s; target >= ${TARGET_FLOOR_RATIO}x:" \
         "$(verdict "$floor_ratio" ">=" "$TARGET_FLOOR_RATIO"))"
    echo "  durable floor/floor $(ratio "$df_rps" "$fl_rps")x  (what writing ${floor_writes} and an fdatasync" \
         "per pass leave of the floor on this disk: the bound for a server that answers only after storing that much)"
    echo "  overlapped durable floor/floor $(ratio "$do_rps" "$fl_rps")x, p99 ${do_p99} ms  (the same with each" \
         "fdatasync overlapped with reading the next requests)"
    echo "  labelrun/durable floor $(ratio "$lr_rps" "$df_rps")x, labelrun/overlapped $(ratio "$lr_rps" "$do_rps")x"
  fi
  if [[ "$SKIP_OCTOKIT" != 1 ]]; then
    echo "  labelrun/octokit   ${ratio}x  ($lr_rps / $ok_rps req/s; target >= ${TARGET_RATIO}x:" \
         "$(verdict "$ratio" ">=" "$TARGET_RATIO"))"
  fi
  echo "  p99                ${lr_p99} ms (target <= ${TARGET_P99_MS} ms: $(verdict "$lr_p99" "<=" "$TARGET_P99_MS"))"
  echo "  peak RSS           ${lr_rss} MB (target <= ${TARGET_RSS_MB} MB: $(verdict "$lr_rss" "<=" "$TARGET_RSS_MB"))"
  echo "  errors             $((lr_non2xx + lr_sockerr)) (target 0: $(verdict "$((lr_non2xx + lr_sockerr))" "<=" 0));" \
       "wrk 'Non-2xx or 3xx responses' + socket errors"
  # Each connection has one request in flight and each waits for a commit, so
  # no more than CONNECTIONS deliveries share one fsync: the disk alone allows
  # CONNECTIONS / fsync p50 req/s, and a p99 under the fsync p99 is impossible.
  fsync_rps="$(awk -v c="$CONNECTIONS" -v f="$fsync_p50" 'BEGIN { printf "%.0f", (f > 0 ? c * 1000 / f : 0) }')"
  batch="$(awk -v s="${lr_stored:-0}" -v c="${lr_commits:-0}" 'BEGIN { printf "%.1f", (c > 0 ? s / c : 0) }')"
  echo "fsync: p50 ${fsync_p50} ms, p99 ${fsync_p99} ms; $CONNECTIONS connections / p50 = at most ${fsync_rps} req/s" \
       "from the disk (labelrun got $(ratio "$lr_rps" "$fsync_rps")x of it, ${batch} deliveries per commit)"
  if awk -v r="$lr_rps" -v b="$fsync_rps" -v p="$lr_p99" -v f="$fsync_p99" -v t="$TARGET_P99_MS" \
       'BEGIN { exit !(r >= 0.8 * b || (p > t && f >= t / 2)) }'; then
    echo "fsync is the bound here: labelrun's rate is near what the disk allows, or its p99 ${lr_p99} ms" \
         "sits on a disk whose fsync p99 is ${fsync_p99} ms; TMPDIR=/dev/shm separates the CPU path"
  fi
  if ((invalid)); then
    echo "INVALID: a server answered non-2xx or had socket errors; these figures do not measure deliveries"
  fi
} >"$summary"

echo
echo "== summary"
cat "$summary"
mkdir -p "$here/results"
result_file="$here/results/webhook-$(date -u +%Y%m%dT%H%M%SZ).txt"
{
  cat "$summary"
  echo
  echo "--- wrk output"
  for f in "$work"/wrk-*.txt; do echo "[$(basename "$f" .txt)]"; cat "$f"; done
} >"$result_file"
echo "(saved to ${result_file#"$root"/})"

if ((invalid)); then exit 3; fi
