"""The report as a PDF (A4), rendered from the standalone HTML document by WeasyPrint."""

from __future__ import annotations

from pilot.report.build import Report
from pilot.report.html import document


def to_pdf(report: Report, language: str) -> bytes:
    from weasyprint import HTML  # imported on use: it loads Pango, which only the PDF needs

    pdf: bytes = HTML(string=document(report, language)).write_pdf()
    return pdf
