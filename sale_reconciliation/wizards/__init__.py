from . import sale_reconciliation_collection_check
from . import sale_reconciliation_collection_summary
from . import sale_reconciliation_match
from . import sale_reconciliation_period_close
from . import sale_reconciliation_statement_dispute
from . import sale_reconciliation_statement_generate
from . import sale_reconciliation_followup_process
