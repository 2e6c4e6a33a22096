#!/usr/bin/env bash
# Benchmark: collections follow-up on CUSTOMERS customers with 10 unpaid
# invoices each, overdue at ages that reach every default level
# (seed_followup.py): finding who is due for which level against one SQL
# aggregate of the same receivable items, then the day's follow-up run over
# all of them (measure_followup.py). Prints one line: FOLLOWUP k=v ...
set -euo pipefail
cd "$(dirname "$0")/.."
exec bench/seeded_at_scale.sh FOLLOWUP bench/seed_followup.py bench/measure_followup.py
