/** @odoo-module **/

import publicWidget from "@web/legacy/js/public/public_widget";
import PortalSidebar from "@portal/js/portal_sidebar";

/**
 * The portal page of a statement shows the statement's report in an iframe:
 * grow the iframe to the report's height, so the page scrolls as one.
 */
publicWidget.registry.StatementPortalSidebar = PortalSidebar.extend({
    selector: ".o_portal_statement_sidebar",

    start() {
        const result = this._super(...arguments);
        const iframe = this.el.querySelector("iframe#statement_html");
        if (!iframe) {
            return result;
        }
        const resize = () => this._resizeIframe(iframe);
        window.addEventListener("resize", resize);
        const doc = iframe.contentDocument || iframe.contentWindow.document;
        if (doc.readyState === "complete") {
            resize();
        }
        iframe.addEventListener("load", resize);
        return result;
    },

    _resizeIframe(iframe) {
        const wrapwrap = iframe.contentDocument?.querySelector("div#wrapwrap");
        if (!wrapwrap) {
            return;
        }
        iframe.style.height = "0px";
        iframe.style.height = `${wrapwrap.scrollHeight}px`;
    },
});
