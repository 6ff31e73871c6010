"""The cache a catalog carries: values derived from that catalog alone, computed once and kept with it.

A :class:`~calculators.records.Catalog` is immutable, so anything computed from it (chip efficiency curves, the
validation, the uncertainty bands, sizing grids) can be kept for as long as the catalog lives. Keeping it *on* the
catalog (``catalog.memo``) instead of in module globals keyed by ``id(catalog)`` means no entry can outlive its
catalog or be found by a new catalog that reused a freed id, two catalogs never share entries, and a what-if catalog
(``catalog.model_copy(update=...)``) starts empty. A memo is never pickled (it pickles as an empty memo) and never
makes two catalogs compare unequal.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

DEFAULT_SIZE = 64
"""Entries kept per namespace when the first ``get`` names no size."""


class Memo:
    """Values derived from one catalog, by namespace and key, each namespace a small LRU of bounded size.

    Thread-safe for the bookkeeping (Streamlit shares one catalog between sessions' threads); a value is built
    outside the lock, so a build may call ``get`` for another namespace, and two threads missing the same key at
    once both build it (the values are pure, so either is kept)."""

    def __init__(self) -> None:
        self._spaces: dict[str, OrderedDict[Hashable, Any]] = {}
        self._sizes: dict[str, int] = {}
        self._lock = threading.Lock()

    def get(self, namespace: str, key: Hashable, build: Callable[[], T], size: int = DEFAULT_SIZE) -> T:
        """The value kept under ``(namespace, key)``, else ``build()`` kept there (the least recently used entry of
        the namespace dropped once it holds ``size``)."""
        with self._lock:
            space = self._spaces.get(namespace)
            if space is not None and key in space:
                space.move_to_end(key)
                return space[key]
        value = build()
        self.put(namespace, key, value, size)
        return value

    def put(self, namespace: str, key: Hashable, value: T, size: int = DEFAULT_SIZE) -> T:
        """Keep ``value`` under ``(namespace, key)`` (for a value computed elsewhere, e.g. read from disk)."""
        if size < 1:
            raise ValueError(f"'size' must be >= 1 (got {size})")
        with self._lock:
            space = self._spaces.setdefault(namespace, OrderedDict())
            self._sizes[namespace] = size
            space[key] = value
            space.move_to_end(key)
            while len(space) > size:
                space.popitem(last=False)
        return value

    def peek(self, namespace: str, key: Hashable, default: Any = None) -> Any:
        """The value kept under ``(namespace, key)``, or ``default``; never builds."""
        with self._lock:
            return self._spaces.get(namespace, {}).get(key, default)

    def __len__(self) -> int:
        with self._lock:
            return sum(len(s) for s in self._spaces.values())

    def __eq__(self, other: object) -> bool:
        # derived values only: a memo never makes two catalogs differ (pydantic compares private attributes)
        return isinstance(other, Memo)

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self):
        # pickles (and deep-copies) as an empty memo: its values are rebuilt from the catalog, and its lock cannot
        # be pickled
        return (Memo, ())

    def __copy__(self) -> Memo:
        return Memo()

    def __repr__(self) -> str:
        return f"Memo({len(self)} entries)"
