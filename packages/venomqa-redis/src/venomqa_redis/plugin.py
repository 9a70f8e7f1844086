"""The venomqa-redis plugin: registers the ``redis`` store adapter.

redis-py is imported only when a store is built, so loading this plugin (and so starting the
``venomqa`` CLI) stays fast.
"""

from __future__ import annotations

from venomqa import hookimpl

PLUGIN_NAME = "redis"


@hookimpl
def venomqa_register_adapters() -> list[type]:
    from venomqa_redis.store import RedisStore

    return [RedisStore]
