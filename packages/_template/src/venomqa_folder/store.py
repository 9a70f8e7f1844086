"""FolderStore: checkpoint and roll back a folder of files that the API under test writes.

Options (the ``venomqa.yaml`` keys): ``path``, the folder. Each regular file is one record
(collection ``files``, field ``content``). Checkpoints are whole-folder snapshots on a stack
(``venomqa.stores.kit.TokenStack``):
O(folder size) each, which a real adapter replaces by recording only what changed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from venomqa.ports import RecordChange
from venomqa.stores.kit import TokenStack, already_set_up, new_serial, not_set_up

Snapshot = dict[str, bytes]


@dataclass(frozen=True, eq=False)
class FolderToken:
    """A checkpoint: a serial number (``venomqa.stores.kit``) and the files then."""

    serial: int
    files: Snapshot


class FolderStore:
    """Checkpoint/rollback of one folder's files (the store contract, ``venomqa.ports.store``)."""

    name = "folder"

    def __init__(self, path: str) -> None:
        self.root = Path(path)
        self._tokens = TokenStack(self.name, FolderToken)
        self._setup: Snapshot | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def setup(self) -> None:
        """Remember the folder as it is (creating it if needed)."""
        if self._setup is not None:
            raise already_set_up(str(self.root), self.name)
        self.root.mkdir(parents=True, exist_ok=True)
        self._setup = self._read()

    def teardown(self) -> None:
        """Put the folder back as it was at setup. Idempotent."""
        original, self._setup = self._setup, None
        self._tokens.reset()
        if original is not None:
            self._write(original)

    # -- contract -----------------------------------------------------------------------------

    def checkpoint(self) -> FolderToken:
        """Snapshot the folder."""
        return self._tokens.push(FolderToken(new_serial(), self._read()))

    def rollback(self, token: Any) -> None:
        """Put the folder back as it was at ``token``; later tokens become invalid."""
        token = self._tokens.require(token)
        self._write(token.files)
        self._tokens.rolled_back_to(token)

    def release(self, token: Any) -> None:
        """Forget ``token`` (and the snapshot it holds)."""
        self._tokens.release(token)

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
            raise not_set_up(str(self.root), self.name)
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
