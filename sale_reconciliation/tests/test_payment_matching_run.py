"""The scheduled payment matching: a run a day per company, a chunk of
customers per call of the scheduled action (Odoo 18's batch protocol), a
refusal or a failing customer or company listed while the others are
matched. The kill between chunks is bench/match_kill_resume.sh."""

from unittest.mock import patch

from odoo.exceptions import UserError
from odoo.tests import tagged

from odoo.addons.sale_reconciliation.models.sale_reconciliation_match_run import (
    CHUNK_SIZE_PARAM,
)
from odoo.addons.sale_reconciliation.models.sale_reconciliation_run_mixin import (
    SaleReconciliationRunMixin,
)

from .test_payment_matching import PaymentMatchingCommon

RUN_LOGGER = "odoo.addons.sale_reconciliation.models.sale_reconciliation_match_run"
CRON_XMLID = "sale_reconciliation.ir_cron_match_payments"


@tagged("post_install", "-at_install")
class TestScheduledMatching(PaymentMatchingCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other_customers = cls.env["res.partner"].create(
            [
                {"name": f"Scheduled Customer {index}", "is_company": True}
                for index in range(2)
            ]
        )

    def call_cron(self):
        """One call of the scheduled action as Odoo's cron worker makes it:
        (done, remaining) as it notified them."""
        _cron, progress = self.env.ref(CRON_XMLID)._add_progress()
        self.env["sale.reconciliation.match"].with_context(
            ir_cron_progress_id=progress.id
        )._cron_match()
        return progress.done, progress.remaining

    def run_cron(self):
        """The calls Odoo's cron worker makes while some work remains."""
        calls = [self.call_cron()]
        while calls[-1][1] and len(calls) < 20:
            calls.append(self.call_cron())
        return calls

    def runs(self, company=None):
        return self.env["sale.reconciliation.match.run"].search(
            [("company_id", "=", (company or self.env.company).id)]
        )

    def named_payment(self, amount, partner=None, **values):
        """An invoice and a payment naming it."""
        invoice = self.invoice_at(self.days_ago(10), amount, partner=partner)
        payment = self.payment(amount, memo=invoice.name, partner=partner, **values)
        return invoice, payment

    def other_company_match(self):
        """A second company with an invoice and a payment of its amount."""
        company = self.setup_other_company()["company"]
        invoice = self.init_invoice(
            "out_invoice",
            partner=self.customer,
            invoice_date=self.days_ago(10),
            amounts=[70.0],
            taxes=[],
            company=company,
            post=True,
        )
        payment = self.receive_payment(70.0, company=company)
        return company, invoice, payment

    def test_scheduled_action_runs_the_rules_without_judgement(self):
        named = self.invoice_at(self.days_ago(20), 100.0)
        fifo_only = self.invoice_at(self.days_ago(10), 400.0)
        self.payment(100.0, memo=named.name)
        self.payment(150.0)  # would need FIFO: left alone
        self.env["sale.reconciliation.match"]._cron_match()
        self.assertEqual(named.reconciliation_state, "reconciled")
        self.assertEqual(fifo_only.payment_state, "not_paid")
        self.assertRecordValues(
            self.runs(), [{"state": "done", "matched_count": 1, "refused_count": 0}]
        )

    def test_scheduled_matching_in_chunks(self):
        """Three customers in chunks of one: each call of the scheduled action
        matches one customer in its own transaction and tells Odoo how many
        remain, so that Odoo calls it again; the day's run is not started
        twice."""
        self.env["ir.config_parameter"].set_param(CHUNK_SIZE_PARAM, "1")
        customers = self.customer | self.other_customers
        matches = [
            self.named_payment(100.0 * (index + 1), partner=customer)
            for index, customer in enumerate(customers)
        ]
        self.assertEqual(self.call_cron(), (1, 2))
        run = self.runs()
        self.assertEqual(run.state, "running")
        self.assertEqual(run.line_ids.partner_id, customers)
        self.assertEqual(run.line_ids.mapped("state"), ["done", "todo", "todo"])
        self.assertEqual(
            [invoice.payment_state for invoice, _payment in matches],
            ["paid", "not_paid", "not_paid"],
        )

        self.assertEqual(self.run_cron(), [(1, 1), (1, 0)])
        self.assertRecordValues(
            run,
            [{"state": "done", "matched_count": 3, "done_count": 3, "todo_count": 0}],
        )
        self.assertEqual(run.line_ids.mapped("matched_count"), [1, 1, 1])
        for invoice, payment in matches:
            self.assertEqual(invoice.payment_state, "paid")
            self.assertEqual(payment.reconciliation_state, "matched")

        self.named_payment(50.0)
        self.assertEqual(self.call_cron(), (0, 0))
        self.assertEqual(self.runs(), run, "one run a day")

    def test_refusal_listed_while_the_others_are_matched(self):
        """Odoo refuses a match needing an exchange difference in a company
        without an exchange journal: it is logged and listed on the
        customer's line with Odoo's reason; the company's other match and
        another company's are made."""
        company = self.env.company
        eur = self.setup_other_currency("EUR")
        self.env["res.currency.rate"].create(
            {
                "name": self.today,
                "rate": 2.5,
                "currency_id": eur.id,
                "company_id": company.id,
            }
        )
        company.currency_exchange_journal_id = False
        foreign = self.invoice_at(self.days_ago(10), 100.0, currency=eur)
        foreign_payment = self.payment(100.0, memo=foreign.name, currency=eur)
        local, _local_payment = self.named_payment(300.0)
        company_2, invoice_2, _payment_2 = self.other_company_match()

        with self.assertLogs(RUN_LOGGER, level="WARNING") as logs:
            self.run_cron()
        self.assertEqual(local.reconciliation_state, "reconciled")
        self.assertEqual(invoice_2.payment_state, "paid")
        self.assertEqual(foreign.payment_state, "not_paid")
        self.assertEqual(foreign.amount_residual, 100.0)
        self.assertEqual(foreign_payment.reconciliation_state, "unmatched")
        refusal = "\n".join(logs.output)
        self.assertIn(foreign_payment.move_id.name, refusal)
        self.assertIn(foreign.name, refusal)
        self.assertIn("Exchange Gain or Loss Journal", refusal)
        run = self.runs()
        self.assertRecordValues(
            run, [{"state": "done", "matched_count": 1, "refused_count": 1}]
        )
        self.assertRecordValues(
            run.line_ids,
            [{"partner_id": self.customer.id, "matched_count": 1, "refused_count": 1}],
        )
        self.assertIn(foreign_payment.move_id.name, run.line_ids.reason)
        self.assertIn("Exchange Gain or Loss Journal", run.line_ids.reason)
        self.assertRecordValues(
            self.runs(company_2), [{"state": "done", "matched_count": 1}]
        )

    def test_failing_customer_does_not_stop_the_others(self):
        """The chunk of two customers raises: it is undone and done again
        customer by customer; the one that raises is listed as failed with
        the error, the other is matched. The run ends failed, so that
        someone looks at it."""
        failing, other = self.other_customers
        failing_invoice, failing_payment = self.named_payment(100.0, partner=failing)
        other_invoice, other_payment = self.named_payment(200.0, partner=other)
        Match = type(self.env["sale.reconciliation.match"])
        compute_proposals = Match._compute_proposals

        def fail_for_one_customer(wizard, rules):
            proposals = compute_proposals(wizard, rules)
            if failing in wizard.partner_ids:
                # After matching: what it did must be undone.
                wizard.env["sale.reconciliation.match.line"].create(
                    [dict(vals, wizard_id=wizard.id) for vals in proposals]
                )._reconcile()
                raise ZeroDivisionError("customer data broken")
            return proposals

        with patch.object(Match, "_compute_proposals", fail_for_one_customer):
            self.assertEqual(self.run_cron(), [(2, 0)])
        self.assertEqual(failing_invoice.payment_state, "not_paid", "rolled back")
        self.assertEqual(failing_payment.reconciliation_state, "unmatched")
        self.assertEqual(other_invoice.payment_state, "paid")
        self.assertEqual(other_payment.reconciliation_state, "matched")
        run = self.runs()
        self.assertEqual(run.state, "failed")
        self.assertRecordValues(
            run.line_ids.sorted(lambda line: line.partner_id != failing),
            [
                {
                    "partner_id": failing.id,
                    "state": "failed",
                    "matched_count": 0,
                    "reason": "customer data broken",
                },
                {
                    "partner_id": other.id,
                    "state": "done",
                    "matched_count": 1,
                    "reason": False,
                },
            ],
        )

    def test_failing_company_does_not_stop_the_others(self):
        """A company whose matching fails outright is rolled back, its
        customers listed as failed with the error; a company whose run cannot
        even start is logged and skipped; the other company is matched."""
        company = self.env.company
        local, local_payment = self.named_payment(300.0)
        company_2, invoice_2, payment_2 = self.other_company_match()
        company_3 = self.env["res.company"].create({"name": "Company Failing to Start"})
        Match = type(self.env["sale.reconciliation.match"])
        compute_proposals = Match._compute_proposals
        MatchRun = type(self.env["sale.reconciliation.match.run"])
        scope = MatchRun._get_scope_partner_ids

        def fail_in_first_company(wizard, rules):
            proposals = compute_proposals(wizard, rules)
            if wizard.company_id == company:
                wizard.env["sale.reconciliation.match.line"].create(
                    [dict(vals, wizard_id=wizard.id) for vals in proposals]
                )._reconcile()
                raise UserError(wizard.env._("Company refused after matching"))
            return proposals

        def fail_to_start_company_3(run_model, company):
            if company == company_3:
                raise ZeroDivisionError("company data broken")
            return scope(run_model, company)

        with (
            patch.object(Match, "_compute_proposals", fail_in_first_company),
            patch.object(MatchRun, "_get_scope_partner_ids", fail_to_start_company_3),
            self.assertLogs(RUN_LOGGER, level="ERROR") as logs,
        ):
            self.run_cron()
        self.assertEqual(local.payment_state, "not_paid", "rolled back")
        self.assertEqual(local_payment.reconciliation_state, "unmatched")
        self.assertRecordValues(
            self.runs().line_ids,
            [{"state": "failed", "reason": "Company refused after matching"}],
        )
        self.assertEqual(self.runs().state, "failed")
        self.assertEqual(invoice_2.payment_state, "paid")
        self.assertEqual(payment_2.reconciliation_state, "matched")
        self.assertEqual(self.runs(company_2).state, "done")
        self.assertFalse(self.runs(company_3))
        self.assertIn(company_3.name, "\n".join(logs.output))
        self.assertIn("company data broken", "\n".join(logs.output))

    def test_nothing_to_match_does_not_call_again(self):
        """With no customer to match, the scheduled action starts no run and
        does not wake itself: Odoo calls it again at its next interval only
        (a trigger of its own would call it again at once, without end)."""
        cron = self.env.ref(CRON_XMLID)
        cron.active = True  # Odoo ignores the triggers of an inactive one
        Trigger = self.env["ir.cron.trigger"].sudo()
        triggers = Trigger.search_count([("cron_id", "=", cron.id)])
        self.assertEqual(self.call_cron(), (0, 0))
        self.assertFalse(self.runs())
        self.assertEqual(Trigger.search_count([("cron_id", "=", cron.id)]), triggers)
        # The engine's own wake-up, which sale_reconciliation_queue replaces.
        SaleReconciliationRunMixin._schedule_processing(
            self.env["sale.reconciliation.match.run"]
        )
        self.assertEqual(Trigger.search_count([("cron_id", "=", cron.id)]), triggers)
