"""venomqa-folder: a VenomQA store for an API that keeps its state as files in one folder."""

from venomqa_folder.store import FolderStore

__all__ = ["FolderStore"]
