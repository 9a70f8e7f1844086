"""The venomqa-openapi plugin: registers the ``openapi`` action source (the ``openapi:`` section
of venomqa.yaml). Imports neither jsonschema nor the spec machinery."""

from __future__ import annotations

from venomqa import hookimpl


@hookimpl
def venomqa_register_sources() -> list[type]:
    from venomqa_openapi.source import OpenApiSource

    return [OpenApiSource]
