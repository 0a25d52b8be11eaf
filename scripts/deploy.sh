#!/usr/bin/env bash
# Brings the whole PRISM Orchestration system up, keeping existing data (spec section 5).
#   ./scripts/deploy.sh           start everything; data survives
#   ./scripts/deploy.sh --clean   start from empty data
# Uses Docker Compose where a Docker engine answers, otherwise runs the same services natively
# (installing them on first use). Set PRISM_STACK_MODE=native|docker to choose.
set -euo pipefail
cd "$(dirname "$0")/.."

clean=()
for arg in "$@"; do
  case "$arg" in
    --clean) clean=(--clean) ;;
    -h | --help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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

node bin/prism.js stack up "${clean[@]}"
