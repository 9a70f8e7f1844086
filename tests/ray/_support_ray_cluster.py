"""A real Ray cluster on the loopback address, for the Ray backend's tests and bench/workers.py.

``local_cluster()`` runs ``ray start --head --block`` on 127.0.0.1 with free ports (GCS, Ray
Client server, node manager, object manager, agents, a private worker port range) and its own
short temp dir, so it never meets another Ray instance of the machine; it waits until the head is
up, yields a ``RayCluster`` (``address`` = ``127.0.0.1:PORT``, ``client_address`` =
``ray://127.0.0.1:PORT``), and at the end sends SIGTERM to that ``ray start`` process, which stops
every process of this cluster (and only those: ``ray stop`` would stop every Ray instance of the
machine). Processes of the cluster still there after the grace period are killed by pid.
Token authentication is off for it (``RAY_AUTH_MODE=disabled``), whatever ``~/.ray`` holds.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

#: How long the head may take to start (a loaded 2-core machine: 10-20 s).
START_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class RayCluster:
    address: str
    client_address: str
    temp_dir: Path
    pid: int


def ray_command() -> list[str]:
    """The ``ray`` CLI of this interpreter's environment."""
    beside = Path(sys.executable).with_name("ray")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("ray")
    if found is None:
        raise RuntimeError("the `ray` command is not installed beside this Python")
    return [found]


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports free right now on 127.0.0.1."""
    with ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(closing(socket.socket()))
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
        return ports


def cluster_processes(temp_dir: Path) -> list[int]:
    """Pids of processes whose command line names this cluster's temp dir."""
    found = subprocess.run(["pgrep", "-f", str(temp_dir)], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split() if int(pid) != os.getpid()]


#: Ports the Ray Client proxy gives the server it starts for each ``ray://`` driver, one after
#: the other from the first (fixed in Ray: ``proxier.MIN/MAX_SPECIFIC_SERVER_PORT``): kept clear
#: of the workers' ports.
CLIENT_SERVER_PORTS = range(23000, 24000)


def worker_ports(taken: list[int]) -> int:
    """The first of 401 ports for the cluster's workers: below the kernel's ephemeral range
    (where ``free_ports`` found the others), clear of ``taken`` and of the Ray Client's
    per-driver servers (``CLIENT_SERVER_PORTS``)."""
    try:
        ephemeral = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral = 32768
    while True:
        low = random.randrange(10000, max(10001, ephemeral - 401))
        clashes = any(low <= port <= low + 400 for port in taken)
        overlaps_client = low <= CLIENT_SERVER_PORTS[-1] and CLIENT_SERVER_PORTS[0] <= low + 400
        if not clashes and not overlaps_client:
            return low


@contextmanager
def local_cluster(num_cpus: int = 4) -> Iterator[RayCluster]:
    temp_dir = Path(tempfile.mkdtemp(prefix="vqray-", dir="/tmp"))  # short: socket paths
    ports = free_ports(8)
    gcs, client, node, objects, agent, agent_grpc, metrics, runtime_env = ports
    low = worker_ports(ports)
    log = open(temp_dir / "ray-start.log", "w")  # noqa: SIM115 (closed below)
    command = [
        *ray_command(),
        "start",
        "--head",
        "--block",
        "--node-ip-address=127.0.0.1",
        f"--port={gcs}",
        f"--ray-client-server-port={client}",
        f"--node-manager-port={node}",
        f"--object-manager-port={objects}",
        f"--dashboard-agent-listen-port={agent}",
        f"--dashboard-agent-grpc-port={agent_grpc}",
        f"--metrics-export-port={metrics}",
        f"--runtime-env-agent-port={runtime_env}",
        f"--min-worker-port={low}",
        f"--max-worker-port={low + 400}",
        "--include-dashboard=false",
        f"--num-cpus={num_cpus}",
        "--disable-usage-stats",
        f"--temp-dir={temp_dir}",
    ]
    process = subprocess.Popen(
        command,
        stdout=log,
        stderr=subprocess.STDOUT,
        # a token in ~/.ray/auth_token (left by any local ray.init) must not turn token
        # authentication on for this cluster: its drivers connect by address, without a token
        # the Ray Client proxy gives up on a driver's server that never answers after 10 s
        # rather than 30 (one started while gRPC threads run can hang; the driver then connects
        # again, and the test waits 20 s less)
        env={
            **os.environ,
            "RAY_ADDRESS": "",
            "RAY_AUTH_MODE": "disabled",
            "RAY_CLIENT_SERVER_CHECK_CHANNEL_TIMEOUT_S": "10",
        },
    )
    try:
        _wait_ready(process, temp_dir, gcs)
        yield RayCluster(
            address=f"127.0.0.1:{gcs}",
            client_address=f"ray://127.0.0.1:{client}",
            temp_dir=temp_dir,
            pid=process.pid,
        )
    finally:
        _stop(process, temp_dir)
        log.close()
        shutil.rmtree(temp_dir, ignore_errors=True)


def _wait_ready(process: subprocess.Popen[bytes], temp_dir: Path, gcs: int) -> None:
    """Until ``ray start`` recorded the cluster's address (it does so once the head is up)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"`ray start` exited {process.returncode}:\n"
                + (temp_dir / "ray-start.log").read_text()[-3000:]
            )
        if (temp_dir / "ray_current_cluster").exists():
            return
        time.sleep(0.2)
    raise RuntimeError(
        f"the Ray head on 127.0.0.1:{gcs} did not start within {START_TIMEOUT_S:.0f}s:\n"
        + (temp_dir / "ray-start.log").read_text()[-3000:]
    )


def _stop(process: subprocess.Popen[bytes], temp_dir: Path) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    deadline = time.monotonic() + 30
    while cluster_processes(temp_dir) and time.monotonic() < deadline:
        time.sleep(0.5)
    for pid in cluster_processes(temp_dir):
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def client_server_logs(cluster: RayCluster) -> str:
    """The tail of each Ray Client server log of the cluster (why a ``ray://`` driver failed)."""
    parts = []
    for path in sorted(cluster.temp_dir.glob("session_*/logs/ray_client_server*")):
        with suppress(OSError):
            parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-2000:]}")
    return "\n".join(parts)
