"""The cache a catalog carries (calculators.memo): one per catalog, never shared, never pickled, no module globals."""

from __future__ import annotations

import ast
import copy
import pickle
from pathlib import Path

import pytest

from calculators.catalog import default_catalog
from calculators.memo import Memo
from calculators.model.efficiency import chip_efficiency
from calculators.validation import class_uncertainties

ROOT = Path(__file__).resolve().parents[2]

# module-level caches that stay global, with why: none depends on a catalog
GLOBAL_CACHES_ALLOWED = {
    ("calculators/model/moe.py", "_expected_max_binomial"),  # pure maths of counts
    ("calculators/model/moe.py", "_MAX_CACHE"),
    ("calculators/model/moe.py", "_busiest_rank_load_factor"),
    ("calculators/model/moe.py", "_LOAD_CACHE"),
    ("calculators/crossval.py", "_code_digest"),  # the calculators' own source, once per process
    ("calculators/catalog.py", "default_catalog"),  # the shipped catalog itself (its memo rides on it)
    ("calculators/model/ops.py", "BLOCKS"),  # the registry of step builders, filled once at import: not a cache
}


def test_a_what_if_catalog_starts_with_an_empty_memo():
    """A catalog made from another by model_copy (how what-if catalogs are built), copy or deepcopy has its own, empty
    memo, and the original keeps its entries."""
    catalog = default_catalog().model_copy()
    chip = catalog.accelerators["h200-sxm"]
    built = chip_efficiency(catalog, chip)
    assert chip_efficiency(catalog, chip) is built and len(catalog.memo) == 1
    what_if = catalog.model_copy(update={"accelerators": {**catalog.accelerators}})
    for other in (what_if, copy.copy(catalog), copy.deepcopy(catalog)):
        assert len(other.memo) == 0 and other.memo is not catalog.memo
    assert chip_efficiency(what_if, chip) is not built and len(catalog.memo) == 1


def test_two_catalogs_do_not_share_entries():
    """Two equal catalogs keep separate memos: what one computes is not found through the other."""
    a, b = default_catalog().model_copy(), default_catalog().model_copy()
    assert a == b  # the memo never makes two catalogs differ
    bands = class_uncertainties(a)
    assert len(b.memo) == 0 and class_uncertainties(b) is not bands and class_uncertainties(b) == bands
    assert a.memo.peek("class-uncertainties", None) is bands and b.memo.peek("class-uncertainties", None) is not bands


def test_a_catalog_pickles_and_unpickles_without_its_memo():
    """A catalog with a filled memo pickles (Streamlit's data cache pickles results), unpickles equal, with an empty
    memo that fills again."""
    catalog = default_catalog().model_copy()
    class_uncertainties(catalog)
    assert len(catalog.memo) > 0
    back = pickle.loads(pickle.dumps(catalog))
    assert back == catalog and isinstance(back.memo, Memo) and len(back.memo) == 0
    assert class_uncertainties(back) == class_uncertainties(catalog)


def test_a_memo_keeps_at_most_its_size_per_namespace_dropping_the_least_recently_used():
    """Each namespace is an LRU of its size; namespaces do not evict each other."""
    memo = Memo()
    for k in range(3):
        memo.get("a", k, lambda k=k: k * 10, size=2)
    memo.get("b", 0, lambda: "b", size=2)
    assert memo.peek("a", 0) is None and memo.peek("a", 2) == 20 and memo.peek("b", 0) == "b"
    memo.get("a", 1, lambda: pytest.fail("rebuilt a kept entry"), size=2)  # 1 is now the most recently used
    memo.get("a", 3, lambda: 30, size=2)
    assert memo.peek("a", 1) == 10 and memo.peek("a", 2) is None
    with pytest.raises(ValueError, match="'size' must be >= 1"):
        memo.put("a", 4, 40, size=0)


def _empty_container(value: ast.expr | None) -> bool:
    if isinstance(value, ast.Dict):
        return not value.keys
    if isinstance(value, ast.List):
        return not value.elts
    if isinstance(value, ast.Call):
        return not value.args and ast.unparse(value.func) in {"dict", "list", "set", "OrderedDict", "defaultdict",
                                                                 "collections.OrderedDict"}
    return False


def _module_level_caches(path: Path) -> list[str]:
    """Names of a module's top-level empty mutable containers (filled at run time: a cache) and cached functions."""
    found = []
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and _empty_container(node.value):
            found += [ast.unparse(t) for t in (node.targets if isinstance(node, ast.Assign) else [node.target])]
        elif isinstance(node, ast.FunctionDef):
            decorators = {ast.unparse(d.func if isinstance(d, ast.Call) else d) for d in node.decorator_list}
            if decorators & {"functools.cache", "functools.lru_cache", "cache", "lru_cache"}:
                found.append(node.name)
    return found


def test_no_module_keeps_a_cache_or_forks():
    """No module of calculators/ or ui/ keeps a module-level cache (an empty dict/list/set filled at run time, or an
    lru_cache) other than the catalog-independent ones listed here, and none calls os.fork."""
    found, forks = set(), []
    for path in sorted([*(ROOT / "calculators").rglob("*.py"), *(ROOT / "ui").rglob("*.py")]):
        name = path.relative_to(ROOT).as_posix()
        found |= {(name, cache) for cache in _module_level_caches(path)}
        if "os.fork" in path.read_text() or "fork()" in path.read_text():
            forks.append(name)
    assert found - GLOBAL_CACHES_ALLOWED == set()
    assert forks == []
