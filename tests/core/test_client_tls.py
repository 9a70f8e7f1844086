"""The ``client:`` section of venomqa.yaml: timeout, retries, TLS ``verify`` and client ``cert``.

TLS is tested for real: the test makes a CA, a server certificate for 127.0.0.1 and a client
certificate with the ``openssl`` command, and serves HTTPS on loopback (stdlib ``http.server``
wrapped in an SSLContext), once requiring a client certificate.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import socket
import ssl
import subprocess
import textwrap
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from services import require_service
from venomqa.config import load_config
from venomqa.errors import ConfigError, TargetUnreachableError


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    client_bundle: Path


def _openssl(folder: Path, *args: str) -> None:
    done = subprocess.run(["openssl", *args], cwd=folder, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    if shutil.which("openssl") is None:
        require_service("the openssl command is not installed (needed to make test certificates)")
    d = tmp_path_factory.mktemp("pki")
    _openssl(d, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=VenomQA test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
    (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    (d / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name in ("server", "client"):
        _openssl(d, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
                 "-out", f"{name}.csr", "-subj", f"/CN=venomqa-{name}")  # fmt: skip
        _openssl(d, "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                 "-CAcreateserial", "-days", "2", "-out", f"{name}.pem",
                 "-extfile", f"{name}.ext")  # fmt: skip
    bundle = d / "client-bundle.pem"
    bundle.write_text((d / "client.pem").read_text() + (d / "client.key").read_text())
    return Pki(
        d / "ca.pem", d / "server.pem", d / "server.key", d / "client.pem", d / "client.key", bundle
    )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        peer = self.connection.getpeercert() if isinstance(self.connection, ssl.SSLSocket) else None
        subject = dict(pair for rdn in (peer or {}).get("subject", ()) for pair in rdn)
        body = json.dumps({"client_cn": subject.get("commonName")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def https_server(pki: Pki, *, require_client_cert: bool) -> Iterator[str]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    if require_client_cert:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(pki.ca)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def write_config(folder: Path, target: str, client: str) -> Path:
    path = folder / "venomqa.yaml"
    path.write_text(f"target: {target}\n" + textwrap.dedent(client), encoding="utf-8")
    return path


def test_verify_on_refuses_a_certificate_the_system_does_not_trust(
    pki: Pki, tmp_path: Path
) -> None:
    with https_server(pki, require_client_cert=False) as url:
        config = load_config(write_config(tmp_path, url, ""))
        with config.build_client() as client, pytest.raises(TargetUnreachableError) as caught:
            client.get("/")
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)
    assert "`client: {verify: PATH}`" in str(caught.value)


def test_verify_with_the_ca_bundle_path_trusts_the_server(pki: Pki, tmp_path: Path) -> None:
    shutil.copy(pki.ca, tmp_path / "ca.pem")
    with https_server(pki, require_client_cert=False) as url:
        config = load_config(write_config(tmp_path, url, "client: {verify: ca.pem}\n"))
        assert config.client.verify == str(tmp_path / "ca.pem")
        with config.build_client() as client:
            assert client.get("/").status_code == 200


def test_verify_false_accepts_any_certificate(pki: Pki, tmp_path: Path) -> None:
    with https_server(pki, require_client_cert=False) as url:
        config = load_config(write_config(tmp_path, url, "client: {verify: false}\n"))
        with config.build_client() as client:
            assert client.get("/").status_code == 200


@pytest.mark.parametrize("form", ["bundle", "pair"])
def test_the_client_certificate_is_presented(pki: Pki, tmp_path: Path, form: str) -> None:
    cert = f"{pki.client_bundle}" if form == "bundle" else f"[{pki.client_cert}, {pki.client_key}]"
    with https_server(pki, require_client_cert=True) as url:
        config = load_config(
            write_config(tmp_path, url, f"client: {{verify: {pki.ca}, cert: {cert}}}\n")
        )
        with config.build_client() as client:
            response = client.get("/")
        assert response.status_code == 200
        assert response.json() == {"client_cn": "venomqa-client"}
        without = load_config(write_config(tmp_path, url, f"client: {{verify: {pki.ca}}}\n"))
        with without.build_client() as client, pytest.raises(httpx.HTTPError):
            client.get("/")  # the server demands a certificate: the handshake fails


@pytest.mark.parametrize(
    ("client", "key", "expected"),
    [
        ("client: {verify: missing.pem}", "client.verify", "CA bundle file not found"),
        ("client: {verify: 3}", "client.verify", "true, false or the path of a CA bundle"),
        ("client: {cert: missing.pem}", "client.cert", "client certificate file not found"),
        ("client: {cert: [a.pem]}", "client.cert", "[CERTIFICATE, KEY]"),
        ("client: {retries: -1}", "client.retries", "expected an integer >= 0"),
        ("client: {timeout: 0}", "client.timeout", "> 0"),
        ("client: {timout: 3}", "client.timout", "did you mean 'timeout'"),
        ("client: [1]", "client", "expected a mapping"),
        ("timeout: 3\nclient: {timeout: 4}", "client.timeout", "given twice"),
    ],
)
def test_bad_client_settings_name_the_key(
    tmp_path: Path, client: str, key: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, "http://127.0.0.1:1", client + "\n"))
    assert caught.value.key == key, str(caught.value)
    assert expected in str(caught.value)


def test_timeout_bounds_a_call_to_a_silent_server(tmp_path: Path) -> None:
    listener = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        config = load_config(write_config(tmp_path, url, "client: {timeout: 0.3}\n"))
        assert config.timeout == 0.3
        with config.build_client() as client, pytest.raises(httpx.ReadTimeout):
            client.get("/")
    finally:
        listener.close()


def test_retries_resend_only_when_the_connection_could_not_be_opened(tmp_path: Path) -> None:
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now: every connection is refused
    url = f"http://127.0.0.1:{port}"
    config = load_config(write_config(tmp_path, url, "client: {retries: 2}\n"))
    with config.build_client() as client:
        client.retry = dataclasses.replace(client.retry, sleep=lambda _s: None)
        with pytest.raises(TargetUnreachableError) as caught:
            client.get("/")
        assert len(client.history) == 3
    assert "after 3 tries" in str(caught.value)
    assert config.client.client_kwargs()["retry"].retry_statuses == frozenset()


CN_CHECKS = """
from venomqa import action, invariant


