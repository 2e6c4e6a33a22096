from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import StatementCommon


@tagged("post_install", "-at_install")
class TestSaleOrderControls(StatementCommon):
    """Controls on orders that no caller can skip, whatever its context."""

    def test_no_context_key_skips_the_credit_check(self):
        company = self.env.company
        company.write({"account_use_credit_limit": True, "credit_policy": "block"})
        self.customer.write({"credit_limit": 100.0, "user_id": self.salesperson.id})
        order = self.create_order([(self.product_ordered, 4)], confirm=False)
        order.user_id = self.salesperson
        with self.assertRaises(UserError):
            order.with_user(self.salesperson).with_context(
                sale_reconciliation_skip_credit_check=True
            ).action_confirm()
        self.assertEqual(order.state, "draft")
