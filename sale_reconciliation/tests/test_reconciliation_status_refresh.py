from unittest.mock import patch

from dateutil.relativedelta import relativedelta

from odoo import SUPERUSER_ID, Command, api, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from odoo.addons.sale_reconciliation.models.sale_reconciliation_status_refresh import (  # noqa: E501
    REFRESH_CRON_XMLID,
)

from .common import SaleReconciliationCommon

LOGGER = "odoo.addons.sale_reconciliation.models.sale_reconciliation_status_refresh"


@tagged("post_install", "-at_install")
class TestReconciliationStatusRefresh(SaleReconciliationCommon):
    """What the scheduled action computing the orders' and payments' figures
    sees of Odoo's flows, and how it behaves when a document cannot be
    computed."""

    def reconciled_order(self):
        order = self.create_order([(self.product_ordered, 2)])
        self.deliver(order, [2])
        invoice = self.invoice(order)
        self.pay(invoice)
        self.assertOrderFigures(order, "reconciled", 100.0, 100.0, 0.0)
        return order, invoice

    def test_draft_credit_note_made_and_deleted(self):
        order, invoice = self.reconciled_order()
        # A credit note prepared, not posted yet: the order waits for it.
        credit_note = invoice._reverse_moves()
        self.assertEqual(credit_note.state, "draft")
        self.assertEqual(credit_note.invoice_line_ids.sale_line_ids, order.order_line)
        self.assertOrderFigures(order, "open", 100.0, 100.0, 0.0)

        credit_note.unlink()
        self.assertOrderFigures(order, "reconciled", 100.0, 100.0, 0.0)

    def test_a_document_that_cannot_be_computed_is_kept_and_retried(self):
        failing = self.create_order([(self.product_ordered, 1)])
        other = self.create_order([(self.product_ordered, 2)])
        self.assertOrderFigures(failing, "open", 0.0, 0.0, 0.0)
        SaleOrder = type(self.env["sale.order"])
        analysis = SaleOrder._get_reconciliation_analysis

        def refuse_one(order):
            if order == failing:
                raise UserError(order.env._("corrupt order"))
            return analysis(order)

        Queue = self.env["sale.reconciliation.status.refresh"]
        with (
            patch.object(SaleOrder, "_get_reconciliation_analysis", refuse_one),
            self.assertLogs(LOGGER, level="ERROR") as logs,
        ):
            # Odoo's flow goes through; the failing order keeps its figures,
            # the other gets its own.
            invoices = (failing | other)._create_invoices(grouped=True)
            invoices.action_post()
            self.assertOrderFigures(other, "open", 100.0, 0.0, 100.0)
            self.assertOrderFigures(failing, "open", 0.0, 0.0, 0.0)
            self.assertEqual(invoices.mapped("state"), ["posted", "posted"])
            # What the commit runs: the failing order is queued, not dropped.
            self.env.cr.precommit.run()
        self.assertIn(str(failing), "\n".join(logs.output))
        kept = Queue.search([])
        self.assertRecordValues(
            kept, [{"order_id": failing.id, "attempts": 1, "payment_id": False}]
        )
        self.assertIn("corrupt order", kept.error)
        self.assertGreater(kept.retry_after, fields.Datetime.now())
        # Before its retry time, runs leave it alone.
        with patch.object(SaleOrder, "_get_reconciliation_analysis", refuse_one):
            Queue._refresh_queued()
        self.assertEqual(kept.exists().attempts, 1)
        # Failing every time: tried a bounded number of times, then waits
        # for an administrator, listed with its error.
        with (
            patch.object(SaleOrder, "_get_reconciliation_analysis", refuse_one),
            mute_logger(LOGGER),
        ):
            for _attempt in range(10):
                Queue.search([]).sudo().write({"retry_after": False})
                Queue._refresh_queued()
        kept = Queue.search([])
        self.assertRecordValues(kept, [{"order_id": failing.id, "attempts": 5}])
        self.assertOrderFigures(failing, "open", 0.0, 0.0, 0.0)
        # The administrator retries once the cause is fixed: computed.
        admin = new_test_user(
            self.env, login="refresh_admin", groups="base.group_system"
        )
        manager = new_test_user(
            self.env, login="refresh_manager", groups="sales_team.group_sale_manager"
        )
        with self.assertRaises(AccessError):
            kept.with_user(manager).action_retry()
        kept.with_user(admin).action_retry()
        Queue._refresh_queued()
        self.assertFalse(Queue.search([]))
        self.assertOrderFigures(failing, "open", 50.0, 0.0, 50.0)

    def test_order_held_by_a_user_is_done_in_a_later_run(self):
        """Two real transactions: a user holds an order whose figures failed
        (editing it) while the scheduled action retries it. The action
        neither waits for it nor fails: the order stays queued for a later
        run, done then."""
        registry = self.registry

        def admin_env(cr):
            return api.Environment(cr, SUPERUSER_ID, {})

        with registry.cursor() as cr:
            env = admin_env(cr)
            partner = env["res.partner"].create({"name": "Held Customer"})
            product = env["product.product"].create(
                {"name": "Held goods", "list_price": 10.0, "invoice_policy": "order"}
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
            order_id, partner_id, product_id = order.id, partner.id, product.id
            # Its figures failed to compute: queued, to be tried again.
            env.flush_all()
            cr.execute(
                "INSERT INTO sale_reconciliation_status_refresh"
                " (order_id, attempts, error) VALUES (%s, 1, 'failed')",
                [order_id],
            )
            cr.execute(
                "UPDATE sale_order SET reconciliation_state = 'none'" " WHERE id = %s",
                [order_id],
            )
        try:
            with registry.cursor() as user_cr, registry.cursor() as cron_cr:
                user_cr.execute(
                    "SELECT id FROM sale_order WHERE id = %s FOR NO KEY UPDATE",
                    [order_id],
                )
                cron_env = admin_env(cron_cr)
                cron_cr.execute("SET LOCAL lock_timeout = '5s'")
                Refresh = cron_env["sale.reconciliation.status.refresh"]
                Refresh._refresh_queued()
                self.assertRecordValues(
                    Refresh.search([("order_id", "=", order_id)]),
                    [{"order_id": order_id, "attempts": 1, "error": "failed"}],
                )
                self.assertEqual(
                    cron_env["sale.order"].browse(order_id).reconciliation_state,
                    "none",
                    "not computed while the user holds it",
                )
                cron = cron_env.ref(REFRESH_CRON_XMLID)
                self.assertTrue(
                    cron_env["ir.cron.trigger"].search(
                        [("cron_id", "=", cron.id), ("call_at", ">", cron_cr.now())]
                    ),
                    "a later run is planned",
                )
                cron_cr.commit()
                # Closing the month meanwhile waits for nobody either: the
                # order still being changed blocks it, and says why.
                with registry.cursor() as close_cr:
                    close_cr.execute("SET LOCAL lock_timeout = '5s'")
                    close_env = admin_env(close_cr)
                    today = fields.Date.context_today(close_env["res.users"])
                    period = close_env["sale.reconciliation.period"].create(
                        {
                            "name": "Held month",
                            "company_id": close_env.company.id,
                            "date_from": today.replace(day=1),
                            "date_to": today.replace(day=1)
                            + relativedelta(months=1, days=-1),
                        }
                    )
                    stale = {
                        item["code"]: item for item in period._get_closing_checklist()
                    }["stale_figures"]
                    self.assertEqual((stale["count"], stale["blocking"]), (1, True))
                    close_cr.rollback()
                user_cr.rollback()
            with registry.cursor() as cr:
                env = admin_env(cr)
                queue = env["sale.reconciliation.status.refresh"]
                queue.search([]).write({"retry_after": False})
                queue._refresh_queued()
                self.assertFalse(queue.search([("order_id", "=", order_id)]))
                self.assertEqual(
                    env["sale.order"].browse(order_id).reconciliation_state, "open"
                )
        finally:
            with registry.cursor() as cr:
                env = admin_env(cr)
                order = env["sale.order"].browse(order_id)
                order._action_cancel()
                order.unlink()
                env["product.product"].browse(product_id).unlink()
                env["res.partner"].browse(partner_id).unlink()
                cr.execute(
                    "DELETE FROM sale_reconciliation_status_refresh"
                    " WHERE order_id = %s",
                    [order_id],
                )
