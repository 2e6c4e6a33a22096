from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from odoo.addons.account_payment.tests.common import AccountPaymentCommon

from .common import SaleReconciliationCommon


@tagged("post_install", "-at_install")
class TestCreditOnlinePayment(AccountPaymentCommon, SaleReconciliationCommon):
    """Orders paid online under the Block policy, through Odoo's own
    transaction post-processing, as the customer's payment is processed: a
    customer owing 900 with a limit of 1,000."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.company.write({"account_use_credit_limit": True, "credit_policy": "block"})
        cls.salesperson = new_test_user(
            cls.env,
            login="online_salesperson",
            groups="sales_team.group_sale_salesman",
            company_id=cls.company.id,
        )
        cls.credit_manager = new_test_user(
            cls.env,
            login="online_credit_manager",
            groups="sales_team.group_sale_salesman_all_leads,"
            "sale_reconciliation.group_credit_manager",
            company_id=cls.company.id,
        )
        cls.customer.write({"credit_limit": 1000.0, "user_id": cls.salesperson.id})
        cls.init_invoice(
            "out_invoice", partner=cls.customer, amounts=[900.0], taxes=[], post=True
        )

    def quotation(self, amount, prepayment_percent=1.0):
        order = self.create_order([(self.product_service, 1, amount)], confirm=False)
        order.write({"require_payment": True, "prepayment_percent": prepayment_percent})
        return order

    def pay_online(self, order, amount):
        """A done transaction of ``amount`` for ``order``, post-processed as
        Odoo's payment status page does: as superuser for the public user."""
        transaction = self._create_transaction(
            flow="redirect",
            sale_order_ids=[order.id],
            state="done",
            amount=amount,
            currency_id=order.currency_id.id,
            partner_id=self.customer.id,
            reference=f"{order.name}-{amount}",
        )
        public_user = self.env.ref("base.public_user")
        with mute_logger("odoo.addons.sale.models.payment_transaction"):
            transaction.with_user(public_user).sudo()._post_process()
        return transaction

    def test_paid_in_full_online_confirms_over_the_limit(self):
        order = self.quotation(300.0)
        self.assertTrue(order.credit_check_blocked)
        self.pay_online(order, 300.0)
        self.assertEqual(order.state, "sale")
        self.assertFalse(order.credit_approval_ids)

    def test_partly_paid_online_goes_to_the_credit_managers(self):
        order = self.quotation(300.0, prepayment_percent=0.5)
        self.pay_online(order, 150.0)  # no exception in the post-processing
        self.assertIn(order.state, ("draft", "sent"), "stays a quotation")
        self.assertEqual(order.amount_paid, 150.0)
        approval = order.credit_approval_ids
        self.assertRecordValues(
            approval,
            [
                {
                    "state": "requested",
                    "amount": 300.0,
                    "partner_id": self.customer.id,
                    "requester_id": self.env.ref("base.user_root").id,
                }
            ],
        )
        self.assertIn("150.00", approval.reason)
        self.assertIn(self.credit_manager, approval.activity_ids.user_id)
        # The salesperson sees the request, still cannot confirm ...
        order_as_salesperson = order.with_user(self.salesperson)
        self.assertTrue(order_as_salesperson.credit_approval_pending)
        with self.assertRaises(UserError):
            order_as_salesperson.action_confirm()
        self.assertIn(order.state, ("draft", "sent"))
        # ... until a credit manager approves.
        approval.with_user(self.credit_manager).action_approve()
        order_as_salesperson.action_confirm()
        self.assertEqual(order.state, "sale")

    def test_paid_in_full_online_follows_the_company_setting(self):
        self.company.credit_confirm_paid_online = False
        order = self.quotation(300.0)
        self.pay_online(order, 300.0)
        self.assertIn(order.state, ("draft", "sent"))
        self.assertEqual(order.credit_approval_ids.state, "requested")
