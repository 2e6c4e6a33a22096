from . import test_reconciliation_status
