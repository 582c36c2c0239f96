"""The report as HTML: a fragment for the web page, or a standalone document (the HTML file, and
what WeasyPrint turns into the PDF). Jinja2 with autoescaping; the charts are already-escaped SVG."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from pilot.report.build import Report
from pilot.report.view import render_view

HERE = Path(__file__).parent


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(("html",)),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def stylesheet() -> str:
    return (HERE / "report.css").read_text(encoding="utf-8")


def fragment(report: Report, language: str) -> Markup:
    """The report's body, to place inside a page."""
    return Markup(_environment().get_template("report.html").render(r=render_view(report, language)))  # noqa: S704


def document(report: Report, language: str) -> str:
    """A complete HTML document with its stylesheet inside: one file, readable offline, printable."""
    view = render_view(report, language)
    body = Markup(_environment().get_template("report.html").render(r=view))  # noqa: S704
    return _environment().get_template("document.html").render(r=view, body=body, css=Markup(stylesheet()))  # noqa: S704
