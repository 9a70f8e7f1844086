"""The optional dependencies of venomqa-celery: a missing one is a clear store error."""

from __future__ import annotations

import importlib.util

from venomqa.errors import StoreError


def require(module: str) -> None:
    """Raise a StoreError saying which extra to install when ``module`` is not importable."""
    if importlib.util.find_spec(module) is None:
        raise StoreError(
            f"the {module} store needs the {module} package: "
            f"pip install 'venomqa-celery[{module}]'",
            store=module,
        )
