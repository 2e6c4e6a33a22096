"""The salesperson and cashier reconciliation (业务员与出纳对账) of a period."""

import base64
import io
from collections import defaultdict

from dateutil.relativedelta import relativedelta

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools.misc import xlsxwriter

# Figures of a salesperson's row, in company currency.
SUMMARY_AMOUNTS = (
    "recorded",
    "confirmed",
    "received",
    "difference",
    "rejected",
    "awaiting",
    "in_hand",
)


class SaleReconciliationCollectionSummary(models.TransientModel):
    """Per salesperson: what they recorded in the period, what the cashier
    confirmed of it and the differences, what was rejected or still awaits
    the cashier, and what is still in their hands at the end of the period
    with its age."""

    _name = "sale.reconciliation.collection.summary"
    _description = "Salesperson and Cashier Reconciliation"
    _check_company_auto = True

    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    date_from = fields.Date(
        string="From",
        required=True,
        default=lambda self: fields.Date.context_today(self) + relativedelta(day=1),
    )
    date_to = fields.Date(
        string="To",
        required=True,
        default=lambda self: fields.Date.context_today(self)
        + relativedelta(day=1, months=1, days=-1),
    )
    user_ids = fields.Many2many(
        "res.users",
        string="Salespeople",
        domain="[('share', '=', False)]",
        help="Leave empty for every salesperson whose collections you may read.",
    )

    @api.constrains("date_from", "date_to")
    def _check_dates(self):
        for summary in self:
            if summary.date_from > summary.date_to:
                raise ValidationError(
                    _("The period starts after it ends: check its dates.")
                )

    # -------------------------------------------------------------------------
    # ACTIONS
    # -------------------------------------------------------------------------

    def action_print_pdf(self):
        self.ensure_one()
        return self.env.ref(
            "sale_reconciliation.action_report_collection_summary"
        ).report_action(self)

    def action_export_xlsx(self):
        self.ensure_one()
        # sudo: ir.attachment - the file holds only the collections the user
        # may read (read through the ORM below); it is kept private.
        attachment = (
            self.env["ir.attachment"]
            .sudo()
            .create(
                {
                    "name": _(
                        "Collections %(date_from)s %(date_to)s.xlsx",
                        date_from=fields.Date.to_string(self.date_from),
                        date_to=fields.Date.to_string(self.date_to),
                    ),
                    "datas": base64.b64encode(self._export_xlsx_bytes()),
                    "mimetype": "application/vnd.openxmlformats-officedocument."
                    "spreadsheetml.sheet",
                    "public": False,
                }
            )
        )
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{attachment.id}?download=true",
            "target": "download",
        }

    # -------------------------------------------------------------------------
    # FIGURES
    # -------------------------------------------------------------------------

    def _get_as_of(self):
        """The day the money still in hand is aged at: the period's end, or
        today while the period runs."""
        self.ensure_one()
        return min(self.date_to, fields.Date.context_today(self))

    def _get_collections(self):
        """The collections of the company up to the period's end that the
        user may read (record rules apply: a salesperson sees their own)."""
        self.ensure_one()
        domain = [
            ("company_id", "=", self.company_id.id),
            ("date", "<=", self.date_to),
        ]
        if self.user_ids:
            domain.append(("user_id", "in", self.user_ids.ids))
        return self.env["sale.reconciliation.collection"].search(
            domain, order="user_id, date, id"
        )

    def _in_company_currency(self, collection, amount):
        company = self.company_id
        return collection.currency_id._convert(
            amount, company.currency_id, company, collection.date
        )

    def _is_in_hand(self, collection):
        """Collected by the period's end and not yet handed over then."""
        return collection.date <= self.date_to and (
            collection.state == "draft"
            or (collection.handover_date and collection.handover_date > self.date_to)
        )

    def _get_rows(self):
        """[{user, counts, amounts, oldest date and age in hand}], one per
        salesperson, by name."""
        self.ensure_one()
        as_of = self._get_as_of()
        rows = defaultdict(
            lambda: dict(
                {fname: 0.0 for fname in SUMMARY_AMOUNTS},
                recorded_count=0,
                in_hand_count=0,
                oldest_in_hand=False,
                age=0,
            )
        )
        for collection in self._get_collections():
            row = rows[collection.user_id]
            amount = self._in_company_currency(collection, collection.amount)
            if collection.date >= self.date_from:
                row["recorded"] += amount
                row["recorded_count"] += 1
                if collection.state == "confirmed":
                    row["confirmed"] += amount
                    row["received"] += self._in_company_currency(
                        collection, collection.received_amount
                    )
                elif collection.state == "rejected":
                    row["rejected"] += amount
                elif collection.state == "handed_over":
                    row["awaiting"] += amount
            if self._is_in_hand(collection):
                row["in_hand"] += amount
                row["in_hand_count"] += 1
                if not row["oldest_in_hand"] or collection.date < row["oldest_in_hand"]:
                    row["oldest_in_hand"] = collection.date
                    row["age"] = max((as_of - collection.date).days, 0)
        result = []
        for user, row in sorted(rows.items(), key=lambda item: item[0].name or ""):
            row["difference"] = row["received"] - row["confirmed"]
            if row["recorded_count"] or row["in_hand_count"]:
                result.append(dict(row, user=user))
        return result

    def _get_totals(self, rows):
        totals = {fname: sum(row[fname] for row in rows) for fname in SUMMARY_AMOUNTS}
        totals["recorded_count"] = sum(row["recorded_count"] for row in rows)
        totals["in_hand_count"] = sum(row["in_hand_count"] for row in rows)
        return totals

    def _get_exceptions(self):
        """The collections of the period a reader must see one by one: those
        with a difference or rejected, with the cashier's reason, and those
        still in hand, oldest first."""
        self.ensure_one()
        collections = self._get_collections()
        in_period = collections.filtered(lambda c: c.date >= self.date_from)
        return {
            "differences": in_period.filtered(
                lambda c: c.state == "confirmed"
                and c.currency_id.compare_amounts(c.received_amount, c.amount)
            ),
            "rejected": in_period.filtered(lambda c: c.state == "rejected"),
            "in_hand": collections.filtered(self._is_in_hand).sorted("date"),
        }

    def _get_columns(self):
        """(key, label, is money) of the table's columns, PDF and Excel."""
        return [
            ("recorded_count", _("Collections"), False),
            ("recorded", _("Recorded"), True),
            ("confirmed", _("Confirmed (Collected)"), True),
            ("received", _("Received by Cashier"), True),
            ("difference", _("Difference"), True),
            ("rejected", _("Rejected"), True),
            ("awaiting", _("Awaiting Cashier"), True),
            ("in_hand", _("Still in Hand"), True),
            ("age", _("Oldest in Hand (Days)"), False),
        ]

    # -------------------------------------------------------------------------
    # EXCEL
    # -------------------------------------------------------------------------

    def _export_xlsx_bytes(self):
        """A sheet of salespeople with totals, a sheet of the collections to
        look at one by one."""
        self.ensure_one()
        output = io.BytesIO()
        workbook = xlsxwriter.Workbook(output, {"in_memory": True})
        bold = workbook.add_format({"bold": True})
        head = workbook.add_format(
            {"bold": True, "bg_color": "#D9E7F5", "border": 1, "text_wrap": True}
        )
        digits = self.currency_id.decimal_places
        number_format = "#,##0" + ("." + "0" * digits if digits else "")
        money = workbook.add_format({"num_format": number_format})
        total_money = workbook.add_format(
            {"num_format": number_format, "bold": True, "top": 1}
        )
        date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})

        sheet = workbook.add_worksheet(_("Salespeople"))
        sheet.write(0, 0, _("Salesperson and Cashier Reconciliation"), bold)
        sheet.write(1, 0, _("Company"))
        sheet.write(1, 1, self.company_id.name)
        sheet.write(2, 0, _("Period"))
        sheet.write(
            2,
            1,
            f"{fields.Date.to_string(self.date_from)} – "
            f"{fields.Date.to_string(self.date_to)}",
        )
        sheet.write(2, 3, _("Currency"))
        sheet.write(2, 4, self.currency_id.name)
        columns = self._get_columns()
        header_row = 4
        sheet.write(header_row, 0, _("Salesperson"), head)
        for col, (_key, label, _money) in enumerate(columns, start=1):
            sheet.write(header_row, col, label, head)
        sheet.set_column(0, 0, 28)
        sheet.set_column(1, len(columns), 15)
        sheet.freeze_panes(header_row + 1, 1)
        rows = self._get_rows()
        for row_index, row in enumerate(rows, start=header_row + 1):
            sheet.write(row_index, 0, row["user"].name or "")
            for col, (key, _label, is_money) in enumerate(columns, start=1):
                sheet.write_number(
                    row_index, col, row[key], money if is_money else None
                )
        total_row = header_row + len(rows) + 1
        totals = self._get_totals(rows)
        sheet.write(total_row, 0, _("Total"), bold)
        for col, (key, _label, is_money) in enumerate(columns, start=1):
            if key == "age":
                continue
            sheet.write_number(
                total_row, col, totals[key], total_money if is_money else bold
            )

        sheet = workbook.add_worksheet(_("Collections to Follow"))
        headers = [
            _("Kind"),
            _("Collection"),
            _("Salesperson"),
            _("Customer"),
            _("Collected On"),
            _("Method"),
            _("Collected"),
            _("Received"),
            _("Difference"),
            _("Reason"),
        ]
        sheet.write_row(0, 0, headers, head)
        sheet.set_column(0, 3, 20)
        sheet.set_column(4, 8, 14)
        sheet.set_column(9, 9, 40)
        sheet.freeze_panes(1, 0)
        methods = dict(
            self.env["sale.reconciliation.collection"]
            ._fields["method"]
            ._description_selection(self.env)
        )
        exceptions = self._get_exceptions()
        row_index = 0
        for kind, label in (
            ("differences", _("Difference")),
            ("rejected", _("Rejected")),
            ("in_hand", _("Still in Hand")),
        ):
            for collection in exceptions[kind]:
                row_index += 1
                sheet.write(row_index, 0, label)
                sheet.write(row_index, 1, collection.name)
                sheet.write(row_index, 2, collection.user_id.name or "")
                sheet.write(row_index, 3, collection.partner_id.display_name or "")
                sheet.write_datetime(
                    row_index,
                    4,
                    fields.Datetime.to_datetime(collection.date),
                    date_format,
                )
                sheet.write(row_index, 5, methods.get(collection.method, ""))
                sheet.write_number(
                    row_index,
                    6,
                    self._in_company_currency(collection, collection.amount),
                    money,
                )
                if kind == "differences":
                    sheet.write_number(
                        row_index,
                        7,
                        self._in_company_currency(
                            collection, collection.received_amount
                        ),
                        money,
                    )
                    sheet.write_number(
                        row_index,
                        8,
                        self._in_company_currency(collection, collection.difference),
                        money,
                    )
                sheet.write(
                    row_index,
                    9,
                    collection.difference_reason or collection.rejection_reason or "",
                )
        workbook.close()
        return output.getvalue()
