"""The store contract suite on FolderStore, with a writer in another process."""

from __future__ import annotations

from pathlib import Path

import pytest
from venomqa.testing import StoreContract, SubprocessWriter
from venomqa_folder import FolderStore


class FolderWriter(SubprocessWriter):
    prelude = "import pathlib; root = pathlib.Path(options['path'])"
    write_code = "(root / key).write_text(value)"
    delete_code = "(root / key).unlink()"
    read_all_code = "result = {p.name: p.read_text() for p in root.iterdir() if p.is_file()}"
    snapshot_code = (
        "result = sorted([str(p.relative_to(root)), p.read_bytes().hex()]"
        " for p in root.rglob('*') if p.is_file())"
    )


class TestFolderStoreContract(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> FolderStore:
        return FolderStore(path=str(tmp_path))

    @pytest.fixture
    def writer(self, tmp_path: Path) -> FolderWriter:
        return FolderWriter(path=str(tmp_path))
