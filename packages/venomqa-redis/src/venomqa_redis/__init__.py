"""VenomQA store for Redis: checkpoint and roll back one logical database (see ``store``).

Names load on first use, so that loading the plugin (and starting the CLI) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from venomqa.lazy import lazy_getattr

if TYPE_CHECKING:
    from venomqa_redis.store import RedisStore, RedisToken

__getattr__ = lazy_getattr(
    __name__, {"RedisStore": "venomqa_redis.store", "RedisToken": "venomqa_redis.store"}
)

__all__ = ["RedisStore", "RedisToken"]
