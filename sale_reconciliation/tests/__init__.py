from . import test_period_closing
from . import test_reconciliation_status
from . import test_statement_access
from . import test_statement_balances
from . import test_statement_documents
from . import test_statement_generate
from . import test_statement_workflow
