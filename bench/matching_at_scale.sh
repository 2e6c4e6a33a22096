#!/usr/bin/env bash
# Benchmark: matching payments with invoices on CUSTOMERS customers with 10
# open invoices and 8 unmatched payments each, 10,000 and 8,000 for 1,000
# customers (seed_matching.py): the wizard's preview and apply against Odoo's
# own reconcile() of the same groups (measure_matching.py). Prints one line:
# MATCHING k=v ...
set -euo pipefail
cd "$(dirname "$0")/.."
exec bench/seeded_at_scale.sh MATCHING bench/seed_matching.py bench/measure_matching.py