@action
def whoami(api, ctx):
    response = api.get("/")
    ctx["seen_as"] = response.json()["client_cn"]
    return response


@invariant
def the_server_saw_our_certificate(world):
    return world.ctx.get("seen_as", "venomqa-client") == "venomqa-client"
"""


def test_venomqa_run_uses_the_client_section_end_to_end(pki: Pki, tmp_path: Path) -> None:
    """`venomqa run` as a user runs it, against an API that requires a client certificate."""
    import sys

    for path in (pki.ca, pki.client_cert, pki.client_key):
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "cn_checks.py").write_text(CN_CHECKS)
    with https_server(pki, require_client_cert=True) as url:
        write_config(
            tmp_path,
            url,
            """\
            actions: [cn_checks]
            explore: {max_depth: 1}
            client: {verify: ca.pem, cert: [client.pem, client.key], timeout: 5}
            """,
        )
        run = [sys.executable, "-m", "venomqa", "run", "-c", str(tmp_path / "venomqa.yaml")]
        done = subprocess.run(run, capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "whoami  fired 1" in done.stdout

        write_config(tmp_path, url, "actions: [cn_checks]\nclient: {verify: ca.pem}\n")
        refused = subprocess.run(run, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert refused.returncode == 3, refused.stdout + refused.stderr  # no certificate: no API
    assert "the server requires a client certificate: give it as `client: {cert:" in refused.stderr
