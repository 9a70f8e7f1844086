"""A thousand random, nested rollbacks (``venomqa.testing.soak_rollbacks``), each verified
against its checkpoint by the store's records and by its audit (a full read of the tables and
AUTO_INCREMENT counters), through the blog API served by its own process with its own MySQL
connection pool; the database (catalog, rows, counters) is as it was afterwards."""

from __future__ import annotations

from _support_mysql import content_without_venomqa
from venomqa.demo.blog.checks import ACTIONS
from venomqa.testing import soak_rollbacks
from venomqa.testing.server import ApiProcess
from venomqa.world import World
from venomqa_mysql import MySQLStore


def test_a_thousand_verified_rollbacks_through_the_blog_api(
    blog: tuple[ApiProcess, str],
) -> None:
    server, dsn = blog
    before = content_without_venomqa(dsn)
    world = World(server.url, stores={"db": MySQLStore(dsn=dsn)})
    try:
        soaked = soak_rollbacks(world, ACTIONS, rollbacks=1000, seed=13)
    finally:
        world.api.close()

    assert soaked.rollbacks == 1000
    assert soaked.errors < soaked.actions  # the blog refused some calls, not all of them
    assert soaked.actions > 1000 and soaked.deepest >= 5, soaked
    assert soaked.actions - soaked.errors > 500  # mostly real writes
    assert content_without_venomqa(dsn) == before
