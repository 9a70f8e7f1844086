"""HTML, JUnit XML and Markdown reports for VenomQA runs.

Installed, the plugin registers the reporters ``html``, ``junit`` and ``markdown``:

    venomqa run --report html:r.html --report junit:j.xml --report markdown:r.md

or in ``venomqa.yaml``: ``reports: [{format: html, path: reports/venomqa.html}]``. Each reporter
is also usable directly: ``HtmlReporter("r.html").report(run)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from venomqa.lazy import lazy_getattr

if TYPE_CHECKING:
    from venomqa_reporters.html import HtmlReporter
    from venomqa_reporters.junit import JunitReporter
    from venomqa_reporters.markdown import MarkdownReporter

__getattr__ = lazy_getattr(
    __name__,
    {
        "HtmlReporter": "venomqa_reporters.html",
        "JunitReporter": "venomqa_reporters.junit",
        "MarkdownReporter": "venomqa_reporters.markdown",
    },
)

__version__ = "1.0.0"

__all__ = ["HtmlReporter", "JunitReporter", "MarkdownReporter"]
