"""Odoo's postings never fail nor wait because of credit figures: two users
post an invoice and register its payment for the same new customer at the
same time, in two real transactions, and both commit."""

import threading

from odoo import SUPERUSER_ID, Command, api
from odoo.tests import TransactionCase, tagged

BARRIER_TIMEOUT = 60


@tagged("post_install", "-at_install")
class TestCreditConcurrency(TransactionCase):
    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            company = env.ref("base.main_company")
            self.partner_id = (
                env["res.partner"]
                .create({"name": "Brand New Customer", "is_company": True})
                .id
            )
            Journal = env["account.journal"]
            sales = Journal.search(
                [("type", "=", "sale"), ("company_id", "=", company.id)], limit=1
            )
            bank = Journal.search(
                [("type", "=", "bank"), ("company_id", "=", company.id)], limit=1
            )
            self.journal_ids = [
                (sales.id, bank.id),
                # Each user its own journals: Odoo numbers the entries of a
                # journal one transaction after the other, whatever module.
                (
                    Journal.create(
                        {
                            "name": "Second Sales",
                            "code": "SALB",
                            "type": "sale",
                            "default_account_id": sales.default_account_id.id,
                        }
                    ).id,
                    Journal.create(
                        {"name": "Second Bank", "code": "BNKB", "type": "bank"}
                    ).id,
                ),
            ]
            self.company_id = company.id
        self.addCleanup(self.clean_up)

    def clean_up(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["account.payment.register"].search(
                [("partner_id", "=", self.partner_id)]
            ).unlink()
            payments = env["account.payment"].search(
                [("partner_id", "=", self.partner_id)]
            )
            payments.action_draft()
            payments.unlink()
            invoices = env["account.move"].search(
                [("partner_id", "=", self.partner_id)]
            )
            invoices.filtered(lambda move: move.state == "posted").button_draft()
            invoices.unlink()
            env["sale.reconciliation.credit.profile"].search(
                [("partner_id", "=", self.partner_id)]
            ).unlink()
            cr.execute(
                "DELETE FROM sale_reconciliation_credit_refresh WHERE partner_id = %s",
                [self.partner_id],
            )
            env["account.journal"].browse(
                [journal_id for pair in self.journal_ids[1:] for journal_id in pair]
            ).unlink()
            env["res.partner"].browse(self.partner_id).unlink()

    def post_and_pay(self, journals, barrier, errors):
        sale_journal_id, bank_journal_id = journals
        try:
            with self.registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                invoice = env["account.move"].create(
                    {
                        "move_type": "out_invoice",
                        "partner_id": self.partner_id,
                        "journal_id": sale_journal_id,
                        "invoice_line_ids": [
                            Command.create(
                                {"name": "Goods", "quantity": 1, "price_unit": 300.0}
                            )
                        ],
                    }
                )
                invoice.action_post()
                env["account.payment.register"].with_context(
                    active_model="account.move", active_ids=invoice.ids
                ).create({"journal_id": bank_journal_id})._create_payments()
                env.flush_all()
                # Both transactions have done their work before either commits.
                barrier.wait(BARRIER_TIMEOUT)
                # A user's request ends with its commit: that is what is tested.
                cr.commit()  # pylint: disable=invalid-commit
        except Exception as error:  # noqa: BLE001 - reported by the test
            barrier.abort()
            errors.append(error)

    def test_two_users_post_and_pay_for_a_new_customer_at_once(self):
        barrier = threading.Barrier(2)
        errors = []
        threads = [
            threading.Thread(target=self.post_and_pay, args=(journals, barrier, errors))
            for journals in self.journal_ids
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(2 * BARRIER_TIMEOUT)
        self.assertEqual(errors, [])
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            invoices = env["account.move"].search(
                [
                    ("partner_id", "=", self.partner_id),
                    ("move_type", "=", "out_invoice"),
                ]
            )
            self.assertEqual(len(invoices), 2)
            for state in invoices.mapped("payment_state"):
                self.assertIn(state, ("paid", "in_payment"))
            # The scheduled action the commits woke makes the one profile.
            env["sale.reconciliation.credit.profile"]._cron_refresh_queued()
            profile = env["sale.reconciliation.credit.profile"].search(
                [("partner_id", "=", self.partner_id)]
            )
            self.assertEqual(len(profile), 1)
            self.assertEqual(profile.credit_exposure, 0.0)
            # The profile stays for the clean-up to find it, outside the test.
            cr.commit()  # pylint: disable=invalid-commit
