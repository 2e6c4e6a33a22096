"""Two cashiers confirm the same collection at once, in two real
transactions: one payment only."""

from psycopg2.errors import SerializationFailure

from odoo import SUPERUSER_ID, api
from odoo.exceptions import UserError
from odoo.tests import TransactionCase, new_test_user, tagged
from odoo.tools import mute_logger


@tagged("post_install", "-at_install")
class TestCollectionConcurrency(TransactionCase):
    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            company = env.ref("base.main_company")
            salesperson = new_test_user(
                env,
                login="concurrent_collection_salesperson",
                groups="sales_team.group_sale_salesman",
                company_id=company.id,
            )
            cashier = new_test_user(
                env,
                login="concurrent_collection_cashier",
                groups="account.group_account_manager",
                company_id=company.id,
            )
            partner = env["res.partner"].create(
                {"name": "Concurrent Collection Customer", "is_company": True}
            )
            collection = (
                env["sale.reconciliation.collection"]
                .with_user(salesperson)
                .create({"partner_id": partner.id, "amount": 250.0})
            )
            handover = env["sale.reconciliation.collection.handover"].browse(
                collection.action_create_handover()["res_id"]
            )
            handover.with_user(salesperson).cashier_id = cashier
            handover.with_user(salesperson).action_hand_over()
            self.cash_id = (
                env["account.journal"]
                .search(
                    [("type", "=", "cash"), ("company_id", "=", company.id)], limit=1
                )
                .id
            )
            self.ids = {
                "salesperson": salesperson.id,
                "cashier": cashier.id,
                "partner": partner.id,
                "collection": collection.id,
                "handover": handover.id,
            }
        self.addCleanup(self.clean_up)

    def clean_up(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            ids = self.ids
            payments = env["account.payment"].search(
                [("partner_id", "=", ids["partner"])]
            )
            payments.action_draft()
            payments.unlink()
            env["mail.activity"].search(
                [
                    ("res_model", "=", "sale.reconciliation.collection.handover"),
                    ("res_id", "=", ids["handover"]),
                ]
            ).unlink()
            env["mail.message"].search(
                [
                    "|",
                    "&",
                    ("model", "=", "sale.reconciliation.collection"),
                    ("res_id", "=", ids["collection"]),
                    "&",
                    ("model", "=", "sale.reconciliation.collection.handover"),
                    ("res_id", "=", ids["handover"]),
                ]
            ).unlink()
            # Handed-over collections are never deleted through Odoo.
            cr.execute(
                "DELETE FROM sale_reconciliation_collection WHERE id = %s",
                [ids["collection"]],
            )
            cr.execute(
                "DELETE FROM sale_reconciliation_collection_handover WHERE id = %s",
                [ids["handover"]],
            )
            users = env["res.users"].browse([ids["salesperson"], ids["cashier"]])
            partners = users.partner_id | env["res.partner"].browse(ids["partner"])
            users.unlink()
            partners.unlink()

    def confirm(self, env):
        collection = env["sale.reconciliation.collection"].browse(
            self.ids["collection"]
        )
        collection.action_confirm(250.0, self.cash_id)
        env.flush_all()

    def test_two_cashiers_confirm_at_once_one_payment(self):
        with (
            self.registry.cursor() as cr_a,
            self.registry.cursor() as cr_b,
            self.registry.cursor() as cr_c,
        ):
            env_a, env_b, env_c = (
                api.Environment(cr, self.ids["cashier"], {})
                for cr in (cr_a, cr_b, cr_c)
            )
            self.confirm(env_a)
            # While A's confirmation runs, B is told at once.
            with self.assertRaises(UserError) as caught:
                self.confirm(env_b)
            self.assertIn("another user", str(caught.exception))
            cr_b.rollback()
            # C starts before A commits: its view predates A's payment.
            cr_c.execute("SELECT 1 FROM res_users WHERE id = %s", [self.ids["cashier"]])
            cr_a.commit()  # pylint: disable=invalid-commit
            # PostgreSQL refuses C's confirmation (Odoo retries such a
            # request with a fresh view of the database)...
            with mute_logger("odoo.sql_db"), self.assertRaises(SerializationFailure):
                self.confirm(env_c)
            cr_c.rollback()
            # ... which then sees the collection confirmed.
            for env in (env_b, env_c):
                with self.assertRaises(UserError) as caught:
                    self.confirm(env)
                self.assertIn("Confirmed", str(caught.exception))
                env.cr.rollback()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            self.assertEqual(
                env["account.payment"].search_count(
                    [("partner_id", "=", self.ids["partner"])]
                ),
                1,
            )
            self.assertEqual(
                env["sale.reconciliation.collection"]
                .browse(self.ids["collection"])
                .state,
                "confirmed",
            )
