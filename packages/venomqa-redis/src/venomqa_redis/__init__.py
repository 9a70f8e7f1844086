"""VenomQA store for Redis: checkpoint and roll back one logical database (see ``store``)."""

from venomqa_redis.store import RedisStore, RedisToken

__all__ = ["RedisStore", "RedisToken"]
