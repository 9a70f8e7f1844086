"""Mistakes in the ``openapi:`` section: each is exit 2 with a message naming venomqa.yaml, the
key path and what is wrong (a missing file, an unreachable or failing URL, a document that is
not JSON/YAML or not OpenAPI 3, a dangling ``$ref``, an unknown option or wiring target)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from venomqa.cli.main import cli
from venomqa.demo import init_schema, start_demo_server

DANGLING = """\
openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  /items:
    post:
      operationId: createItem
      requestBody:
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Missing'}
      responses: {"201": {description: ok}}
"""

SMALL = """\
openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  /items/{item_id}:
    get:
      operationId: getItem
      parameters: [{name: item_id, in: path, required: true, schema: {type: integer}}]
      responses: {"200": {description: ok}}
"""

#: (files next to venomqa.yaml, the openapi section, key path, words of the message)
CASES = {
    "missing file": ({}, "openapi: ./nope.json", "openapi", ["not found", "nope.json"]),
    "malformed JSON": (
        {"bad.json": '{"openapi": "3.1.0", "paths": '},
        "openapi: {spec: ./bad.json}",
        "openapi.spec",
        ["bad.json", "is not JSON or YAML"],
    ),
    "not OpenAPI 3": (
        {"swagger.yaml": "swagger: '2.0'\npaths: {}\n"},
        "openapi: ./swagger.yaml",
        "openapi",
        ["swagger.yaml", "is not an OpenAPI 3 document"],
    ),
    "dangling $ref": (
        {"dangling.yaml": DANGLING},
        "openapi: ./dangling.yaml",
        "openapi",
        ["'#/components/schemas/Missing'", "/paths/~1items/post/requestBody", "points at nothing"],
    ),
    "unknown option": (
        {"small.yaml": SMALL},
        "openapi: {spec: ./small.yaml, sede: 3}",
        "openapi.sede",
        ["unknown key", "did you mean 'seed'"],
    ),
    "unknown check": (
        {"small.yaml": SMALL},
        "openapi: {spec: ./small.yaml, checks: {shema: false}}",
        "openapi.checks.shema",
        ["unknown key", "did you mean 'schema'"],
    ),
    "wiring to a missing parameter": (
        {"small.yaml": SMALL},
        'openapi: {spec: ./small.yaml, wiring: {"getItem.id": "getItem#/id"}}',
        "openapi.wiring.getItem.id",
        ["no path parameter 'id'"],
    ),
    "unknown include": (
        {"small.yaml": SMALL},
        "openapi: {spec: ./small.yaml, include: [getItme]}",
        "openapi.include",
        ["no operation named 'getItme'", "getItem"],
    ),
    "identity without credentials": (
        {"small.yaml": SMALL},
        "openapi: {spec: ./small.yaml, auth: {alice: {}}}",
        "openapi.auth.alice",
        ["expected `headers:` or `login:`"],
    ),
    "not a URL scheme": ({}, "openapi: ftp://host/spec.json", "openapi", ["http(s) URL"]),
}


def _run(folder: Path, section: str) -> tuple[int, str, Path]:
    config = folder / "venomqa.yaml"
    config.write_text(f"target: http://127.0.0.1:9\n{section}\n")
    result = CliRunner().invoke(cli, ["run", "-c", str(config)])
    return result.exit_code, result.output, config


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_section_names_file_and_key(tmp_path: Path, case: str) -> None:
    files, section, key, words = CASES[case]
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    code, output, config = _run(tmp_path, section)
    assert code == 2, output
    assert f"{config}: {key}: " in output, output
    for word in words:
        assert word in output, output
    assert "Traceback" not in output


@pytest.fixture
def demo_url(tmp_path: Path) -> Iterator[str]:
    """A live API that serves no OpenAPI document (the demo shop)."""
    init_schema(str(tmp_path / "demo.db"))
    with start_demo_server(tmp_path / "demo.db") as server:
        yield server.url


def test_a_url_that_answers_404_or_refuses(tmp_path: Path, demo_url: str) -> None:
    code, output, config = _run(tmp_path, f"openapi: {{spec: {demo_url}/openapi.json}}")
    assert code == 2, output
    assert f"{config}: openapi.spec: cannot fetch the OpenAPI document {demo_url}" in output
    assert "HTTP 404" in output
    code, output, config = _run(tmp_path, "openapi: http://127.0.0.1:9/openapi.json")
    assert code == 2, output
    assert f"{config}: openapi: cannot fetch the OpenAPI document" in output, output
