"""Two users make the same customer's statement of a month at once, in two
real transactions: one statement, and the other user is told which."""

from unittest.mock import patch

from psycopg2.errors import SerializationFailure

from odoo import SUPERUSER_ID, api, fields
from odoo.exceptions import UserError
from odoo.tests import TransactionCase, new_test_user, tagged
from odoo.tools import mute_logger

from odoo.addons.sale_reconciliation.models.sale_reconciliation_statement import (
    SaleReconciliationStatement,
)

MARCH = {"date_from": "2025-03-01", "date_to": "2025-03-31"}


@tagged("post_install", "-at_install")
class TestStatementConcurrency(TransactionCase):
    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            company = env.ref("base.main_company")
            review_required = company.statement_review_required
            company.statement_review_required = False
            manager = new_test_user(
                env,
                login="concurrent_statement_manager",
                groups="account.group_account_manager,sales_team.group_sale_manager",
                company_id=company.id,
            )
            partner = env["res.partner"].create(
                {"name": "Concurrent Statement Customer", "is_company": True}
            )
            invoice = env["account.move"].create(
                {
                    "move_type": "out_invoice",
                    "partner_id": partner.id,
                    "company_id": company.id,
                    "invoice_date": fields.Date.to_date("2025-03-05"),
                    "invoice_line_ids": [
                        fields.Command.create({"name": "Goods", "price_unit": 500.0})
                    ],
                }
            )
            invoice.line_ids.tax_ids = False
            invoice.action_post()
            self.ids = {
                "company": company.id,
                "review_required": review_required,
                "manager": manager.id,
                "partner": partner.id,
                "invoice": invoice.id,
            }
        self.addCleanup(self.clean_up)

    def clean_up(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            ids = self.ids
            statements = env["sale.reconciliation.statement"].search(
                [("partner_id", "=", ids["partner"])]
            )
            env["mail.message"].search(
                [("model", "=", statements._name), ("res_id", "in", statements.ids)]
            ).unlink()
            statements.unlink()
            invoice = env["account.move"].browse(ids["invoice"])
            invoice.button_draft()
            invoice.with_context(force_delete=True).unlink()
            user = env["res.users"].browse(ids["manager"])
            partners = user.partner_id | env["res.partner"].browse(ids["partner"])
            user.unlink()
            partners.unlink()
            env["res.company"].browse(ids["company"]).statement_review_required = ids[
                "review_required"
            ]

    def make(self, env):
        statement = env["sale.reconciliation.statement"].create(
            {"partner_id": self.ids["partner"], **MARCH}
        )
        env.flush_all()
        return statement

    def count_live(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            return env["sale.reconciliation.statement"].search_count(
                [("partner_id", "=", self.ids["partner"]), ("state", "!=", "cancel")]
            )

    def test_two_users_make_the_same_statement_at_once(self):
        with (
            self.registry.cursor() as cr_a,
            self.registry.cursor() as cr_b,
        ):
            env_a, env_b = (
                api.Environment(cr, self.ids["manager"], {}) for cr in (cr_a, cr_b)
            )
            name = self.make(env_a).name
            # While A's statement is being made, B is told to wait.
            with self.assertRaises(UserError) as caught:
                self.make(env_b)
            self.assertIn("another user", str(caught.exception))
            cr_b.rollback()
            # B starts again before A commits: its view predates A's statement.
            cr_b.execute("SELECT 1 FROM res_users WHERE id = %s", [self.ids["manager"]])
            cr_a.commit()  # pylint: disable=invalid-commit
            # PostgreSQL refuses B's statement; Odoo retries such a request
            # with a fresh view of the database...
            with mute_logger("odoo.sql_db"), self.assertRaises(SerializationFailure):
                self.make(env_b)
            cr_b.rollback()
            # ... where B is told which statement A made.
            with self.assertRaises(UserError) as caught:
                self.make(env_b)
            self.assertIn(name, str(caught.exception))
            self.assertNotIn("duplicate key", str(caught.exception))
            cr_b.rollback()
        self.assertEqual(self.count_live(), 1)

    def test_database_index_refusal_names_the_statement(self):
        """The lock and the sequence row stop the second statement before the
        database's index: without them, the index refuses it, and B is told
        the same as when it can see A's statement."""
        with (
            self.registry.cursor() as cr_a,
            self.registry.cursor() as cr_b,
        ):
            env_a, env_b = (
                api.Environment(cr, self.ids["manager"], {}) for cr in (cr_a, cr_b)
            )
            cr_b.execute("SELECT 1 FROM res_users WHERE id = %s", [self.ids["manager"]])
            name = self.make(env_a).name
            cr_a.commit()  # pylint: disable=invalid-commit
            with (
                patch.object(
                    SaleReconciliationStatement,
                    "_lock_statements_of_companies",
                    lambda self, companies: None,
                ),
                mute_logger("odoo.sql_db"),
                self.assertRaises(UserError) as caught,
            ):
                self.make(env_b)
            self.assertIn(name, str(caught.exception))
            self.assertNotIn("duplicate key", str(caught.exception))
            cr_b.rollback()
        self.assertEqual(self.count_live(), 1)

    def test_reset_to_draft_beside_a_statement_made_at_once(self):
        """A manager resets a cancelled statement to draft while another makes
        a new one of the same month: the database's index refuses the second
        to commit, which is told which statement is in the way."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, self.ids["manager"], {})
            cancelled = self.make(env)
            cancelled.action_cancel()
            cancelled_id = cancelled.id
        with (
            self.registry.cursor() as cr_a,
            self.registry.cursor() as cr_b,
        ):
            env_a, env_b = (
                api.Environment(cr, self.ids["manager"], {}) for cr in (cr_a, cr_b)
            )
            cr_b.execute("SELECT 1 FROM res_users WHERE id = %s", [self.ids["manager"]])
            name = self.make(env_a).name
            cr_a.commit()  # pylint: disable=invalid-commit
            with mute_logger("odoo.sql_db"), self.assertRaises(UserError) as caught:
                env_b["sale.reconciliation.statement"].browse(
                    cancelled_id
                ).action_draft()
                env_b.flush_all()
            self.assertIn(name, str(caught.exception))
            self.assertNotIn("duplicate key", str(caught.exception))
            cr_b.rollback()
        self.assertEqual(self.count_live(), 1)
