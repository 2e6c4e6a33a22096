from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import StatementCommon


@tagged("post_install", "-at_install")
class TestStatementAccess(StatementCommon):
    """Who reads which statements: salespeople their own customers',
    managers all of their companies', nobody another company's."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other_salesperson = new_test_user(
            cls.env,
            login="statement_other_salesperson",
            groups="sales_team.group_sale_salesman",
            company_id=cls.env.company.id,
        )
        cls.customer.user_id = cls.salesperson
        cls.other_customer = cls.env["res.partner"].create(
            {"name": "Someone Else's Customer", "is_company": True}
        )
        cls.other_customer.user_id = cls.other_salesperson
        cls.invoice_at("2025-06-03", 100.0)
        cls.invoice_at("2025-06-04", 200.0, partner=cls.other_customer)
        cls.company_2 = cls.setup_other_company()["company"]
        cls.user_company_2 = new_test_user(
            cls.env,
            login="statement_manager_company_2",
            groups="account.group_account_manager,sales_team.group_sale_manager",
            company_id=cls.company_2.id,
            company_ids=[cls.company_2.id],
        )

    def setUp(self):
        super().setUp()
        self.own = self.make_statement("2025-06-01", "2025-06-30")
        self.others = self.make_statement(
            "2025-06-01", "2025-06-30", partner=self.other_customer
        )
        self.statements = self.own + self.others

    def visible(self, user):
        return (
            self.env["sale.reconciliation.statement"]
            .with_user(user)
            .search([("id", "in", self.statements.ids)])
        )

    def test_salespeople_see_their_own_customers_only(self):
        self.assertEqual(self.visible(self.salesperson), self.own)
        self.assertEqual(self.visible(self.other_salesperson), self.others)
        with self.assertRaises(AccessError):
            self.others.with_user(self.salesperson).read(["closing_balance"])
        with self.assertRaises(AccessError):
            self.others.line_ids.with_user(self.salesperson).read(["debit"])
        self.assertEqual(
            self.own.line_ids.with_user(self.salesperson).read(["debit"])[0]["debit"],
            100.0,
        )

    def test_salesperson_cannot_write_lines_or_others_statements(self):
        with self.assertRaises(AccessError):
            self.own.line_ids.with_user(self.salesperson).write({"debit": 1.0})
        with self.assertRaises(AccessError):
            self.others.with_user(self.salesperson).write(
                {"user_id": self.salesperson.id}
            )

    def test_managers_see_all_of_their_company(self):
        self.assertEqual(self.visible(self.other_manager), self.statements)

    def test_other_company_sees_nothing(self):
        self.assertFalse(self.visible(self.user_company_2))
        with self.assertRaises(AccessError):
            self.own.with_user(self.user_company_2).read(["closing_balance"])
