/** @odoo-module **/

import { registry } from "@web/core/registry";

// The statements are created by the Python test (test_statement_portal_tour).

registry.category("web_tour.tours").add("sale_reconciliation_statement_confirm", {
    url: "/my",
    steps: () => [
        {
            content: "the portal home says a statement waits for an answer",
            trigger: ".o_statement_to_answer_banner:contains(Statements awaiting your answer)",
            run: "click",
        },
        {
            content: "open the statement to answer",
            trigger: "a:contains(TOUR-CONFIRM)",
            run: "click",
        },
        {
            content: "the statement itself is shown",
            trigger: "iframe#statement_html",
        },
        {
            content: "wait for the signature form, still hidden in its dialog",
            trigger: "#modal_statement_accept input.o_web_sign_name_input:not(:visible)",
        },
        {
            content: "start the confirmation",
            trigger: "a.o_statement_confirm",
            run: "click",
        },
        {
            content: "type the name",
            trigger: "#modal_statement_accept input.o_web_sign_name_input",
            run: "edit Tour Accountant",
        },
        {
            content: "confirm",
            trigger: "#modal_statement_accept .o_portal_sign_submit:enabled",
            run: "click",
        },
        {
            content: "the customer sees the confirmation",
            trigger: ".o_statement_answer_message:contains(you confirmed this statement)",
        },
        {
            content: "and who confirmed it",
            trigger: "#statement_content:contains(Confirmed by Tour Accountant)",
        },
    ],
});

registry.category("web_tour.tours").add("sale_reconciliation_statement_dispute", {
    url: "/my/statements",
    steps: () => [
        {
            content: "open the statement to dispute",
            trigger: "a:contains(TOUR-DISPUTE)",
            run: "click",
        },
        {
            content: "start the dispute",
            trigger: "a.o_statement_dispute",
            run: "click",
        },
        {
            content: "say what is wrong",
            trigger: "#modal_statement_dispute textarea[name=reason]",
            run: "edit Our books show a different balance.",
        },
        {
            content: "comment on the first line",
            trigger: "#modal_statement_dispute input[name^=line_comment_]:first",
            run: "edit We paid this invoice on the 5th.",
        },
        {
            content: "send the dispute",
            trigger: "#modal_statement_dispute .o_statement_dispute_submit",
            run: "click",
        },
        {
            content: "the customer sees the dispute recorded",
            trigger: ".o_statement_answer_message:contains(your dispute is recorded)",
        },
        {
            content: "with the comment on the line",
            trigger: "#statement_content li:contains(We paid this invoice on the 5th.)",
        },
    ],
});
