"""Browser tests' own hooks: where the accessibility test wrote its summary, said at the end of the run."""

from tests.browser.axe import SUMMARIES


def pytest_terminal_summary(terminalreporter):
    for path in SUMMARIES:
        terminalreporter.write_line(f"axe-core summary (pages checked, findings by impact): {path}")
