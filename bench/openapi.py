"""venomqa-openapi: what generation costs, and how big the test exploration is.

1. Generation: the time to load an OpenAPI document (read, parse, check every ``$ref``, walk the
   operations) and the time to make every action and invariant from it (wiring, seeded values,
   invalid variants, probes), best of 5, for
   - the test shop's own document (``tests/openapi/_shop_api.py``, 5 operations), with no
     identity and with two (which adds the BOLA probes);
   - a generated document of 20 resources x 5 operations (create, list, get, update, delete: 100
     operations, schemas behind ``$ref``), the size of a mid-sized real API.
   Baseline in the same run: ``json.loads`` of the same document (parsing alone).
2. Exploration: ``venomqa run`` with only ``openapi:`` and two identities against the shop in
   its own process on SQLite (the SQLite store rolling it back), buggy and bug-free, at depths 2
   and 3: states, transitions, actions fired, findings and wall time.

Run: ``hatch run python bench/openapi.py``. Prints figures; asserts nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from venomqa_openapi._settings import read_settings
from venomqa_openapi._spec import load_spec
from venomqa_openapi.source import make

TESTS = Path(__file__).resolve().parent.parent / "tests" / "openapi"
sys.path.insert(0, str(TESTS))

VENOMQA = (sys.executable, "-m", "venomqa.cli.main")
IDENTITIES = {"alice": {"headers": {"X-User": "alice"}}, "bob": {"headers": {"X-User": "bob"}}}


def best(fn: Callable[[], object], rounds: int = 5) -> float:
    """The best wall time of ``rounds`` calls, in seconds."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def shop_document() -> dict[str, Any]:
    """The test shop's OpenAPI document, as FastAPI serves it (the buggy app)."""
    from _shop_api import Database, create_app

    document: dict[str, Any] = create_app(Database("sqlite:///:memory:"), True).openapi()
    return document


def large_document(resources: int = 20) -> dict[str, Any]:
    """``resources`` x (create, list, get, update, delete), schemas in components."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for number in range(resources):
        name = f"Thing{number}"
        plural = f"things{number}"
        key = f"{plural[:-1]}_id"
        schemas[f"{name}In"] = {
            "type": "object",
            "required": ["title", "size"],
            "properties": {
                "title": {"type": "string", "maxLength": 40},
                "size": {"type": "integer", "minimum": 0, "maximum": 500},
                "kind": {"type": "string", "enum": ["a", "b", "c"]},
                "due": {"type": "string", "format": "date"},
                "owner_email": {"type": "string", "format": "email"},
            },
        }
        schemas[name] = {
            "allOf": [
                {"$ref": f"#/components/schemas/{name}In"},
                {
                    "type": "object",
                    "required": ["id"],
                    "properties": {"id": {"type": "integer", "readOnly": True}},
                },
            ]
        }
        one = {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}
        body = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}In"}}},
        }
        item = [{"name": key, "in": "path", "required": True, "schema": {"type": "integer"}}]
        page = [
            {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 100}},
            {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
        ]
        listing = {
            "application/json": {
                "schema": {"type": "array", "items": one["application/json"]["schema"]}
            }
        }
        paths[f"/{plural}"] = {
            "post": {
                "operationId": f"create{name}",
                "requestBody": body,
                "responses": {"201": {"description": "made", "content": one}},
            },
            "get": {
                "operationId": f"list{name}s",
                "parameters": page,
                "responses": {"200": {"description": "page", "content": listing}},
            },
        }
        paths[f"/{plural}/{{{key}}}"] = {
            "parameters": item,
            "get": {
                "operationId": f"get{name}",
                "responses": {
                    "200": {"description": "one", "content": one},
                    "404": {"description": "none"},
                },
            },
            "put": {
                "operationId": f"update{name}",
                "requestBody": body,
                "responses": {"200": {"description": "one", "content": one}},
            },
            "delete": {
                "operationId": f"delete{name}",
                "responses": {"204": {"description": "gone"}},
            },
        }
    return {
        "openapi": "3.1.0",
        "info": {"title": "large", "version": "1"},
        "security": [{"user": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"user": {"type": "apiKey", "in": "header", "name": "X-User"}},
        },
    }


def generation(label: str, document: dict[str, Any], folder: Path) -> None:
    path = folder / f"{label}.json"
    text = json.dumps(document)
    path.write_text(text)
    parse = best(lambda: json.loads(text))
    load = best(lambda: load_spec(str(path)))
    operations = len(load_spec(str(path)).operations)
    for auth in ({}, IDENTITIES):
        settings = read_settings(
            {"spec": str(path), **({"auth": auth} if auth else {})}, file="bench", folder=folder
        )
        made = make(settings)
        build = best(lambda settings=settings: make(settings))
        who = f"{len(auth)} identities" if auth else "no identity"
        print(
            f"  {label:<12} {operations:>3} operations, {who:<12}: "
            f"{len(made.actions):>4} actions, {len(made.invariants):>4} invariants | "
            f"json.loads {parse * 1000:7.2f} ms | load {load * 1000:7.1f} ms | "
            f"load + make all {build * 1000:7.1f} ms"
        )


def exploration(bugs: bool, depth: int, folder: Path) -> None:
    from _support_openapi import ShopProcess

    work = Path(tempfile.mkdtemp(dir=folder))
    db = work / "shop.db"
    shop = ShopProcess(f"sqlite:///{db}", bugs=bugs)
    try:
        config = work / "venomqa.yaml"
        config.write_text(
            f"target: {shop.url}\nopenapi:\n  spec: {shop.url}/openapi.json\n"
            "  auth:\n    alice: {headers: {X-User: alice}}\n    bob: {headers: {X-User: bob}}\n"
            f"stores:\n  db: {{adapter: sqlite, path: {db}}}\nexplore: {{max_depth: {depth}}}\n"
        )
        report = work / "report.json"
        start = time.perf_counter()
        subprocess.run(
            [*VENOMQA, "run", "-c", str(config), "--no-console", "--report", f"json:{report}"],
            env={**os.environ, "VENOMQA_LOAD_PLUGINS": "openapi"},
            capture_output=True,
            check=False,
            timeout=600,
        )
        wall = time.perf_counter() - start
    finally:
        shop.stop()
    data = json.loads(report.read_text())
    print(
        f"  {'buggy' if bugs else 'twin ':<5} depth {depth}: {data['states']:>4} states, "
        f"{data['transitions']:>4} transitions, {len(data['actions']):>3} actions fired, "
        f"{len(data['violations'])} findings | "
        f"exploration {data['duration_s']:.2f} s, whole `venomqa run` {wall:.2f} s"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print("Generation (best of 5):")
        generation("shop", shop_document(), folder)
        generation("large", large_document(), folder)
        print("Exploration of the test shop (openapi: + two identities, SQLite store):")
        for bugs in (True, False):
            for depth in (2, 3):
                exploration(bugs, depth, folder)


if __name__ == "__main__":
    main()
