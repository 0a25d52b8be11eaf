#!/usr/bin/env bash
# A/B of settings under `prism bench` (docs/performance.md): restarts the worker with the variables of A and
# runs the bench with them (a client's settings, such as tracing's, apply to the bench too), then the same
# with those of B, PAIRS times (interleaved, so that the machine's drift falls on both), and prints one line
# per run and the medians.
#   scripts/bench-ab.sh "PRISM_WORKFLOW_STACK_TRACES=on" "PRISM_WORKFLOW_STACK_TRACES=off" [pairs] [bench options]
# Against a system started with `prism up`; at the end the processes are restarted with neither setting.
# PROCESSES (default "worker") names the processes restarted, e.g. "worker agent-monitoring", or a service of
# the stack, e.g. "temporal". SHOW (default "worker temporal postgres") names the processes whose CPU per task
# each line prints besides the whole.
# A_TREE / B_TREE: an A/B of code, not settings — each side's processes are started from that checkout (a
# `git worktree` of the other commit, with node_modules and src/generated linked or copied in); the bench's
# client always runs from this one.
set -euo pipefail
cd "$(dirname "$0")/.."
a="$1"; b="$2"; pairs="${3:-3}"; shift 3 || shift $#
bench_args=("$@")
[ ${#bench_args[@]} -gt 0 ] || bench_args=(--tasks 600 --concurrency 32 --no-floor)
processes="${PROCESSES:-worker}"
out="$(mktemp -d)"
restart() { for p in $processes; do env $1 node "${2:-.}/bin/prism.js" stack restart "$p" >/dev/null 2>"$out/restart.log" || { cat "$out/restart.log" >&2; exit 1; }; done; }
run() {
  local label="$1" vars="$2" i="$3" tree
  if [ "$label" = A ]; then tree="${A_TREE:-.}"; else tree="${B_TREE:-.}"; fi
  restart "$vars" "$tree"
  # WARMUP=N: N tasks through the restarted processes first, not measured (a cold worker's first few
  # hundred tasks cost it more CPU; both sides pay the same without it, but the figures read higher).
  if [ "${WARMUP:-0}" -gt 0 ]; then
    env $vars node bin/prism.js bench --tasks "$WARMUP" --concurrency 32 --no-floor --no-engine >/dev/null 2>&1 || true
  fi
  env $vars node bin/prism.js bench "${bench_args[@]}" --json >"$out/$label-$i.json" 2>"$out/$label-$i.log" || {
    echo "bench $label $i failed:" >&2; tail -20 "$out/$label-$i.log" >&2; exit 1; }
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const t = r.temporal, e = r.engine, of = (name) => (t.cpu?.perProcess ?? []).find((p) => p.name === name);
    const shown = process.argv[3].split(/\s+/).filter(Boolean).map((n) => n + " " + (of(n) ? of(n).msPerTask.toFixed(1) : "-"));
    console.log([process.argv[2], t.throughputPerSec.toFixed(1) + "/s", "p50 " + t.endToEnd.p50, "p95 " + t.endToEnd.p95,
      "cpu " + (t.cpu?.totalMsPerTask ?? "-"), ...shown,
      e ? "engine " + e.throughputPerSec.toFixed(1) + "/s " + Math.round(100 * t.throughputPerSec / e.throughputPerSec) + "%" : ""].join("  "));
  ' "$out/$label-$i.json" "$label#$i" "${SHOW:-worker temporal postgres}"
}
for i in $(seq 1 "$pairs"); do run A "$a" "$i"; run B "$b" "$i"; done
node -e '
  const fs = require("fs"), dir = process.argv[1];
  const med = (xs) => { const s = [...xs].sort((x, y) => x - y); return s[Math.floor((s.length - 1) / 2)] + (s.length % 2 ? 0 : (s[s.length / 2] - s[(s.length - 2) / 2]) / 2); };
  for (const l of ["A", "B"]) {
    const rs = fs.readdirSync(dir).filter((f) => f.startsWith(l + "-") && f.endsWith(".json")).map((f) => JSON.parse(fs.readFileSync(dir + "/" + f, "utf8")));
    const of = (name) => (r) => (r.temporal.cpu?.perProcess ?? []).find((p) => p.name === name)?.msPerTask ?? NaN;
    const shown = process.argv[4].split(/\s+/).filter(Boolean).map((n) => n + " " + med(rs.map(of(n))).toFixed(1)).join("  ");
    console.log(`median ${l} (${process.argv[l === "A" ? 2 : 3]}): ${med(rs.map((r) => r.temporal.throughputPerSec)).toFixed(1)}/s  p50 ${med(rs.map((r) => r.temporal.endToEnd.p50))}  p95 ${med(rs.map((r) => r.temporal.endToEnd.p95))}  cpu ${med(rs.map((r) => r.temporal.cpu?.totalMsPerTask ?? NaN)).toFixed(1)}  ${shown}`);
  }' "$out" "$a" "$b" "${SHOW:-worker temporal postgres}"
restart ""
echo "reports: $out"
