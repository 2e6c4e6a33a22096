from . import sale_reconciliation_run_mixin
