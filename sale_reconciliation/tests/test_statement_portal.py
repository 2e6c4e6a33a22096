import base64
import io
import re
from unittest.mock import patch

from PIL import Image

from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from odoo.addons.sale_reconciliation.controllers.portal import StatementPortal

from .common import StatementCommon

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def signature_png():
    buffer = io.BytesIO()
    Image.new("RGB", (60, 20), "white").save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


@tagged("post_install", "-at_install")
class TestStatementPortal(StatementCommon, HttpCase):
    """The customer answers a statement on the portal: what they see, and
    every way an answer is refused without changing anything."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer.user_id = cls.salesperson
        cls.portal_x = new_test_user(
            cls.env, login="portal_customer_x", groups="base.group_portal"
        )
        cls.portal_x.partner_id.parent_id = cls.customer
        cls.customer_y = cls.env["res.partner"].create(
            {"name": "Other Customer Y", "is_company": True}
        )
        cls.portal_y = new_test_user(
            cls.env, login="portal_customer_y", groups="base.group_portal"
        )
        cls.portal_y.partner_id.parent_id = cls.customer_y
        for date, amount in (
            ("2025-05-05", 50.0),
            ("2025-06-03", 100.0),
            ("2025-06-20", 40.0),
            ("2025-07-03", 70.0),
        ):
            cls.invoice_at(date, amount)
        cls.invoice_at("2025-06-04", 30.0, partner=cls.customer_y)

    def setUp(self):
        super().setUp()
        self.may = self.sent_statement("2025-05-01", "2025-05-31")
        self.june = self.sent_statement("2025-06-01", "2025-06-30")
        self.july_draft = self.make_statement("2025-07-01", "2025-07-31")
        self.june_y = self.sent_statement(
            "2025-06-01", "2025-06-30", partner=self.customer_y
        )

    def sent_statement(self, date_from, date_to, partner=None):
        statement = self.make_statement(date_from, date_to, partner=partner)
        statement.action_confirm()
        statement.action_mark_sent()
        return statement

    # -------------------------------------------------------------------------
    # Helpers
    # -------------------------------------------------------------------------

    def page(self, statement, token=None, **params):
        query = "&".join(f"{key}={value}" for key, value in params.items())
        if token:
            query = f"access_token={token}&{query}"
        return self.url_open(f"/my/statements/{statement.id}?{query}")

    def csrf_of(self, statement, token=None):
        """The CSRF token of the current session, as the page gives it."""
        response = self.page(statement, token=token)
        self.assertEqual(response.status_code, 200)
        return CSRF_INPUT.search(response.text).group(1)

    def accept(self, statement, name, csrf, token=None, signature=None):
        url = f"/my/statements/{statement.id}/accept?csrf_token={csrf}"
        if token:
            url += f"&access_token={token}"
        return self.make_jsonrpc_request(url, {"name": name, "signature": signature})

    def dispute(self, statement, data, csrf=None, token=None):
        data = dict(data)
        if csrf:
            data["csrf_token"] = csrf
        if token:
            data["access_token"] = token
        return self.url_open(
            f"/my/statements/{statement.id}/dispute",
            data=data,
            allow_redirects=False,
        )

    def rename(self, statement, name):
        """A number the tour looks for (Odoo numbers statements itself)."""
        self.env.cr.execute(
            "UPDATE sale_reconciliation_statement SET name = %s WHERE id = %s",
            [name, statement.id],
        )
        statement.invalidate_recordset(["name"])

    @staticmethod
    def answer_message(statement, text):
        return statement.message_ids.filtered(lambda message: text in message.body)

    def assertUnanswered(self, statement):
        statement.invalidate_recordset()
        self.assertRecordValues(
            statement,
            [
                {
                    "state": "sent",
                    "accepted_by": False,
                    "dispute_reason": False,
                    "content_hash": False,
                }
            ],
        )
        self.assertFalse(statement.line_ids.filtered("dispute_comment"))

    # -------------------------------------------------------------------------
    # What the customer sees
    # -------------------------------------------------------------------------

    def test_list_shows_the_customers_sent_statements_paged_and_sorted(self):
        self.authenticate(self.portal_x.login, self.portal_x.login)
        response = self.url_open("/my/statements")
        self.assertEqual(response.status_code, 200)
        self.assertIn(self.may.name, response.text)
        self.assertIn(self.june.name, response.text)
        self.assertNotIn(self.july_draft.name, response.text)
        self.assertNotIn(self.june_y.name, response.text)
        # Newest period first by default, by number on request.
        self.assertLess(
            response.text.index(self.june.name), response.text.index(self.may.name)
        )
        with patch.object(StatementPortal, "_items_per_page", 1):
            first = self.url_open("/my/statements?sortby=date").text
            second = self.url_open("/my/statements/page/2?sortby=date").text
        self.assertIn(self.june.name, first)
        self.assertNotIn(self.may.name, first)
        self.assertIn(self.may.name, second)
        self.june.action_accept(accepted_by="Someone")
        to_answer = self.url_open("/my/statements?filterby=to_answer").text
        self.assertIn(self.may.name, to_answer)
        self.assertNotIn(self.june.name, to_answer)

    def test_home_counts_statements_and_those_to_answer(self):
        self.authenticate(self.portal_x.login, self.portal_x.login)
        self.assertIn("Statements awaiting your answer", self.url_open("/my").text)
        counters = self.make_jsonrpc_request(
            "/my/counters",
            {"counters": ["statement_count", "statement_to_answer_count"]},
        )
        self.assertEqual(
            counters, {"statement_count": 2, "statement_to_answer_count": 2}
        )
        self.may.action_dispute("Wrong")
        counters = self.make_jsonrpc_request(
            "/my/counters",
            {"counters": ["statement_count", "statement_to_answer_count"]},
        )
        self.assertEqual(
            counters, {"statement_count": 2, "statement_to_answer_count": 1}
        )

    def test_detail_page_report_and_pdf(self):
        self.authenticate(self.portal_x.login, self.portal_x.login)
        response = self.page(self.june)
        self.assertEqual(response.status_code, 200)
        self.assertIn("o_statement_confirm", response.text)
        self.assertIn("o_statement_dispute", response.text)
        self.assertIn(f'name="line_comment_{self.june.line_ids[0].id}"', response.text)
        html = self.page(self.june, report_type="html")
        self.assertEqual(html.status_code, 200)
        self.assertIn("Statement of Account", html.text)
        self.assertIn("140.00", html.text)  # the closing balance, 100 + 40
        # Under test, Odoo answers PDF requests with the report's HTML: inside
        # an HTTP test request wkhtmltopdf cannot fetch the page's styles from
        # the server the test holds. test_statement_documents renders the
        # real PDF with wkhtmltopdf.
        pdf = self.page(self.june, report_type="pdf", download="true")
        self.assertEqual(pdf.status_code, 200)
        self.assertEqual(pdf.headers["Content-Type"], "application/pdf")
        self.assertIn("Statement of Account", pdf.text)
        self.assertIn(
            f"Statement_{self.june.name.replace('/', '_')}.pdf",
            pdf.headers["Content-Disposition"],
        )

    def test_pay_overdue_invoices_link_only_for_what_is_really_owed(self):
        """Odoo's page paying all overdue invoices at once charges the
        invoices' totals of the signed-in contact: the statement links to it
        only when that is what the customer owes overdue."""
        self.authenticate(self.portal_x.login, self.portal_x.login)
        self.assertNotIn("/my/invoices/overdue", self.page(self.june).text)
        self.env["payment.provider"].create(
            {
                "name": "Card",
                "code": "none",
                "state": "test",
                "company_id": self.env.company.id,
            }
        )
        # The customer's overdue invoices are addressed to the company, not
        # to this contact: the page would find nothing to pay.
        self.assertNotIn("/my/invoices/overdue", self.page(self.june).text)
        invoices = self.env["account.move"].search(
            [
                ("partner_id", "=", self.customer.id),
                ("move_type", "=", "out_invoice"),
                ("state", "=", "posted"),
            ]
        )
        self.pay_at(invoices, "2025-08-01")
        # What is overdue now is the contact's own invoice: one payment.
        self.invoice_at("2025-07-10", 80.0, partner=self.portal_x.partner_id)
        self.assertIn('href="/my/invoices/overdue"', self.page(self.june).text)
        # A payment not matched yet: the page would ask 80 for 50 owed.
        self.receive_at("2025-08-05", 30.0)
        self.assertNotIn("/my/invoices/overdue", self.page(self.june).text)

    @mute_logger("odoo.http")
    def test_who_may_open_a_statement(self):
        # Signed out: only with the statement's token.
        self.assertEqual(self.page(self.june).status_code, 403)
        self.assertEqual(self.page(self.june, token="wrong").status_code, 403)
        self.assertEqual(
            self.page(self.june, token=self.june.access_token).status_code, 200
        )
        # The other customer's portal user, and ids that are not to be seen.
        self.authenticate(self.portal_y.login, self.portal_y.login)
        response = self.page(self.june)
        self.assertEqual(response.status_code, 403)
        self.assertIn("not available to you", response.text)
        self.assertEqual(self.page(self.june_y).status_code, 200)
        self.authenticate(self.portal_x.login, self.portal_x.login)
        # Never sent: as unknown to the customer as another customer's.
        self.assertEqual(self.page(self.july_draft).status_code, 403)
        missing = (
            self.env["sale.reconciliation.statement"]
            .search([], order="id desc", limit=1)
            .id
            + 1000
        )
        self.assertEqual(self.url_open(f"/my/statements/{missing}").status_code, 404)

    # -------------------------------------------------------------------------
    # Confirming
    # -------------------------------------------------------------------------

    def test_confirm_records_name_signature_hash_log_and_activity(self):
        self.authenticate(self.portal_x.login, self.portal_x.login)
        csrf = self.csrf_of(self.june)
        result = self.accept(
            self.june, "  Jane Buyer ", csrf, signature=signature_png()
        )
        self.assertTrue(result["force_refresh"])
        self.assertIn("message=accepted", result["redirect_url"])
        self.june.invalidate_recordset()
        self.assertEqual(self.june.state, "accepted")
        self.assertEqual(self.june.accepted_by, "Jane Buyer")
        self.assertTrue(self.june.signature)
        self.assertTrue(self.june._is_content_hash_valid())
        message = self.answer_message(self.june, "Jane Buyer confirmed the statement")
        self.assertEqual(message.author_id, self.portal_x.partner_id)
        self.assertIn("127.0.0.1", message.body)
        self.assertIn(self.june.content_hash, message.body)
        activity = self.june.activity_ids
        self.assertEqual(activity.user_id, self.salesperson)
        self.assertIn("confirmed", activity.summary)
        page = self.page(self.june, message="accepted").text
        self.assertIn("you confirmed this statement", page)
        self.assertNotIn("o_statement_confirm", page)

    def test_confirm_with_the_emailed_link_when_signed_out(self):
        token = self.june.access_token
        csrf = self.csrf_of(self.june, token=token)
        result = self.accept(self.june, "Accounts Payable", csrf, token=token)
        self.assertTrue(result["force_refresh"])
        self.assertEqual(self.june.state, "accepted")
        self.assertFalse(self.june.signature)
        message = self.answer_message(self.june, "confirmed the statement")
        self.assertEqual(message.author_id, self.customer)

    def test_confirm_refusals_change_nothing(self):
        self.authenticate(self.portal_x.login, self.portal_x.login)
        csrf = self.csrf_of(self.june)
        cases = [
            ("bad csrf", self.june, "Jane", "not-a-token", "session expired"),
            ("no name", self.june, "  ", csrf, "Type your name"),
            ("other customer", self.june_y, "Jane", csrf, "not available"),
            ("draft", self.july_draft, "Jane", csrf, "not available"),
        ]
        for label, statement, name, token, error in cases:
            with self.subTest(label):
                result = self.accept(statement, name, token)
                self.assertIn(error, result["error"])
        self.assertUnanswered(self.june)
        self.assertUnanswered(self.june_y)
        self.assertEqual(self.july_draft.state, "draft")
        # Signed out with a wrong token.
        self.logout()
        csrf = self.csrf_of(self.june, token=self.june.access_token)
        result = self.accept(self.june, "Jane", csrf, token="wrong")
        self.assertIn("not available", result["error"])
        self.assertUnanswered(self.june)

    def test_internal_users_do_not_answer_for_the_customer(self):
        """The salesperson can open the customer's page, but not answer on
        it: answers they are given are recorded in the back office, by a
        manager, under the manager's name."""
        self.salesperson.password = "statement_salesperson"
        self.authenticate(self.salesperson.login, "statement_salesperson")
        csrf = self.csrf_of(self.june)
        result = self.accept(self.june, "Customer Boss", csrf)
        self.assertIn("Only the customer answers here", result["error"])
        response = self.dispute(self.june, {"reason": "We say 100"}, csrf)
        self.assertEqual(response.status_code, 403)
        self.assertUnanswered(self.june)

    def test_answering_twice_is_refused(self):
        self.authenticate(self.portal_x.login, self.portal_x.login)
        csrf = self.csrf_of(self.june)
        self.accept(self.june, "Jane Buyer", csrf)
        accepted_hash = self.june.content_hash
        second = self.accept(self.june, "Someone Else", csrf)
        self.assertIn("already confirmed by Jane Buyer", second["error"])
        response = self.dispute(self.june, {"reason": "Changed my mind"}, csrf)
        self.assertEqual(response.status_code, 409)
        self.assertIn("already confirmed", response.text)
        self.june.invalidate_recordset()
        self.assertRecordValues(
            self.june,
            [
                {
                    "state": "accepted",
                    "accepted_by": "Jane Buyer",
                    "dispute_reason": False,
                    "content_hash": accepted_hash,
                }
            ],
        )
        self.assertEqual(len(self.june.activity_ids), 1)

    # -------------------------------------------------------------------------
    # Disputing
    # -------------------------------------------------------------------------

    def test_dispute_with_line_comments(self):
        self.authenticate(self.portal_x.login, self.portal_x.login)
        csrf = self.csrf_of(self.june)
        first, second = self.june.line_ids.filtered(
            lambda line: line.display_type == "entry"
        )
        response = self.dispute(
            self.june,
            {
                "reason": "Our balance is 100.",
                f"line_comment_{second.id}": "Credit note promised on the 21st",
                f"line_comment_{first.id}": "  ",
            },
            csrf,
        )
        self.assertEqual(response.status_code, 303)
        self.assertIn("message=disputed", response.headers["Location"])
        self.june.invalidate_recordset()
        self.assertEqual(self.june.state, "disputed")
        self.assertEqual(self.june.dispute_reason, "Our balance is 100.")
        self.assertEqual(second.dispute_comment, "Credit note promised on the 21st")
        self.assertFalse(first.dispute_comment)
        self.assertEqual(self.june.dispute_line_count, 1)
        message = self.answer_message(self.june, "disputed the statement")
        self.assertEqual(message.author_id, self.portal_x.partner_id)
        self.assertIn("127.0.0.1", message.body)
        self.assertIn("Our balance is 100.", message.body)
        self.assertEqual(self.june.activity_ids.user_id, self.salesperson)
        page = self.page(self.june, message="disputed").text
        self.assertIn("your dispute is recorded", page)
        self.assertIn("Credit note promised on the 21st", page)

    @mute_logger("odoo.http")
    def test_dispute_refusals_change_nothing(self):
        self.authenticate(self.portal_x.login, self.portal_x.login)
        csrf = self.csrf_of(self.june)
        may_line = self.may.line_ids[0]
        cases = [
            ("no csrf", self.june, {"reason": "Wrong"}, None, 400),
            ("no reason", self.june, {"reason": "  "}, csrf, 400),
            (
                "line of another statement",
                self.june,
                {"reason": "Wrong", f"line_comment_{may_line.id}": "no"},
                csrf,
                400,
            ),
            (
                "line id not a number",
                self.june,
                {"reason": "Wrong", "line_comment_abc": "no"},
                csrf,
                400,
            ),
            ("other customer", self.june_y, {"reason": "Wrong"}, csrf, 403),
            ("draft", self.july_draft, {"reason": "Wrong"}, csrf, 403),
        ]
        for label, statement, data, token, status in cases:
            with self.subTest(label):
                response = self.dispute(statement, data, token)
                self.assertEqual(response.status_code, status)
        self.assertUnanswered(self.june)
        self.assertUnanswered(self.may)
        self.assertUnanswered(self.june_y)
        self.assertEqual(self.july_draft.state, "draft")
        # Signed out: the emailed token works, a wrong one does not.
        self.logout()
        csrf = self.csrf_of(self.june, token=self.june.access_token)
        response = self.dispute(self.june, {"reason": "Wrong"}, csrf, token="bad")
        self.assertEqual(response.status_code, 403)
        self.assertIn("not available to you", response.text)
        self.assertUnanswered(self.june)
        response = self.dispute(
            self.june, {"reason": "Wrong"}, csrf, token=self.june.access_token
        )
        self.assertEqual(response.status_code, 303)
        self.assertEqual(self.june.state, "disputed")
        message = self.answer_message(self.june, "disputed the statement")
        self.assertEqual(message.author_id, self.customer)

    # -------------------------------------------------------------------------
    # In the browser
    # -------------------------------------------------------------------------

    def test_tour_customer_confirms_a_statement(self):
        self.rename(self.june, "TOUR-CONFIRM")
        self.may.action_accept(accepted_by="Earlier")
        self.start_tour(
            "/my", "sale_reconciliation_statement_confirm", login=self.portal_x.login
        )
        self.june.invalidate_recordset()
        self.assertEqual(self.june.state, "accepted")
        self.assertEqual(self.june.accepted_by, "Tour Accountant")
        self.assertTrue(self.june.signature)
        self.assertTrue(self.june._is_content_hash_valid())

    def test_tour_customer_disputes_a_line(self):
        self.rename(self.june, "TOUR-DISPUTE")
        self.start_tour(
            "/my/statements",
            "sale_reconciliation_statement_dispute",
            login=self.portal_x.login,
        )
        self.june.invalidate_recordset()
        self.assertEqual(self.june.state, "disputed")
        self.assertEqual(
            self.june.dispute_reason, "Our books show a different balance."
        )
        commented = self.june.line_ids.filtered("dispute_comment")
        self.assertEqual(
            commented.mapped("dispute_comment"), ["We paid this invoice on the 5th."]
        )
