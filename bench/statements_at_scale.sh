#!/usr/bin/env bash
# Benchmark: customer statements on CUSTOMERS customers with about 100
# receivable items each over three months (seed_ledger.py), measured by
# measure_statements.py (medians of 3). Prints one line: STATEMENTS k=v ...
set -euo pipefail
cd "$(dirname "$0")/.."
exec bench/seeded_at_scale.sh STATEMENTS bench/seed_ledger.py bench/measure_statements.py
