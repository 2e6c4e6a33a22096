from . import account_move
from . import account_payment
from . import sale_order
