from odoo import _, fields, http
from odoo.exceptions import AccessError, MissingError, UserError
from odoo.http import request

from odoo.addons.portal.controllers.portal import CustomerPortal
from odoo.addons.portal.controllers.portal import pager as portal_pager

STATEMENT_MODEL = "sale.reconciliation.statement"
# What a customer ever sees of their statements: the ones sent to them.
CUSTOMER_STATES = ("sent", "accepted", "disputed")
LINE_COMMENT_PREFIX = "line_comment_"


class StatementPortal(CustomerPortal):
    # -------------------------------------------------------------------------
    # Portal home
    # -------------------------------------------------------------------------

    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        Statement = request.env[STATEMENT_MODEL]
        can_read = Statement.has_access("read")
        partner = request.env.user.partner_id
        if "statement_count" in counters:
            values["statement_count"] = (
                Statement.search_count(self._prepare_statements_domain(partner))
                if can_read
                else 0
            )
        if "statement_to_answer_count" in counters:
            values["statement_to_answer_count"] = (
                Statement.search_count(
                    self._prepare_statements_domain(partner, to_answer=True)
                )
                if can_read
                else 0
            )
        return values

    def _prepare_statements_domain(self, partner, to_answer=False):
        return [
            ("partner_id", "child_of", [partner.commercial_partner_id.id]),
            ("state", "in", ("sent",) if to_answer else CUSTOMER_STATES),
        ]

    def _get_statement_searchbar_sortings(self):
        return {
            "date": {"label": _("Period"), "order": "date_to desc, id desc"},
            "name": {"label": _("Number"), "order": "name desc"},
            "state": {"label": _("Status"), "order": "state, date_to desc"},
        }

    def _get_statement_searchbar_filters(self):
        return {
            "all": {"label": _("All"), "to_answer": False},
            "to_answer": {"label": _("Awaiting Your Answer"), "to_answer": True},
        }

    # -------------------------------------------------------------------------
    # Routes
    # -------------------------------------------------------------------------

    @http.route(
        ["/my/statements", "/my/statements/page/<int:page>"],
        type="http",
        auth="user",
        website=True,
    )
    def portal_my_statements(self, page=1, sortby=None, filterby=None, **kw):
        Statement = request.env[STATEMENT_MODEL]
        sortings = self._get_statement_searchbar_sortings()
        filters = self._get_statement_searchbar_filters()
        sortby = sortby if sortby in sortings else "date"
        filterby = filterby if filterby in filters else "all"
        domain = self._prepare_statements_domain(
            request.env.user.partner_id, to_answer=filters[filterby]["to_answer"]
        )
        pager = portal_pager(
            url="/my/statements",
            url_args={"sortby": sortby, "filterby": filterby},
            total=Statement.search_count(domain),
            page=page,
            step=self._items_per_page,
        )
        statements = Statement.search(
            domain,
            order=sortings[sortby]["order"],
            limit=self._items_per_page,
            offset=pager["offset"],
        )
        request.session["my_statements_history"] = statements.ids[:100]
        values = self._prepare_portal_layout_values()
        values.update(
            {
                "statements": statements,
                "page_name": "statement",
                "pager": pager,
                "default_url": "/my/statements",
                "searchbar_sortings": sortings,
                "sortby": sortby,
                "searchbar_filters": filters,
                "filterby": filterby,
            }
        )
        return request.render("sale_reconciliation.portal_my_statements", values)

    @http.route(
        ["/my/statements/<int:statement_id>"],
        type="http",
        auth="public",
        website=True,
    )
    def portal_statement_page(
        self,
        statement_id,
        access_token=None,
        report_type=None,
        download=False,
        message=None,
        **kw,
    ):
        statement_sudo, refusal = self._get_statement_or_refusal(
            statement_id, access_token
        )
        if refusal:
            return refusal
        if report_type in ("html", "pdf", "text"):
            return self._show_report(
                model=statement_sudo,
                report_type=report_type,
                report_ref="sale_reconciliation.action_report_statement",
                download=download,
            )
        values = self._get_page_view_values(
            statement_sudo,
            access_token,
            {
                "statement": statement_sudo,
                "page_name": "statement",
                "message": message,
                "entry_lines": statement_sudo.line_ids.filtered(
                    lambda line: line.display_type == "entry"
                ),
                "report_type": "html",
                "pay_overdue_url": self._get_pay_overdue_url(statement_sudo),
            },
            "my_statements_history",
            False,
            **kw,
        )
        return request.render("sale_reconciliation.portal_statement_page", values)

    @http.route(
        ["/my/statements/<int:statement_id>/accept"],
        type="json",
        auth="public",
        website=True,
    )
    def portal_statement_accept(
        self, statement_id, access_token=None, name=None, signature=None
    ):
        """Called by Odoo's portal signature form (JSON): the token and the
        CSRF token come in the query string of its URL."""
        args = request.httprequest.args
        access_token = access_token or args.get("access_token")
        if not request.validate_csrf(args.get("csrf_token")):
            return {"error": _("Your session expired: reload the page and try again.")}
        try:
            statement_sudo = self._check_statement_access(statement_id, access_token)
        except (AccessError, MissingError):
            return {"error": _("This statement is not available to you.")}
        if request.env.user._is_internal():
            return {"error": self._get_internal_user_message()}
        name = (name or "").strip()
        if not name:
            return {"error": _("Type your name to confirm the statement.")}
        if statement_sudo.state != "sent":
            return {"error": self._get_answered_message(statement_sudo)}
        try:
            statement_sudo._accept(name, signature, channel="portal")
        except UserError as error:
            return {"error": error.args[0]}
        statement_sudo._record_customer_answer(
            self._get_answering_partner(statement_sudo),
            request.httprequest.remote_addr,
        )
        return {
            "force_refresh": True,
            "redirect_url": statement_sudo.get_portal_url(
                query_string="&message=accepted"
            ),
        }

    @http.route(
        ["/my/statements/<int:statement_id>/dispute"],
        type="http",
        auth="public",
        methods=["POST"],
        website=True,
    )
    def portal_statement_dispute(
        self, statement_id, access_token=None, reason=None, **post
    ):
        statement_sudo, refusal = self._get_statement_or_refusal(
            statement_id, access_token
        )
        if refusal:
            return refusal
        if request.env.user._is_internal():
            return self._render_refusal(
                self._get_internal_user_message(), 403, statement_sudo
            )
        if statement_sudo.state != "sent":
            return self._render_refusal(
                self._get_answered_message(statement_sudo), 409, statement_sudo
            )
        if not (reason or "").strip():
            return self._render_refusal(
                _("Tell us what is wrong with the statement."), 400, statement_sudo
            )
        try:
            line_comments = {
                int(key[len(LINE_COMMENT_PREFIX) :]): value
                for key, value in post.items()
                if key.startswith(LINE_COMMENT_PREFIX)
            }
        except ValueError:
            line_comments = None
        if line_comments is None or not set(line_comments) <= set(
            statement_sudo.line_ids.ids
        ):
            return self._render_refusal(
                _("A comment names a line that is not on this statement."),
                400,
                statement_sudo,
            )
        statement_sudo._dispute(reason, line_comments, channel="portal")
        statement_sudo._record_customer_answer(
            self._get_answering_partner(statement_sudo),
            request.httprequest.remote_addr,
        )
        return request.redirect(
            statement_sudo.get_portal_url(query_string="&message=disputed")
        )

    # -------------------------------------------------------------------------
    # Helpers
    # -------------------------------------------------------------------------

    def _check_statement_access(self, statement_id, access_token):
        """The statement, sudoed, if the user's customer or the token may see
        it; only statements sent to the customer are ever shown."""
        statement_sudo = self._document_check_access(
            STATEMENT_MODEL, statement_id, access_token=access_token
        )
        if statement_sudo.state not in CUSTOMER_STATES:
            raise MissingError(_("This statement was not sent to you."))
        return statement_sudo

    def _get_statement_or_refusal(self, statement_id, access_token):
        try:
            return self._check_statement_access(statement_id, access_token), None
        except MissingError:
            return None, self._render_refusal(
                _("This statement does not exist or was withdrawn."), 404
            )
        except AccessError:
            return None, self._render_refusal(
                _(
                    "This statement is not available to you: sign in with the "
                    "account it was sent to, or use the link of the email."
                ),
                403,
            )

    def _get_pay_overdue_url(self, statement_sudo):
        """Odoo's page where a signed-in customer pays all its overdue
        invoices at once, when the statement's company takes payments online
        and that page asks for what the customer really owes overdue there
        (net of its credits and collections in hand, disputes left out);
        False otherwise. The page charges the invoices' totals, whatever was
        paid or credited: then the customer pays each invoice instead."""
        user = request.env.user
        company = statement_sudo.company_id
        if user._is_public() or not company._has_online_payment_provider():
            return False
        page = company._get_overdue_payment_page(user.partner_id)
        if not page or page[0] != company or page[1] != company.currency_id:
            return False
        customer = statement_sudo.partner_id.commercial_partner_id
        # sudo: the follow-up figures add up the customer's journal items,
        # for the customer of a statement the user may read.
        figures = (
            request.env["sale.reconciliation.credit.profile"]
            .sudo()
            ._followup_query(company, fields.Date.context_today(user), customer.ids)
            .get(customer.id)
        )
        if not figures or company.currency_id.compare_amounts(
            page[2], figures["overdue_amount"]
        ):
            return False
        return "/my/invoices/overdue"

    def _render_refusal(self, reason, status, statement_sudo=None):
        values = self._prepare_portal_layout_values()
        values.update(
            {
                "reason": reason,
                "statement": statement_sudo,
                "page_name": "statement",
            }
        )
        return request.render(
            "sale_reconciliation.portal_statement_refused", values, status=status
        )

    def _get_internal_user_message(self):
        return _(
            "Only the customer answers here. To record an answer the customer "
            "gave you, open the statement in the back office (reconciliation "
            "managers)."
        )

    def _get_answered_message(self, statement_sudo):
        if statement_sudo.state == "accepted":
            return _(
                "Statement %(name)s was already confirmed by %(who)s.",
                name=statement_sudo.name,
                who=statement_sudo.accepted_by,
            )
        return _(
            "Statement %(name)s was already disputed: we will come back to you.",
            name=statement_sudo.name,
        )

    def _get_answering_partner(self, statement_sudo):
        """Who answers: the signed-in portal user, or the customer when the
        statement is opened with the link of the email."""
        user = request.env.user
        return statement_sudo.partner_id if user._is_public() else user.partner_id
