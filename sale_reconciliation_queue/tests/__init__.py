from . import test_statement_run_queue
