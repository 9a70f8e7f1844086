"""The store contract test suite: prove that a store adapter honours the store contract
(``venomqa.ports.store``).

Any adapter, ours or a third party's, runs the same checks against its own store: rollback undoes
inserts, updates and deletes made by *another process*; checkpoints nest; a token stays valid after
being rolled back to; the fingerprint is equal for equal contents and restored by rollback;
``observe()`` returns a dict; teardown leaves the backing system as it was; and, for stores that
offer the optional ``changed_records()``, that it lists exactly what differs from setup.

You provide two pytest fixtures:

- ``store``: a fresh instance of your store, **not** set up (the checks call ``setup()`` and
  ``teardown()`` themselves);
- ``writer``: a :class:`ContractWriter` that reads and writes the same backing system from
  another process, modelling it as a string -> string map, plus ``snapshot()`` — an
  ``==``-comparable picture of *everything* in the backing system (including what your adapter
  installs), used to check that teardown leaves no trace. :class:`SubprocessWriter` runs each
  operation as a Python snippet in a fresh interpreter; subclass it.

Complete example for the ``FolderStore`` of docs/plugins.md (one file per key in a folder)::

    # tests/test_folder_contract.py
    import pytest
    from venomqa.testing import StoreContract, SubprocessWriter
    from venomqa_folder import FolderStore

    class FolderWriter(SubprocessWriter):
        prelude = "import os, pathlib; root = pathlib.Path(options['path'])"
        write_code = "(root / key).write_text(value)"
        delete_code = "(root / key).unlink()"
        read_all_code = "result = {p.name: p.read_text() for p in root.iterdir() if p.is_file()}"
        snapshot_code = (
            "result = sorted([str(p.relative_to(root)), p.read_bytes().hex()]"
            " for p in root.rglob('*') if p.is_file())"
        )

    class TestFolderStoreContract(StoreContract):
        @pytest.fixture
        def store(self, tmp_path):
            return FolderStore(path=str(tmp_path))

        @pytest.fixture
        def writer(self, tmp_path):
            return FolderWriter(path=str(tmp_path))

The function form runs every check in a loop, outside pytest if you like::

    from venomqa.testing import check_store_contract
    check_store_contract(lambda: FolderStore(path=folder), FolderWriter(path=folder))

The checks are also importable one by one (``check_rollback_undoes_insert`` ...; ``ALL_CHECKS``).
This module does not import pytest.

Beyond the contract, ``soak_rollbacks(world, actions, rollbacks=1000)`` (``venomqa.testing.soak``)
drives a real API at random through thousands of nested checkpoints and rollbacks, verifying each
rollback (``verify_rollback``): how an adapter shows its rollbacks are exact on real data.
"""

from typing import TYPE_CHECKING

from venomqa.lazy import lazy_getattr
from venomqa.testing._contract import (
    ALL_CHECKS,
    StoreContract,
    check_changed_records,
    check_fingerprint_restored_by_rollback,
    check_fingerprint_tracks_content,
    check_nested_checkpoints,
    check_observe_returns_dict,
    check_rollback_undoes_another_process_writes,
    check_rollback_undoes_delete,
    check_rollback_undoes_insert,
    check_rollback_undoes_update,
    check_store_contract,
    check_teardown_leaves_no_trace,
    check_token_reusable_after_rollback,
)
from venomqa.testing._writer import ContractWriter, SubprocessWriter

if TYPE_CHECKING:  # loaded on first use: API processes import venomqa.testing.server alone
    from venomqa.testing.soak import SoakResult, soak_rollbacks

__getattr__ = lazy_getattr(
    __name__, {"SoakResult": "venomqa.testing.soak", "soak_rollbacks": "venomqa.testing.soak"}
)

__all__ = [
    "ALL_CHECKS",
    "ContractWriter",
    "SoakResult",
    "StoreContract",
    "SubprocessWriter",
    "check_changed_records",
    "check_fingerprint_restored_by_rollback",
    "check_fingerprint_tracks_content",
    "check_nested_checkpoints",
    "check_observe_returns_dict",
    "check_rollback_undoes_another_process_writes",
    "check_rollback_undoes_delete",
    "check_rollback_undoes_insert",
    "check_rollback_undoes_update",
    "check_store_contract",
    "check_teardown_leaves_no_trace",
    "check_token_reusable_after_rollback",
    "soak_rollbacks",
]
