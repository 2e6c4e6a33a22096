"""Who may read, write, create and delete what: one row per model and
operation, one column per role, each cell tried for real as that user.

The roles: two salespeople (A is customer X's salesperson, B customer Y's),
a finance manager, a credit manager, a portal user of customer X, one of
customer Y, and the manager of another company. "yes" means the operation
goes through, "-" that Odoo refuses it with an AccessError. Orders,
invoices and payments are Odoo's documents: their rows check that the
reconciliation fields follow the documents' own rules and stay hidden from
the portal.
"""

from odoo import Command, fields
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import StatementCommon

ROLES = ("sales_a", "sales_b", "manager", "credit", "portal_x", "portal_y", "company_2")

MATRIX = """
                      sales_a  sales_b  manager  credit  portal_x  portal_y  company_2
statement   read      yes      -        yes      -       yes       -         -
statement   write     yes      -        yes      -       -         -         -
statement   create    yes      -        yes      -       -         -         -
statement   unlink    yes      -        yes      -       -         -         -
line        read      yes      -        yes      -       yes       -         -
line        write     -        -        -        -       -         -         -
line        create    -        -        -        -       -         -         -
line        unlink    -        -        -        -       -         -         -
period      read      yes      yes      yes      yes     -         -         -
period      write     -        -        yes      -       -         -         -
period      create    -        -        yes      -       -         -         -
period      unlink    -        -        yes      -       -         -         -
approval    read      yes      -        yes      yes     -         -         -
approval    write     -        -        -        yes     -         -         -
approval    create    yes      -        yes      yes     -         -         -
approval    unlink    -        -        -        yes     -         -         -
order       read      yes      -        yes      yes     -         -         -
order       write     yes      -        yes      yes     -         -         -
order       create    yes      -        yes      yes     -         -         -
order       unlink    -        -        -        -       -         -         -
invoice     read      yes      -        yes      yes     -         -         -
invoice     write     -        -        yes      -       -         -         -
invoice     create    -        -        yes      -       -         -         -
invoice     unlink    -        -        yes      -       -         -         -
payment     read      -        -        yes      -       -         -         -
payment     write     -        -        yes      -       -         -         -
payment     create    -        -        yes      -       -         -         -
payment     unlink    -        -        yes      -       -         -         -
"""


def parse_matrix(text):
    lines = [line.split() for line in text.strip().splitlines()]
    assert tuple(lines[0]) == ROLES, lines[0]
    expected = {}
    for model, operation, *cells in lines[1:]:
        assert len(cells) == len(ROLES), (model, operation)
        for role, cell in zip(ROLES, cells, strict=True):
            assert cell in ("yes", "-"), cell
            expected[model, operation, role] = cell == "yes"
    return expected


class _RolledBack(Exception):
    """Raised to undo an operation that went through."""


