"""Load an OpenAPI 3 document and read its operations.

The document is fetched (http/https) or read (JSON or YAML), registered with ``referencing`` under
``urn:venomqa-openapi`` so that every ``$ref`` resolves through it, and walked once into
Operation records: parameters, request body schema, documented responses and links. OpenAPI
3.0's ``nullable`` is rewritten to JSON Schema's ``type: [..., "null"]`` first (3.1 documents are
JSON Schema already).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012
from venomqa.errors import ConfigError

BASE_URI = "urn:venomqa-openapi"
METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Parameter:
    """A path or query parameter (``where``), its schema and whether it is required."""

    name: str
    where: str
    schema: dict[str, Any]
    required: bool


@dataclass(frozen=True)
class Response:
    """A documented response: its status (``"200"``, ``"4XX"``, ``"default"``), the JSON
    pointer of its JSON body schema in the document (None when it has none), and its links."""

    status: str
    schema_pointer: str | None
    links: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Operation:
    """One method on one path."""

    name: str
    method: str
    path: str
    parameters: tuple[Parameter, ...]
    body_schema: dict[str, Any] | None
    body_required: bool
    responses: dict[str, Response]
    secured: bool

    def path_params(self) -> list[Parameter]:
        return [p for p in self.parameters if p.where == "path"]

    def query_params(self) -> list[Parameter]:
        return [p for p in self.parameters if p.where == "query"]

    def response_for(self, status: int) -> Response | None:
        """The documented response for ``status`` (exact, then ``4XX``, then ``default``)."""
        return (
            self.responses.get(str(status))
            or self.responses.get(f"{str(status)[0]}XX")
            or self.responses.get("default")
        )


class Spec:
    """A loaded document: its operations and a resolver for ``$ref``."""

    def __init__(self, document: dict[str, Any], *, where: str) -> None:
        if not isinstance(document.get("paths"), dict) or "openapi" not in document:
            raise ConfigError(
                f"{where} is not an OpenAPI 3 document (no `openapi` version or `paths`)",
                key="openapi",
            )
        if str(document["openapi"]).startswith("3.0"):
            document = _nullable_to_type(document)
        self.document = document
        self.where = where
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        self.registry: Registry[Any] = Registry().with_resource(BASE_URI, resource)
        self.resolver = self.registry.resolver(base_uri=BASE_URI)
        self._check_refs(document, "")
        self.operations = list(self._operations())

    def _check_refs(self, node: Any, at: str) -> None:
        """Every ``$ref`` is local (``#/...``) and points at something: else a ConfigError
        naming the reference and where it sits."""
        if isinstance(node, list):
            for index, item in enumerate(node):
                self._check_refs(item, f"{at}/{index}")
            return
        if not isinstance(node, dict):
            return
        ref = node.get("$ref")
        if isinstance(ref, str):
            problem = None
            if not ref.startswith("#"):
                problem = "only references inside the document (#/...) are supported"
            else:
                try:
                    self.resolver.lookup(ref)
                except Unresolvable:
                    problem = "it points at nothing in the document"
            if problem is not None:
                raise ConfigError(
                    f"{self.where}: $ref {ref!r} at {at or '/'}: {problem}", key="openapi"
                )
        for key, value in node.items():
            self._check_refs(value, f"{at}/{_escape(str(key))}")

    def deref(self, node: Any) -> Any:
        """``node`` with its top-level ``$ref`` (chains too) followed."""
        seen = 0
        while isinstance(node, dict) and "$ref" in node and seen < 32:
            node = self.resolver.lookup(node["$ref"]).contents
            seen += 1
        return node

    def _operations(self) -> list[Operation]:
        found = []
        global_security = bool(self.document.get("security"))
        for path, item in self.document["paths"].items():
            item = self.deref(item)
            shared = [self.deref(p) for p in item.get("parameters", [])]
            for method in METHODS:
                raw = item.get(method)
                if not isinstance(raw, dict):
                    continue
                pointer = f"/paths/{_escape(path)}/{method}"
                found.append(self._operation(path, method, raw, shared, pointer, global_security))
        return found

    def _operation(
        self,
        path: str,
        method: str,
        raw: dict[str, Any],
        shared: list[dict[str, Any]],
        pointer: str,
        global_security: bool,
    ) -> Operation:
        params: dict[tuple[str, str], Parameter] = {}
        for entry in [*shared, *(self.deref(p) for p in raw.get("parameters", []))]:
            where = entry.get("in")
            if where not in ("path", "query"):
                continue
            params[(entry["name"], where)] = Parameter(
                name=entry["name"],
                where=where,
                schema=entry.get("schema") or {},
                required=bool(entry.get("required")) or where == "path",
            )
        body = self.deref(raw.get("requestBody")) or {}
        body_schema = ((body.get("content") or {}).get("application/json") or {}).get("schema")
        responses: dict[str, Response] = {}
        for status, given in (raw.get("responses") or {}).items():
            response = self.deref(given) or {}
            content = (response.get("content") or {}).get("application/json")
            schema_pointer = None
            if isinstance(content, dict) and "schema" in content:
                schema_pointer = self._pointer_of(given, pointer, str(status))
            links = {
                str(name): self.deref(link) for name, link in (response.get("links") or {}).items()
            }
            responses[str(status).upper()] = Response(str(status).upper(), schema_pointer, links)
        security = raw.get("security")
        secured = global_security if security is None else bool(security)
        name = raw.get("operationId") or _name_of(method, path)
        return Operation(
            name=str(name),
            method=method.upper(),
            path=path,
            parameters=tuple(params.values()),
            body_schema=body_schema,
            body_required=bool(body.get("required")),
            responses=responses,
            secured=secured,
        )

    def _pointer_of(self, given: Any, pointer: str, status: str) -> str:
        """Where the JSON schema of a response sits (following a ``$ref``d response)."""
        if isinstance(given, dict) and "$ref" in given:
            ref = str(given["$ref"])
            base = ref.partition("#")[2]
            return f"{base}/content/application~1json/schema"
        return f"{pointer}/responses/{_escape(status)}/content/application~1json/schema"


def load_spec(spec: str, *, timeout: float = 10.0) -> Spec:
    """Fetch or read ``spec`` (an http(s) URL or a file path) and parse it."""
    if spec.startswith(("http://", "https://")):
        import httpx

        try:
            response = httpx.get(spec, timeout=timeout, follow_redirects=True)
        except httpx.HTTPError as exc:
            raise ConfigError(
                f"cannot fetch the OpenAPI document {spec}: {exc}", key="openapi"
            ) from exc
        if response.status_code != 200:
            raise ConfigError(
                f"cannot fetch the OpenAPI document {spec}: HTTP {response.status_code}",
                key="openapi",
            )
        text = response.text
    else:
        try:
            text = Path(spec).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"cannot read the OpenAPI document {spec}: {exc}", key="openapi"
            ) from exc
    try:
        document = json.loads(text) if text.lstrip().startswith("{") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ConfigError(
            f"the OpenAPI document {spec} is not JSON or YAML: {exc}", key="openapi"
        ) from exc
    if not isinstance(document, dict):
        raise ConfigError(f"the OpenAPI document {spec} is not a mapping", key="openapi")
    return Spec(document, where=spec)


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def _name_of(method: str, path: str) -> str:
    """``GET /items/{item_id}`` -> ``get_items_item_id``."""
    words = [w.strip("{}") for w in path.split("/") if w]
    return "_".join([method.lower(), *words]).replace("-", "_") or method.lower()


def _nullable_to_type(node: Any) -> Any:
    if isinstance(node, list):
        return [_nullable_to_type(item) for item in node]
    if not isinstance(node, dict):
        return node
    copy = {key: _nullable_to_type(value) for key, value in node.items()}
    if copy.pop("nullable", False) is True and isinstance(copy.get("type"), str):
        copy["type"] = [copy["type"], "null"]
    return copy
