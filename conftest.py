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
