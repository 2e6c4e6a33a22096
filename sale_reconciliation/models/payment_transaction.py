from odoo import models


class PaymentTransaction(models.Model):
    _inherit = "payment.transaction"

    def _check_amount_and_confirm_order(self):
        # EXTENDS sale: Odoo confirms the quotation a transaction paid enough
        # of, inside the payment's post-processing. A quotation paid in full
        # online confirms (credit control lets it through, see
        # sale.order._get_credit_refusals); one paid in part that credit
        # control refuses goes to the credit managers as an approval request
        # instead of raising there: the customer paid, the payment is
        # processed, the order waits for their decision.
        held = self.env["payment.transaction"]
        for tx in self:
            if len(tx.sale_order_ids) != 1:
                continue  # Odoo confirms nothing either
            quotation = tx.sale_order_ids.filtered(
                lambda so: so.state in ("draft", "sent")
            )
            if not quotation or not quotation._is_confirmation_amount_reached():
                continue
            if quotation._get_credit_refusals():
                quotation._request_credit_approval_for_online_payment(tx)
                held |= tx
        return super(PaymentTransaction, self - held)._check_amount_and_confirm_order()
