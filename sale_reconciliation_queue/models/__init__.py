from . import sale_reconciliation_statement_run