@tagged("post_install", "-at_install")
class TestAccessMatrix(StatementCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.env.company
        cls.company_2 = cls.setup_other_company()["company"]
        cls.users = {
            "sales_a": cls.salesperson,
            "sales_b": new_test_user(
                cls.env,
                login="matrix_sales_b",
                groups="sales_team.group_sale_salesman",
            ),
            "manager": new_test_user(
                cls.env,
                login="matrix_finance_manager",
                groups="sale_reconciliation.group_reconciliation_manager,"
                "sales_team.group_sale_salesman_all_leads,"
                "account.group_account_invoice",
            ),
            "credit": new_test_user(
                cls.env,
                login="matrix_credit_manager",
                groups="sale_reconciliation.group_credit_manager,"
                "sales_team.group_sale_salesman_all_leads",
            ),
            "portal_x": new_test_user(
                cls.env, login="matrix_portal_x", groups="base.group_portal"
            ),
            "portal_y": new_test_user(
                cls.env, login="matrix_portal_y", groups="base.group_portal"
            ),
            "company_2": new_test_user(
                cls.env,
                login="matrix_company_2",
                groups="account.group_account_manager,sales_team.group_sale_manager",
                company_id=cls.company_2.id,
                company_ids=[cls.company_2.id],
            ),
        }
        cls.customer_x = cls.customer
        cls.customer_x.user_id = cls.users["sales_a"]
        cls.customer_y = cls.env["res.partner"].create(
            {
                "name": "Customer Y",
                "is_company": True,
                "user_id": cls.users["sales_b"].id,
            }
        )
        cls.users["portal_x"].partner_id.parent_id = cls.customer_x
        cls.users["portal_y"].partner_id.parent_id = cls.customer_y

        # Customer X's documents, made by the administrator.
        for date, amount in (("2025-06-03", 100.0), ("2025-07-03", 70.0)):
            cls.invoice_at(date, amount).invoice_user_id = cls.users["sales_a"]
        cls.invoice_x = cls.invoice_at("2025-08-03", 80.0)
        cls.invoice_x.invoice_user_id = cls.users["sales_a"]
        cls.draft_invoice_x = cls.init_invoice(
            "out_invoice", partner=cls.customer_x, amounts=[10.0], taxes=[]
        )
        cls.draft_invoice_x.invoice_user_id = cls.users["sales_a"]
        cls.payment_x = cls.env["account.payment"].create(
            {
                "amount": 40.0,
                "payment_type": "inbound",
                "partner_type": "customer",
                "partner_id": cls.customer_x.id,
            }
        )
        cls.payment_x.action_post()
        cls.draft_payment_x = cls.payment_x.copy()

        Statement = cls.env["sale.reconciliation.statement"]
        cls.sent_statement_x = Statement.create(
            {
                "partner_id": cls.customer_x.id,
                "date_from": fields.Date.to_date("2025-06-01"),
                "date_to": fields.Date.to_date("2025-06-30"),
            }
        )
        cls.sent_statement_x.action_confirm()
        cls.sent_statement_x.action_mark_sent()
        cls.draft_statement_x = Statement.create(
            {
                "partner_id": cls.customer_x.id,
                "date_from": fields.Date.to_date("2025-07-01"),
                "date_to": fields.Date.to_date("2025-07-31"),
            }
        )
        cls.period = cls.env["sale.reconciliation.period"].create(
            {
                "name": "September 2025",
                "date_from": fields.Date.to_date("2025-09-01"),
                "date_to": fields.Date.to_date("2025-09-30"),
            }
        )

        cls.order_x = cls.create_order([(cls.product_ordered, 2)])
        cls.quotation_x = cls.create_order([(cls.product_ordered, 1)], confirm=False)
        cls.pending_quotation_x = cls.create_order(
            [(cls.product_ordered, 3)], confirm=False
        )
        cls.approval_x = (
            cls.env["sale.reconciliation.credit.approval"]
            .with_user(cls.users["sales_a"])
            .create({"order_id": cls.pending_quotation_x.id, "reason": "Big client"})
            .with_env(cls.env)
        )
        cls.bank_journal = cls.company_data["default_journal_bank"]
        cls.sale_journal = cls.company_data["default_journal_sale"]
        cls.company = company

    # -------------------------------------------------------------------------
    # The operations, as a given user
    # -------------------------------------------------------------------------

    def operations(self):
        """{(model, operation): function(env of the user)}."""
        customer_x = self.customer_x.id
        sales_a = self.users["sales_a"].id
        company = self.company.id
        return {
            ("statement", "read"): lambda env: self.sent_statement_x.with_env(env).read(
                ["closing_balance", "state"]
            ),
            ("statement", "write"): lambda env: self.draft_statement_x.with_env(
                env
            ).write({"statement_type": "detailed"}),
            ("statement", "create"): lambda env: env[
                "sale.reconciliation.statement"
            ].create(
                {
                    "partner_id": customer_x,
                    "company_id": company,
                    "date_from": fields.Date.to_date("2025-08-01"),
                    "date_to": fields.Date.to_date("2025-08-31"),
                }
            ),
            ("statement", "unlink"): lambda env: self.draft_statement_x.with_env(
                env
            ).unlink(),
            ("line", "read"): lambda env: self.sent_statement_x.line_ids.with_env(
                env
            ).read(["debit", "balance"]),
            ("line", "write"): lambda env: self.draft_statement_x.line_ids.with_env(
                env
            ).write({"reference": "checked"}),
            ("line", "create"): lambda env: env[
                "sale.reconciliation.statement.line"
            ].create(
                {
                    "statement_id": self.draft_statement_x.id,
                    "name": "Adjustment",
                    "debit": 1.0,
                }
            ),
            ("line", "unlink"): lambda env: self.draft_statement_x.line_ids.with_env(
                env
            ).unlink(),
            ("period", "read"): lambda env: self.period.with_env(env).read(
                ["state", "date_from"]
            ),
            ("period", "write"): lambda env: self.period.with_env(env).write(
                {"name": "Sept. 2025"}
            ),
            ("period", "create"): lambda env: env["sale.reconciliation.period"].create(
                {
                    "name": "October 2025",
                    "company_id": company,
                    "date_from": fields.Date.to_date("2025-10-01"),
                    "date_to": fields.Date.to_date("2025-10-31"),
                }
            ),
            ("period", "unlink"): lambda env: self.period.with_env(env).unlink(),
            ("approval", "read"): lambda env: self.approval_x.with_env(env).read(
                ["state", "amount"]
            ),
            ("approval", "write"): lambda env: self.approval_x.with_env(env).write(
                {"reason": "Paid on time for years"}
            ),
            ("approval", "create"): lambda env: env[
                "sale.reconciliation.credit.approval"
            ].create({"order_id": self.quotation_x.id, "reason": "Trusted"}),
            ("approval", "unlink"): lambda env: self.approval_x.with_env(env).unlink(),
            ("order", "read"): lambda env: self.order_x.with_env(env).read(
                ["reconciliation_state", "reconciliation_amount_due"]
            ),
            ("order", "write"): lambda env: self.quotation_x.with_env(env).write(
                {"client_order_ref": "PO-1"}
            ),
            ("order", "create"): lambda env: env["sale.order"].create(
                {
                    "partner_id": customer_x,
                    "user_id": sales_a,
                    "company_id": company,
                    "order_line": [
                        Command.create({"product_id": self.product_ordered.id})
                    ],
                }
            ),
            ("order", "unlink"): lambda env: self.quotation_x.with_env(env).unlink(),
            ("invoice", "read"): lambda env: self.invoice_x.with_env(env).read(
                ["reconciliation_state", "amount_residual"]
            ),
            ("invoice", "write"): lambda env: self.draft_invoice_x.with_env(env).write(
                {"ref": "checked"}
            ),
            ("invoice", "create"): lambda env: env["account.move"].create(
                {
                    "move_type": "out_invoice",
                    "partner_id": customer_x,
                    "invoice_user_id": sales_a,
                    "company_id": company,
                    "journal_id": self.sale_journal.id,
                }
            ),
            ("invoice", "unlink"): lambda env: self.draft_invoice_x.with_env(
                env
            ).unlink(),
            ("payment", "read"): lambda env: self.payment_x.with_env(env).read(
                ["reconciliation_state", "reconciliation_amount_unallocated"]
            ),
            ("payment", "write"): lambda env: self.draft_payment_x.with_env(env).write(
                {"memo": "checked"}
            ),
            ("payment", "create"): lambda env: env["account.payment"].create(
                {
                    "amount": 5.0,
                    "payment_type": "inbound",
                    "partner_type": "customer",
                    "partner_id": customer_x,
                    "company_id": company,
                    "journal_id": self.bank_journal.id,
                }
            ),
            ("payment", "unlink"): lambda env: self.draft_payment_x.with_env(
                env
            ).unlink(),
        }

    def is_allowed(self, user, operation):
        """Run ``operation`` as ``user`` and undo it: True when it went
        through, False when Odoo refused it for access. Any other error
        fails the test: the matrix is about access, not business rules."""
        env = self.env(user=user, context=dict(self.env.context, tracking_disable=True))
        try:
            with self.env.cr.savepoint():
                operation(env)
                env.flush_all()
                raise _RolledBack
        except _RolledBack:
            return True
        except AccessError:
            return False
        finally:
            self.env.invalidate_all()

    # -------------------------------------------------------------------------
    # Tests
    # -------------------------------------------------------------------------

    def test_every_role_on_every_model(self):
        expected = parse_matrix(MATRIX)
        operations = self.operations()
        self.assertEqual(
            {(model, op) for model, op, _role in expected}, set(operations)
        )
        found = {}
        for (model, op), operation in operations.items():
            for role in ROLES:
                found[model, op, role] = self.is_allowed(self.users[role], operation)
        differences = [
            f"{role} {op} {model}: expected {'allowed' if want else 'denied'}, "
            f"was {'allowed' if found[model, op, role] else 'denied'}"
            for (model, op, role), want in expected.items()
            if found[model, op, role] != want
        ]
        self.assertFalse(differences, "\n".join(differences))

    def test_the_matrix_can_tell_allowed_from_denied(self):
        """The harness itself: an operation that raises AccessError is
        reported denied, one that succeeds allowed, and the success is
        undone."""
        name = self.period.name
        self.assertTrue(
            self.is_allowed(
                self.users["manager"],
                lambda env: self.period.with_env(env).write({"name": "Renamed"}),
            )
        )
        self.assertEqual(self.period.name, name)
        self.assertFalse(
            self.is_allowed(
                self.users["portal_y"],
                lambda env: self.sent_statement_x.with_env(env).read(["name"]),
            )
        )

    def test_portal_customers_see_only_their_statements_once_sent(self):
        Statement = self.env["sale.reconciliation.statement"]
        self.invoice_at("2025-06-05", 30.0, partner=self.customer_y)
        statement_y = self.make_statement(
            "2025-06-01", "2025-06-30", partner=self.customer_y
        )
        statement_y.action_confirm()
        statement_y.action_mark_sent()
        all_statements = self.sent_statement_x | self.draft_statement_x | statement_y
        domain = [("id", "in", all_statements.ids)]
        for role, visible in (
            ("portal_x", self.sent_statement_x),
            ("portal_y", statement_y),
            ("sales_a", self.sent_statement_x | self.draft_statement_x),
            ("sales_b", statement_y),
            ("manager", all_statements),
            ("company_2", Statement),
        ):
            with self.subTest(role=role):
                self.assertEqual(
                    Statement.with_user(self.users[role]).search(domain), visible
                )
