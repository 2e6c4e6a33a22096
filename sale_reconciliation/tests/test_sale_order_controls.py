from datetime import datetime

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import StatementCommon

JANUARY_DAY = datetime(2025, 1, 15, 12, 0)


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


@tagged("post_install", "-at_install")
class TestClosedPeriodOrderControls(StatementCommon):
    """A salesperson cannot make a sale of a closed month, nor change its
    amounts, by any route: order create and write, line create, write and
    unlink. Odoo's own flows on such sales (invoicing, deliveries) go on."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.january = (
            cls.env["sale.reconciliation.period"]
            ._create_months(2025)
            .sorted("date_from")[0]
        )
        cls.dozen = cls.env.ref("uom.product_uom_dozen")

    def order_in_january(self, lines, confirm=True):
        order = self.create_order(lines, confirm=confirm)
        order.write({"user_id": self.salesperson.id, "date_order": JANUARY_DAY})
        return order

    def close_january(self):
        self.january.action_close(acknowledged_warnings=["quotations"])
        self.assertEqual(self.january.state, "closed")

    def assertUnchanged(self, order, state, total, line_count):
        order.invalidate_recordset()
        order.order_line.invalidate_recordset()
        self.assertEqual(order.state, state)
        self.assertEqual(order.amount_total, total)
        self.assertEqual(len(order.order_line), line_count)

    def test_write_cannot_confirm_a_quotation_into_a_closed_month(self):
        quotation = self.create_order([(self.product_ordered, 2)], confirm=False)
        quotation.user_id = self.salesperson
        dated = self.order_in_january([(self.product_ordered, 1)], confirm=False)
        self.close_january()
        today = quotation.date_order

        # Confirmed and dated in January in one write.
        with self.assertRaises(UserError) as caught:
            quotation.with_user(self.salesperson).write(
                {"state": "sale", "date_order": JANUARY_DAY}
            )
        self.assertIn("2025-01", str(caught.exception))
        self.assertUnchanged(quotation, "draft", 100.0, 1)
        self.assertEqual(quotation.date_order, today)
        # A January quotation confirmed without being dated anew.
        with self.assertRaises(UserError) as caught:
            dated.with_user(self.salesperson).write({"state": "sale"})
        self.assertIn("2025-01", str(caught.exception))
        self.assertUnchanged(dated, "draft", 50.0, 1)
        self.assertEqual(dated.date_order, JANUARY_DAY)

        # Odoo's confirmation dates the order now: both are sales of today.
        (quotation + dated).with_user(self.salesperson).action_confirm()
        self.assertEqual((quotation + dated).mapped("state"), ["sale", "sale"])
        self.assertGreater(dated.date_order, datetime(2025, 2, 1))

    def test_create_cannot_make_a_sale_of_a_closed_month(self):
        self.close_january()
        Order = self.env["sale.order"].with_user(self.salesperson)
        values = {
            "partner_id": self.customer.id,
            "order_line": [
                Command.create(
                    {"product_id": self.product_ordered.id, "product_uom_qty": 3}
                )
            ],
        }
        domain = [("partner_id", "=", self.customer.id)]
        count = Order.search_count(domain)
        for extra in (
            {"state": "sale", "date_order": JANUARY_DAY},
            # Lines added afterwards to the order dated in January.
            {"state": "sale", "date_order": JANUARY_DAY, "order_line": []},
        ):
            with self.assertRaises(UserError) as caught:
                Order.create({**values, **extra})
            self.assertIn("2025-01", str(caught.exception))
            self.assertEqual(Order.search_count(domain), count)

        # Quotations of January, and sales of today, are created as ever.
        quotation = Order.create({**values, "date_order": JANUARY_DAY})
        self.assertEqual(quotation.state, "draft")
        sale = Order.create({**values, "state": "sale"})
        self.assertEqual(sale.state, "sale")
        order = Order.create(values)
        order.action_confirm()
        self.assertEqual(order.state, "sale")
        self.assertEqual(order.amount_total, 150.0)

    def test_lines_cannot_be_added_to_or_removed_from_a_closed_sale(self):
        order = self.order_in_january([(self.product_ordered, 2)])
        # A down payment line with a quantity: Odoo lets it be deleted.
        extra = self.env["sale.order.line"].create(
            {
                "order_id": order.id,
                "name": "Advance",
                "is_downpayment": True,
                "product_uom_qty": 1.0,
                "price_unit": 30.0,
                "tax_id": False,
            }
        )
        self.assertEqual(order.amount_total, 130.0)
        self.close_january()
        Line = self.env["sale.order.line"].with_user(self.salesperson)

        with self.assertRaises(UserError) as caught:
            Line.create(
                {
                    "order_id": order.id,
                    "product_id": self.product_ordered.id,
                    "product_uom_qty": 4,
                }
            )
        self.assertIn("2025-01", str(caught.exception))
        self.assertUnchanged(order, "sale", 130.0, 2)
        with self.assertRaises(UserError) as caught:
            extra.with_user(self.salesperson).unlink()
        self.assertIn("2025-01", str(caught.exception))
        self.assertUnchanged(order, "sale", 130.0, 2)
        # Through the order too.
        with self.assertRaises(UserError):
            order.with_user(self.salesperson).write(
                {"order_line": [Command.unlink(extra.id)]}
            )
        self.assertUnchanged(order, "sale", 130.0, 2)

        # Notes carry no amount.
        note = Line.create(
            {"order_id": order.id, "display_type": "line_note", "name": "Thanks"}
        )
        self.assertUnchanged(order, "sale", 130.0, 3)
        note.unlink()
        self.assertUnchanged(order, "sale", 130.0, 2)

    def test_no_line_field_changes_the_amounts_of_a_closed_sale(self):
        order = self.order_in_january([(self.product_ordered, 2)])
        other = self.create_order([(self.product_service, 1)])
        other.user_id = self.salesperson
        self.close_january()
        line = order.order_line.with_user(self.salesperson)
        for vals in (
            {"product_uom": self.dozen.id},
            {"product_id": self.product_delivered.id},
            {"display_type": "line_note"},
            {"order_id": other.id},
        ):
            with self.subTest(vals=vals):
                with self.assertRaises(UserError) as caught:
                    line.write(vals)
                self.assertIn("2025-01", str(caught.exception))
                self.assertUnchanged(order, "sale", 100.0, 1)
                self.assertEqual(order.order_line.product_id, self.product_ordered)
        # Nor does a line of another order move into it.
        with self.assertRaises(UserError) as caught:
            other.order_line.with_user(self.salesperson).order_id = order
        self.assertIn("2025-01", str(caught.exception))
        self.assertUnchanged(order, "sale", 100.0, 1)
        self.assertUnchanged(other, "sale", 200.0, 1)

    def test_a_closed_sale_is_still_delivered_and_invoiced(self):
        order = self.order_in_january(
            [(self.product_delivered, 3), (self.product_ordered, 2)]
        )
        self.close_january()
        as_salesperson = order.with_user(self.salesperson)

        # A down payment: Odoo adds its lines, then prices them on posting.
        self.env["sale.advance.payment.inv"].with_context(
            active_model="sale.order", active_ids=order.ids
        ).create(
            {"advance_payment_method": "percentage", "amount": 10}
        ).create_invoices()
        down_payment = order.invoice_ids
        down_payment.action_post()
        self.assertEqual(down_payment.amount_total, 40.0)

        # Deliveries recorded by the salesperson, then the final invoice.
        as_salesperson.order_line.filtered(
            lambda line: line.product_id == self.product_delivered
        ).qty_delivered = 2
        # Less the down payment.
        invoice = order._create_invoices(final=True)
        invoice.action_post()
        self.assertEqual(invoice.state, "posted")
        self.assertEqual(invoice.amount_total, 300.0 - 40.0)
        self.assertRecordValues(
            order.order_line.filtered("product_id").sorted("id"),
            [
                {"qty_delivered": 2.0, "qty_invoiced": 2.0},
                {"qty_delivered": 0.0, "qty_invoiced": 2.0},
            ],
        )
        self.assertEqual(order.state, "sale")
        self.assertEqual(order.amount_total, 400.0)
        self.assertEqual(order.date_order, JANUARY_DAY)
        self.assertEqual(order.reconciliation_state, "open")
