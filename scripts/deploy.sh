#!/usr/bin/env bash
# Brings the whole PRISM Orchestration system up, keeping existing data (spec section 5), and runs a demo
# task through it.
#   ./scripts/deploy.sh           start everything; data survives
#   ./scripts/deploy.sh --clean   start from empty data
# Services run under Docker Compose where a Docker engine answers, otherwise natively (installed on first
# use). Then: migrations, provisioning, the demo data set, and the worker, reference agents and API.
set -euo pipefail
cd "$(dirname "$0")/.."

up_args=()
for arg in "$@"; do
  case "$arg" in
    --clean) up_args+=(--clean) ;;
    -h | --help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "deploy.sh: unknown option $arg (use --clean or --help)" >&2; exit 2 ;;
  esac
done

# Toolchains the native stack builds with, where this machine keeps them.
export PATH="/usr/local/go/bin:$HOME/go/bin:$HOME/.cargo/bin:$PATH"

command -v node > /dev/null || { echo "deploy.sh: Node.js 20 (>= 20.19) is required" >&2; exit 1; }
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[deploy] installing npm dependencies (npm ci)"
  npm ci --no-fund --no-audit
fi

node bin/prism.js up "${up_args[@]}"

echo "[deploy] a demo task: the MONITORING agent checks the spindle temperature of cnc-02"
node bin/prism.js task submit --type MONITORING --priority HIGH \
  --query "Check the spindle temperature of cnc-02 for anomalies" \
  --param machine=cnc-02 --param sensorType=spindle_temperature_c --param since=-1h --wait
