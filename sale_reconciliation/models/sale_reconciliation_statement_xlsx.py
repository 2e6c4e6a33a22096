import base64
import io

from xlsxwriter.utility import xl_rowcol_to_cell as cell

from odoo import _, fields, models
from odoo.tools.misc import xlsxwriter

HEADER_ROWS = 6  # title block above the table


# One file per concern of the statement, as Odoo splits its large models.
class SaleReconciliationStatement(models.Model):
    _inherit = "sale.reconciliation.statement"  # pylint: disable=consider-merging-classes-inherited

    def _export_xlsx_attachment(self):
        """An attachment with the statements as an Excel workbook."""
        if not self:
            return self.env["ir.attachment"]
        self.check_access("read")
        name = (
            _("Statement %(name)s.xlsx", name=self.name)
            if len(self) == 1
            else _("Statements %(date)s.xlsx", date=fields.Date.today())
        )
        # sudo: ir.attachment - the file only holds what the user may read,
        # checked above; it is kept private to its creator.
        return (
            self.env["ir.attachment"]
            .sudo()
            .create(
                {
                    "name": name,
                    "datas": base64.b64encode(self._export_xlsx_bytes()),
                    "mimetype": "application/vnd.openxmlformats-officedocument."
                    "spreadsheetml.sheet",
                    "res_model": self._name if len(self) == 1 else False,
                    "res_id": self.id if len(self) == 1 else False,
                    "public": False,
                }
            )
        )

    def _export_xlsx_bytes(self):
        """One sheet per statement: a frozen header, the lines, and totals as
        formulas (with their value) that match the stored totals."""
        output = io.BytesIO()
        workbook = xlsxwriter.Workbook(output, {"in_memory": True})
        styles = {
            "title": workbook.add_format({"bold": True, "font_size": 14}),
            "label": workbook.add_format({"bold": True}),
            "head": workbook.add_format(
                {"bold": True, "bg_color": "#D9E7F5", "border": 1, "text_wrap": True}
            ),
            "date": workbook.add_format({"num_format": "yyyy-mm-dd"}),
            "total": workbook.add_format({"bold": True, "top": 1}),
        }
        money_formats = {}
        used_names = set()
        self.line_ids.fetch(
            ["display_type", "date", "date_maturity", "document_type", "name"]
            + ["reference", "sale_order_refs", "debit", "credit", "balance"]
            + ["amount_residual", "product_id", "quantity", "qty_delivered"]
            + ["price_unit", "price_subtotal"]
        )
        self.aging_ids.fetch(["name", "amount"])
        for statement in self:
            digits = statement.currency_id.decimal_places
            if digits not in money_formats:
                pattern = "#,##0" + ("." + "0" * digits if digits else "")
                money_formats[digits] = (
                    workbook.add_format({"num_format": pattern}),
                    workbook.add_format(
                        {"num_format": pattern, "bold": True, "top": 1}
                    ),
                )
            statement._write_xlsx_sheet(
                workbook, styles, money_formats[digits], used_names
            )
        workbook.close()
        return output.getvalue()

    def _write_xlsx_sheet(self, workbook, styles, money_styles, used_names):
        self.ensure_one()
        money, money_total = money_styles
        sheet_name = self.name.replace("/", "-")[:31]
        while sheet_name in used_names:
            sheet_name = f"{sheet_name[:28]}-{len(used_names)}"
        used_names.add(sheet_name)
        sheet = workbook.add_worksheet(sheet_name)
        document_labels = dict(
            self.line_ids._fields["document_type"]._description_selection(self.env)
        )

        sheet.write(0, 0, _("Statement %(name)s", name=self.name), styles["title"])
        sheet.write(1, 0, _("Customer"), styles["label"])
        sheet.write(1, 1, self.partner_id.display_name)
        sheet.write(2, 0, _("Period"), styles["label"])
        sheet.write(2, 1, f"{self.date_from} – {self.date_to}")
        sheet.write(3, 0, _("Currency"), styles["label"])
        sheet.write(3, 1, self.currency_id.name)
        headers = [
            _("Date"),
            _("Document"),
            _("Type"),
            _("Reference"),
            _("Sales Orders"),
            _("Due Date"),
            _("Debit"),
            _("Credit"),
            _("Balance"),
            _("Open at Period End"),
            _("Product"),
            _("Quantity"),
            _("Delivered"),
            _("Unit Price"),
            _("Amount"),
        ]
        header_row = HEADER_ROWS - 1
        for col, title in enumerate(headers):
            sheet.write(header_row, col, title, styles["head"])
        sheet.freeze_panes(HEADER_ROWS, 0)
        sheet.set_column(0, 0, 11)
        sheet.set_column(1, 4, 18)
        sheet.set_column(5, 5, 11)
        sheet.set_column(6, 9, 14)
        sheet.set_column(10, 10, 24)
        sheet.set_column(11, 14, 11)

        row = HEADER_ROWS
        sheet.write(row, 1, _("Opening balance"), styles["label"])
        sheet.write_number(row, 8, self.opening_balance, money)
        opening_row = row
        first_line_row = row + 1
        for line in self.line_ids:
            row += 1
            if line.display_type == "detail":
                sheet.write(row, 1, line.name or "")
                sheet.write(row, 4, line.sale_order_refs or "")
                sheet.write(row, 10, line.product_id.display_name or "")
                sheet.write_number(row, 11, line.quantity)
                sheet.write_number(row, 12, line.qty_delivered)
                sheet.write_number(row, 13, line.price_unit)
                sheet.write_number(row, 14, line.price_subtotal, money)
                continue
            if line.date:
                sheet.write_datetime(row, 0, line.date, styles["date"])
            sheet.write(row, 1, line.name or "")
            sheet.write(row, 2, document_labels.get(line.document_type, ""))
            sheet.write(row, 3, line.reference or "")
            sheet.write(row, 4, line.sale_order_refs or "")
            if line.date_maturity:
                sheet.write_datetime(row, 5, line.date_maturity, styles["date"])
            sheet.write_number(row, 6, line.debit, money)
            sheet.write_number(row, 7, line.credit, money)
            sheet.write_number(row, 8, line.balance, money)
            sheet.write_number(row, 9, line.amount_residual, money)
        last_line_row = row
        row += 1
        sheet.write(row, 1, _("Totals"), styles["total"])
        if last_line_row >= first_line_row:
            debit_range = f"{cell(first_line_row, 6)}:{cell(last_line_row, 6)}"
            credit_range = f"{cell(first_line_row, 7)}:{cell(last_line_row, 7)}"
            sheet.write_formula(
                row, 6, f"=SUM({debit_range})", money_total, self.total_debit
            )
            sheet.write_formula(
                row, 7, f"=SUM({credit_range})", money_total, self.total_credit
            )
        else:
            sheet.write_number(row, 6, 0.0, money_total)
            sheet.write_number(row, 7, 0.0, money_total)
        sheet.write(row + 1, 1, _("Closing balance"), styles["total"])
        sheet.write_formula(
            row + 1,
            8,
            f"={cell(opening_row, 8)}+{cell(row, 6)}-{cell(row, 7)}",
            money_total,
            self.closing_balance,
        )
        self._write_xlsx_aging(sheet, row + 3, styles, money_styles)

    def _write_xlsx_aging(self, sheet, row, styles, money_styles):
        """What is open at the period's end, by age (the statement's aging
        buckets), its total (the closing balance) and what is overdue."""
        self.ensure_one()
        money, money_total = money_styles
        sheet.write(
            row,
            1,
            _("Open items at %(date)s", date=fields.Date.to_string(self.date_to)),
            styles["label"],
        )
        first_row = row + 1
        for bucket in self.aging_ids:
            row += 1
            sheet.write(row, 1, bucket.name)
            sheet.write_number(row, 9, bucket.amount, money)
        row += 1
        sheet.write(row, 1, _("Total open"), styles["total"])
        if self.aging_ids:
            sheet.write_formula(
                row,
                9,
                f"=SUM({cell(first_row, 9)}:{cell(row - 1, 9)})",
                money_total,
                sum(self.aging_ids.mapped("amount")),
            )
        else:
            sheet.write_number(row, 9, 0.0, money_total)
        sheet.write(row + 1, 1, _("Overdue"), styles["label"])
        sheet.write_number(row + 1, 9, self.overdue_amount, money)
