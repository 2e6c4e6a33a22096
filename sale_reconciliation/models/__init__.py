from . import account_move
from . import account_payment
from . import res_company
from . import res_config_settings
from . import sale_order
from . import sale_reconciliation_statement
from . import sale_reconciliation_statement_line
from . import sale_reconciliation_statement_xlsx
