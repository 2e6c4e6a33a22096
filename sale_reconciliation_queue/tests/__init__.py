from . import test_statement_run_queue
from . import test_credit_refresh_run_queue
from . import test_match_run_queue
