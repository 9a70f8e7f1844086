"""The venomqa-ray plugin: registers the ``ray`` execution backend.

Ray is imported only when the backend runs workers (``RayBackend.hosts``), so loading this
plugin (and so starting the ``venomqa`` CLI) stays fast.
"""

from __future__ import annotations

from venomqa import hookimpl

PLUGIN_NAME = "ray"


@hookimpl
def venomqa_register_backends() -> list[type]:
    from venomqa_ray.backend import RayBackend

    return [RayBackend]
