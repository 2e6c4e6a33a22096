"""Two credit managers (or a credit manager and the daily run) remind the
same customer at once, in two real transactions: one reminder."""

from datetime import timedelta

from psycopg2.errors import SerializationFailure

from odoo import SUPERUSER_ID, Command, api, fields
from odoo.tests import TransactionCase, new_test_user, tagged
from odoo.tools import mute_logger


@tagged("post_install", "-at_install")
class TestFollowupConcurrency(TransactionCase):
    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            company = env.ref("base.main_company")
            manager = new_test_user(
                env,
                login="concurrent_followup_credit_manager",
                groups="sale_reconciliation.group_credit_manager",
                company_id=company.id,
            )
            partner = env["res.partner"].create(
                {
                    "name": "Concurrent Follow-up Customer",
                    "is_company": True,
                    "email": "ap@concurrent.example",
                }
            )
            today = fields.Date.context_today(env["res.partner"])
            invoice = (
                env["account.move"]
                .with_company(company)
                .create(
                    {
                        "move_type": "out_invoice",
                        "partner_id": partner.id,
                        "invoice_date": today - timedelta(days=35),
                        "invoice_date_due": today - timedelta(days=5),
                        "invoice_line_ids": [
                            Command.create(
                                {"name": "Desk", "price_unit": 100.0, "tax_ids": []}
                            )
                        ],
                    }
                )
            )
            invoice.action_post()
            profile = env["sale.reconciliation.credit.profile"].create(
                {"partner_id": partner.id, "company_id": company.id}
            )
            self.ids = {
                "manager": manager.id,
                "partner": partner.id,
                "invoice": invoice.id,
                "profile": profile.id,
            }
        self.addCleanup(self.clean_up)

    def clean_up(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            ids = self.ids
            profile = env["sale.reconciliation.credit.profile"].browse(ids["profile"])
            histories = profile.followup_history_ids
            env["mail.mail"].search(
                [("mail_message_id.res_id", "=", ids["partner"])]
            ).unlink()
            env["mail.message"].search(
                [("model", "=", "res.partner"), ("res_id", "=", ids["partner"])]
            ).unlink()
            env["ir.attachment"].search(
                [
                    ("res_model", "=", histories._name),
                    ("res_id", "in", histories.ids),
                ]
            ).unlink()
            histories.unlink()
            profile.unlink()
            invoice = env["account.move"].browse(ids["invoice"])
            invoice.button_draft()
            invoice.unlink()
            user = env["res.users"].browse(ids["manager"])
            partners = user.partner_id | env["res.partner"].browse(ids["partner"])
            user.unlink()
            partners.unlink()

    def remind(self, env):
        """What a credit manager's Process does for the customer."""
        profile = env["sale.reconciliation.credit.profile"].browse(self.ids["profile"])
        prepared = profile._followup_prepare()
        if prepared:
            profile._followup_send(prepared)
        env.flush_all()
        return prepared

    def test_two_credit_managers_remind_at_once_one_reminder(self):
        with (
            self.registry.cursor() as cr_a,
            self.registry.cursor() as cr_b,
        ):
            env_a, env_b = (
                api.Environment(cr, self.ids["manager"], {}) for cr in (cr_a, cr_b)
            )
            # B's view of the database is taken before A commits.
            cr_b.execute("SELECT 1 FROM res_users WHERE id = %s", [self.ids["manager"]])
            self.assertTrue(self.remind(env_a))
            cr_a.commit()  # pylint: disable=invalid-commit
            # B still sees the customer due; PostgreSQL refuses its reminder
            # (Odoo retries such a request with a fresh view)...
            with mute_logger("odoo.sql_db"), self.assertRaises(SerializationFailure):
                self.remind(env_b)
            cr_b.rollback()
            # ... which then finds nothing to remind.
            self.assertFalse(self.remind(env_b))
            cr_b.commit()  # pylint: disable=invalid-commit
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            profile = env["sale.reconciliation.credit.profile"].browse(
                self.ids["profile"]
            )
            self.assertEqual(len(profile.followup_history_ids), 1)
            self.assertEqual(
                env["mail.mail"].search_count(
                    [("recipient_ids", "in", [self.ids["partner"]])]
                ),
                1,
            )
            invoice = env["account.move"].browse(self.ids["invoice"])
            self.assertEqual(
                invoice.line_ids.filtered("followup_level_id").followup_level_id,
                env.ref("sale_reconciliation.followup_level_reminder"),
            )
