"""Repository-wide pytest policy: a skipped test is a failure.

The module's suite must really run against Odoo and PostgreSQL; a test that
skips (a missing chart of accounts, no browser for a tour, an HttpCase
without a server) would otherwise pass silently.
"""


def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped and exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    skipped = terminalreporter.stats.get("skipped", [])
    if skipped:
        terminalreporter.write_line(
            f"FAILED: {len(skipped)} test(s) skipped; skips count as failures here",
            red=True,
        )


def _import_odoo_test_framework():
    """Import Odoo's test framework the way Odoo's own runner does, in test
    mode, so it does not log an error when pytest-odoo imports it. Test mode
    is then left to pytest-odoo, which turns it on per test module: on for
    the whole run, Odoo would run every module's at_install tests as the
    registry loads."""
    try:
        from odoo.tools import config
    except ImportError:
        return  # the Odoo tests fail on their own, with a clear message
    saved = config["test_enable"]
    config["test_enable"] = True
    try:
        import odoo.tests  # noqa: F401
    finally:
        config["test_enable"] = saved


_import_odoo_test_framework()
