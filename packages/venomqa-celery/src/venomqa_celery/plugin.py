"""The venomqa-celery plugin: registers the ``celery`` and ``rq`` store adapters.

Celery, kombu, RQ and redis-py are imported only when a store is built, so loading this plugin
(and so starting the ``venomqa`` CLI) stays fast.
"""

from __future__ import annotations

from venomqa import hookimpl

PLUGIN_NAME = "celery"


@hookimpl
def venomqa_register_adapters() -> list[type]:
    from venomqa_celery.celery_store import CeleryStore
    from venomqa_celery.rq_store import RQStore

    return [CeleryStore, RQStore]
