"""Reports people look at: the dashboard and the payees' statements as
self-contained HTML pages, drawn from the report data of
:func:`engine.insights.report_data.build_report_data`."""

from .html import render_dashboard, render_report, statement_filename
from .statement import render_statement

__all__ = [
    "render_dashboard",
    "render_report",
    "render_statement",
    "statement_filename",
]
