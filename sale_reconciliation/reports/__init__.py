from . import account_invoice_report
from . import ir_actions_report
from . import report_statement
from . import sale_report
