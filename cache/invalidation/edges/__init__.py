"""One module per kind of edge, each registered by its `kind` in `base.KINDS`; importing the package loads them."""

import importlib
import pkgutil

from cache.invalidation.edges.base import KINDS, EdgeAdapter, EdgeError, EdgeKind

# Adding a kind is adding a module here: nothing else lists them.
for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["KINDS", "EdgeAdapter", "EdgeError", "EdgeKind"]
