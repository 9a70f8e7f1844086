"""The venomqa-reporters plugin: registers the ``html``, ``junit`` and ``markdown`` reporters.

The reporter classes are imported inside the hook so that loading plugins stays fast.
"""

from __future__ import annotations

from venomqa import hookimpl

PLUGIN_NAME = "reporters"


@hookimpl
def venomqa_register_reporters() -> list[type]:
    from venomqa_reporters.html import HtmlReporter
    from venomqa_reporters.junit import JunitReporter
    from venomqa_reporters.markdown import MarkdownReporter

    return [HtmlReporter, JunitReporter, MarkdownReporter]
