"""Two users change documents of the same order at the same time, in two real
transactions: the figures stored once both are done count both changes."""

import psycopg2

from odoo import SUPERUSER_ID, Command, api
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger


def admin_env(cr):
    return api.Environment(cr, SUPERUSER_ID, {})


def register_payment(env, invoice_id):
    env["account.payment.register"].with_context(
        active_model="account.move", active_ids=[invoice_id]
    ).create({})._create_payments()
    env.flush_all()


@tagged("post_install", "-at_install")
class TestReconciliationFiguresConcurrency(TransactionCase):
    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = admin_env(cr)
            partner = env["res.partner"].create(
                {"name": "Two Users Customer", "is_company": True}
            )
            product = env["product.product"].create(
                {
                    "name": "Two users goods",
                    "type": "consu",
                    "invoice_policy": "order",
                    "list_price": 100.0,
                    "taxes_id": False,
                }
            )
            order = env["sale.order"].create(
                {
                    "partner_id": partner.id,
                    "order_line": [
                        Command.create({"product_id": product.id, "product_uom_qty": 1})
                    ],
                }
            )
            order.action_confirm()
            invoice = order._create_invoices()
            invoice.action_post()
            self.assertEqual(order.reconciliation_state, "open")
            self.partner_id, self.product_id = partner.id, product.id
            self.order_id, self.invoice_id = order.id, invoice.id
        self.addCleanup(self.clean_up)

    def clean_up(self):
        with self.registry.cursor() as cr:
            env = admin_env(cr)
            env["account.payment.register"].search(
                [("partner_id", "=", self.partner_id)]
            ).unlink()
            payments = env["account.payment"].search(
                [("partner_id", "=", self.partner_id)]
            )
            payments.action_draft()
            payments.unlink()
            invoice = env["account.move"].browse(self.invoice_id)
            invoice.button_draft()
            invoice.with_context(force_delete=True).unlink()
            order = env["sale.order"].browse(self.order_id)
            order._action_cancel()
            order.unlink()
            env["product.product"].browse(self.product_id).unlink()
            env["res.partner"].browse(self.partner_id).unlink()

    def test_delivery_and_payment_at_once_reconcile_the_order(self):
        """One user delivers the order while another registers its invoice's
        payment. Each transaction alone leaves the order open (paid but not
        delivered, delivered but not paid); both together reconcile it. The
        one that computed from what it saw before the other committed is not
        the last word: it fails to serialize, and Odoo runs it again."""
        registry = self.registry
        pay_cr = registry.cursor()
        try:
            pay_env = admin_env(pay_cr)
            # The payment's transaction has started: it sees the order as
            # it was.
            self.assertEqual(
                pay_env["sale.order"].browse(self.order_id).reconciliation_state,
                "open",
            )
            with registry.cursor() as deliver_cr:
                deliver_env = admin_env(deliver_cr)
                order = deliver_env["sale.order"].browse(self.order_id)
                order.order_line.qty_delivered = 1.0
                self.assertEqual(order.reconciliation_state, "open")
            with (
                self.assertRaises(psycopg2.errors.SerializationFailure),
                mute_logger("odoo.sql_db"),
            ):
                register_payment(pay_env, self.invoice_id)
        finally:
            pay_cr.rollback()
            pay_cr.close()
        # What Odoo does with a request that failed to serialize: run it
        # again, now on the delivery too.
        with registry.cursor() as cr:
            register_payment(admin_env(cr), self.invoice_id)
        with registry.cursor() as cr:
            self.assertRecordValues(
                admin_env(cr)["sale.order"].browse(self.order_id),
                [
                    {
                        "reconciliation_state": "reconciled",
                        "reconciliation_amount_invoiced": 100.0,
                        "reconciliation_amount_paid": 100.0,
                        "reconciliation_amount_due": 0.0,
                    }
                ],
            )
