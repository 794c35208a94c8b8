#!/usr/bin/env bash
# Set up .venv (idempotent) and write the report of the seed pair; prints its path.
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
ensure_venv
cd "$ROOT"
"$VENV/bin/compare" report dprk-it-workers --corpus "$ROOT/corpus" -o "$ROOT/reports/dprk-it-workers.html"
