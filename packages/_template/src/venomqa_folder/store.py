"""FolderStore: checkpoint and roll back a folder of files that the API under test writes.

Options (the ``venomqa.yaml`` keys): ``path``, the folder. Each regular file is one record
(collection ``files``, field ``content``). Checkpoints are whole-folder snapshots on a stack:
O(folder size) each, which a real adapter replaces by recording only what changed.
"""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path
from typing import Any

from venomqa.errors import StoreError
from venomqa.ports import RecordChange

Snapshot = dict[str, bytes]

_serials = itertools.count(1)


class FolderStore:
    """Checkpoint/rollback of one folder's files (DESIGN §4)."""

    name = "folder"

    def __init__(self, path: str) -> None:
        self.root = Path(path)
        self._stack: list[tuple[int, Snapshot]] = []
        self._setup: Snapshot | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def setup(self) -> None:
        """Remember the folder as it is (creating it if needed)."""
        if self._setup is not None:
            raise StoreError(f"{self.root} is already set up", store=self.name)
        self.root.mkdir(parents=True, exist_ok=True)
        self._setup = self._read()

    def teardown(self) -> None:
        """Put the folder back as it was at setup. Idempotent."""
        original, self._setup = self._setup, None
        self._stack.clear()
        if original is not None:
            self._write(original)

    # -- contract -----------------------------------------------------------------------------

    def checkpoint(self) -> int:
        """Snapshot the folder; the token is the snapshot's serial number."""
        serial = next(_serials)
        self._stack.append((serial, self._read()))
        return serial

    def rollback(self, token: Any) -> None:
        """Put the folder back as it was at ``token``; later tokens become invalid."""
        position = self._position(token)
        del self._stack[position + 1 :]
        self._write(self._stack[position][1])

    def release(self, token: Any) -> None:
        """Forget ``token`` (and the snapshot it holds)."""
        self._stack = [(serial, snap) for serial, snap in self._stack if serial != token]

    def fingerprint(self) -> str:
        """A hash of every file's name and content."""
        digest = hashlib.blake2b(digest_size=8)
        for name, data in self._read().items():
            digest.update(name.encode() + b"\0" + data + b"\0")
        return digest.hexdigest()

    def observe(self) -> dict[str, Any]:
        """The file names."""
        return {"files": sorted(self._read())}

    def changed_records(self) -> list[RecordChange]:
        """Every file whose content differs from setup (optional ``SupportsRecords``)."""
        if self._setup is None:
            raise StoreError(f"{self.root} is not set up", store=self.name)
        now = self._read()
        changes = []
        for name in sorted(set(now) | set(self._setup)):
            before, after = self._setup.get(name), now.get(name)
            if before != after:
                changes.append(
                    RecordChange(
                        collection="files",
                        identity=(name,),
                        before=None if before is None else {"name": name, "content": before},
                        after=None if after is None else {"name": name, "content": after},
                        key_fields=("name",),
                    )
                )
        return changes

    # -- internals ----------------------------------------------------------------------------

    def _position(self, token: Any) -> int:
        for position, (serial, _) in enumerate(self._stack):
            if serial == token:
                return position
        raise StoreError(
            f"rollback to an unknown or invalidated checkpoint token {token!r}", store=self.name
        )

    def _read(self) -> Snapshot:
        return {p.name: p.read_bytes() for p in sorted(self.root.iterdir()) if p.is_file()}

    def _write(self, wanted: Snapshot) -> None:
        for path in self.root.iterdir():
            if path.is_file() and path.name not in wanted:
                path.unlink()
        for name, data in wanted.items():
            target = self.root / name
            if not target.is_file() or target.read_bytes() != data:
                target.write_bytes(data)
