"""Odoo's own credit limit tests, run with this module installed: under the
default Warn policy, Odoo's banners and credit figures are unchanged."""

from odoo.addons.sale.tests.test_credit_limit import (  # noqa: F401
    TestSaleOrderCreditLimit,
)
