"""The venomqa-folder plugin: registers the ``folder`` store adapter."""

from __future__ import annotations

from venomqa import hookimpl


@hookimpl
def venomqa_register_adapters() -> list[type]:
    from venomqa_folder.store import FolderStore

    return [FolderStore]
