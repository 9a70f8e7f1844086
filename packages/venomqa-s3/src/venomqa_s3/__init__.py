"""VenomQA's S3 store: checkpoint and roll back a bucket (or a prefix) another process writes.

Names load on first use, so that loading the plugin (and starting the CLI) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from venomqa.lazy import lazy_getattr

if TYPE_CHECKING:
    from venomqa_s3.store import S3Store

__getattr__ = lazy_getattr(__name__, {"S3Store": "venomqa_s3.store"})

__all__ = ["S3Store"]
