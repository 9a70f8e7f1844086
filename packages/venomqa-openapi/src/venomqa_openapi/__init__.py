"""venomqa-openapi: actions and invariants made from an OpenAPI document.

    # venomqa.yaml
    target: http://127.0.0.1:8000
    openapi: http://127.0.0.1:8000/openapi.json

``OpenApiSource(section, config).contribute()`` is what ``venomqa run`` calls; ``build`` makes the
same from Python (a spec path or URL, or a parsed document) for ``venomqa.explore``.
"""

from __future__ import annotations

from venomqa.lazy import lazy_getattr

__getattr__ = lazy_getattr(
    __name__,
    {
        "OpenApiSource": "venomqa_openapi.source",
        "build": "venomqa_openapi.source",
        "Settings": "venomqa_openapi._settings",
    },
)

__all__ = ["OpenApiSource", "Settings", "build"]
