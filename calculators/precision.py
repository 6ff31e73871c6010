"""Which precisions a chip can serve a model in, and how ``best`` picks one (the order used to break ties).

``best`` (the app's default precision) means: for each chip, the precision that meets the targets with the fewest
racks, then the lowest cost, among those the chip has math for and the model is published or served in
(``Model.serving_precisions``; absent = any). :func:`calculators.fleet.size` makes the choice; the sweep uses
:func:`candidate_precisions` to draw each chip over all of its candidates.
"""

from __future__ import annotations

from calculators.errors import ScenarioError
from calculators.records import Accelerator, Catalog, Model

BEST = "best"


def is_best(precision: str | None) -> bool:
    """True when ``precision`` asks for the per-chip best choice."""
    return precision == BEST


def model_precisions(catalog: Catalog, model: Model) -> tuple[str, ...] | None:
    """The precisions ``model`` is published or served in, or None when the catalog does not restrict them."""
    if model.serving_precisions is None:
        return None
    return tuple(c.value for c in model.serving_precisions if c.value in catalog.precisions)


def candidate_precisions(catalog: Catalog, model: Model, chip: Accelerator) -> list[str]:
    """The precisions ``best`` chooses among for ``chip``: its own math formats that the model is served in, in a
    tie-breaking order (the model's native format first, then wider formats: fewer quantisation losses)."""
    allowed = model_precisions(catalog, model)
    found = [p for p in chip.precisions if p in catalog.precisions and (allowed is None or p in allowed)]
    width = {p: catalog.precisions[p].bytes_per_element.value for p in found}
    return sorted(found, key=lambda p: (p != model.native_precision, -width[p]))


def no_candidate_reason(catalog: Catalog, model: Model, chip: Accelerator) -> str:
    """Why a chip has no precision to serve ``model`` in (a reason about the chip, never about a sidebar choice)."""
    allowed = model_precisions(catalog, model)
    served = ", ".join(allowed) if allowed else "none in this catalog"
    return (f"{chip.id} has no number format {model.id} is served in: the chip computes in "
            f"{', '.join(chip.precisions)}; {model.id} is published in {served}")


def check_requested_precision(catalog: Catalog, precision: str) -> str:
    """``precision`` if it is ``best`` or a catalog precision id, else a ScenarioError naming the valid ones."""
    if is_best(precision) or precision in catalog.precisions:
        return precision
    raise ScenarioError(
        f"unknown precision {precision!r}; known: {BEST}, {', '.join(sorted(catalog.precisions))}"
    )
