"""scripts/ensure-chromium.sh says what it installs (packages, where, how big) before installing.

The dry run asks this machine's real apt-get for its plan. The install path runs as root and
changes the system, so it runs against a stand-in ``apt-get`` (and ``id``) on PATH that logs what
it was asked, to check the plan is printed before anything is installed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from services import require_service

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "ensure-chromium.sh"

_PLAN = """\
Reading package lists...
The following NEW packages will be installed:
  chromium chromium-common libfoo1
The following packages will be upgraded:
  libudev1
1 upgraded, 3 newly installed, 0 to remove and 0 not upgraded.
Inst libfoo1 (1.0 Debian:12/stable [amd64])
Inst libudev1 [252.38-1] (252.39-1 Debian:12/stable [amd64])
Inst chromium-common (156.0-1 Debian:12/stable [amd64])
Inst chromium (156.0-1 Debian:12/stable [amd64])
Conf libfoo1 (1.0 Debian:12/stable [amd64])
"""

#: What the stand-in ``apt-cache show`` says: 12.5 MB to download, 40 MB on disk in all.
_SIZES = """\
Package: chromium
Size: 10000000
Installed-Size: 30720

Package: chromium-common
Size: 2500000
Installed-Size: 10240
"""


def _an_uninstalled_package() -> str:
    """chromium when it is not installed yet, else a small package apt knows and dpkg lacks (so
    the plan is real and not empty on a machine that has Chromium already)."""
    for package in ("chromium", "cowsay", "sl"):
        installed = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True
        )
        if "install ok installed" in installed.stdout:
            continue
        policy = subprocess.run(
            ["apt-cache", "policy", package], capture_output=True, text=True, timeout=60
        )
        if "Candidate:" in policy.stdout and "Candidate: (none)" not in policy.stdout:
            return package
    require_service("apt knows none of chromium, cowsay, sl uninstalled (run apt-get update)")


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_dry_run_lists_the_packages_and_sizes_and_installs_nothing(tmp_path: Path) -> None:
    if not all(shutil.which(tool) for tool in ("apt-get", "apt-cache", "dpkg-query")):
        require_service("apt-get is not available (the script plans with apt-get)")
    package = _an_uninstalled_package()
    missing = tmp_path / "no-chromium"
    done = _run(
        "--dry-run",
        env={"ENSURE_CHROMIUM_PATH": str(missing), "ENSURE_CHROMIUM_PACKAGE": package},
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"{missing} is missing; dry run, nothing is installed" in out
    assert "system-wide (under /usr, with apt-get)" in out
    assert "newly installed" in out
    new_packages = out.split("new packages:", 1)[1].split("size:")[0]
    assert package in new_packages.replace("ensure-chromium:", " ").split()
    assert re.search(r"size: \d+\.\d MB to download, about \d+\.\d MB on disk", out), out
    assert not missing.exists()
    installed = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True
    )
    assert "install ok installed" not in installed.stdout, f"the dry run installed {package}"


def test_an_installed_chromium_is_left_alone(tmp_path: Path) -> None:
    present = tmp_path / "chromium"
    present.write_text("#!/bin/sh\n")
    present.chmod(0o755)
    done = _run(env={"ENSURE_CHROMIUM_PATH": str(present)})
    assert done.returncode == 0
    assert done.stdout == f"ensure-chromium: {present} is installed\n"


def test_the_plan_is_printed_before_anything_is_installed(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "apt.log"
    chromium = tmp_path / "chromium"
    # Stand-ins: `id -u` says root; apt-get logs each call, prints the plan for a simulation
    # (-s) and "installs" on install -y; apt-cache gives the packages' sizes.
    (bin_dir / "id").write_text("#!/bin/sh\necho 0\n")
    (bin_dir / "apt-get").write_text(
        "#!/bin/bash\n"
        f'echo "$*" >> {log}\n'
        'case "$*" in\n'
        f"  -s\\ install*) cat <<'EOF'\n{_PLAN}EOF\n ;;\n"
        f"  install\\ -y*) printf '#!/bin/sh\\necho Chromium 1.0\\n' > {chromium}\n"
        f"    chmod +x {chromium} ;;\n"
        "esac\n"
    )
    (bin_dir / "apt-cache").write_text(f"#!/bin/bash\ncat <<'EOF'\n{_SIZES}EOF\n")
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    done = _run(
        env={"ENSURE_CHROMIUM_PATH": str(chromium), "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    )
    assert done.returncode == 0, done.stderr
    calls = log.read_text().splitlines()
    assert [c.split()[:2] for c in calls] == [
        ["update", "-qq"],
        ["-s", "install"],
        ["install", "-y"],
    ]
    lines = done.stdout.splitlines()
    assert lines[-1] == "ensure-chromium: installed Chromium 1.0"
    said = "\n".join(lines)
    assert "1 upgraded, 3 newly installed" in said
    assert "new packages: libfoo1 chromium-common chromium\n" in said
    assert "upgraded packages: libudev1\n" in said
    assert "size: 12.5 MB to download, about 40.0 MB on disk" in said
    assert said.index("size:") < said.index("installing (takes a minute or more)")
