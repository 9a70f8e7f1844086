"""A worker built from a recipe and reached only through pickled messages (what a backend that
runs workers in other processes, such as Ray, carries) gives the same exploration as one world.

The worker is a ``WorkerProcess`` (it loads venomqa.yaml, builds its store from the copy's
options, starts its own blog API from ``target.command``); the coordinator talks to it through a
``RemoteHost`` whose transport pickles every call and every answer, so anything that would not
cross a process boundary fails here.
"""

from __future__ import annotations

import pickle
import sys
import textwrap
from contextlib import ExitStack
from pathlib import Path

from blog_model import assert_matches_model
from test_parallel_workers import DEPTH, copies_beside, dump, make_blog_db, summary
from venomqa.demo.blog import start_blog_server
from venomqa.demo.blog.checks import ACTIONS, INVARIANTS
from venomqa.explorer import explore
from venomqa.parallel_worker import RemoteHost, WorkerProcess
from venomqa.ports.backend import WorkerRecipe
from venomqa.stores.sqlite import SQLiteStore
from venomqa.world import World


def pickling_transport(worker: WorkerProcess, sizes: list[int]):  # type: ignore[no-untyped-def]
    def transport(method: str, args: tuple[object, ...]) -> tuple[object, int]:
        sent = pickle.loads(pickle.dumps((method, args)))
        answer = pickle.dumps(worker.handle(*sent))
        sizes.append(len(answer))
        result, calls = pickle.loads(answer)
        return result, calls

    return transport


def test_a_worker_reached_through_pickles_finds_what_one_world_finds(tmp_path: Path) -> None:
    db = tmp_path / "blog.db"
    make_blog_db(db)
    config = tmp_path / "venomqa.yaml"
    config.write_text(
        textwrap.dedent(
            f"""
            target:
              url: http://127.0.0.1:{{port}}
              command: [{sys.executable}, -m, venomqa.demo.blog, --storage,
                        "sqlite:{{stores.db.path}}", --port, "{{port}}"]
              ready: /
            actions: [venomqa.demo.blog.checks]
            stores:
              db: {{adapter: sqlite, path: {db.name}}}
            """
        )
    )
    before = dump(db)
    with start_blog_server(f"sqlite:{db}") as server:
        alone = explore(
            World(server.url, stores={"db": SQLiteStore(str(db))}),
            ACTIONS,
            INVARIANTS,
            max_depth=DEPTH,
        )
    store = SQLiteStore(str(db))
    sizes: list[int] = []
    with ExitStack() as stack:
        copy = store.clone("w2")
        stack.callback(store.drop_clone, copy)
        worker = WorkerProcess(WorkerRecipe(str(config), {}, "w2", {"db": copy}))
        stack.callback(worker.close)
        server = stack.enter_context(start_blog_server(f"sqlite:{db}"))
        world = World(server.url, stores={"db": SQLiteStore(str(db))})
        stack.callback(world.api.close)
        together = explore(
            world,
            ACTIONS,
            INVARIANTS,
            max_depth=DEPTH,
            more_worlds=[RemoteHost(pickling_transport(worker, sizes))],
        )
        assert worker.calls > 0  # the remote worker did its share
        assert dump(Path(str(copy["path"]))) == before  # and left its copy as it found it
    assert_matches_model(together, DEPTH)
    assert summary(together) == summary(alone)
    assert dump(db) == before
    assert copies_beside(db) == []
    assert max(sizes) < 256 * 1024  # an outcome is small
