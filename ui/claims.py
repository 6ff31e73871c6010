"""Claims on screen: the landing page's story and the user's own claims, as registry entries (no Streamlit).

The story the landing page tells is the catalog's claims with ``story: sambanova-2025-02``; each is checked by
:func:`calculators.claims.check_claim` with the sidebar's scenario applied (:func:`story_changes`): the targets, the
mean context, the engine and the GPU side replace the registry's defaults, so the page, the report and the CLI
(the registry as written) use one checker and one vocabulary. A user's claim is a catalog ``claims`` entry in the
link's ``custom`` layer (:func:`user_claim_layer`), validated by the same strict loader as every catalog file.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from calculators.claims import ClaimCheck, check_claim, story
from calculators.fleet import Sizing
from calculators.records import Catalog, Claim
from ui import compute
from ui.params import FIELDS_BY_KEY, Scenario, default_scenario

STORY_ID = "sambanova-2025-02"
CLAIM_CHIP = "sn40l"
CLAIM_CHIPS = 16  # one SambaRack
CLAIM_PRECISION = "bf16"  # the SN40L has no FP8; SambaNova served R1 in 16-bit math
USER_PREFIX = "user-"
MAX_USER_CLAIMS = 20


def letter(i: int) -> str:
    """(a), (b), ... for the i-th claim of a story."""
    return "abcdefghijklmnopqrstuvwxyz"[i] if i < 26 else str(i + 1)


def gpu_precision(catalog: Catalog, scenario: Scenario, model: str) -> str | None:
    """The GPU side's precision: the sidebar's when it names a catalog precision; for a keyword such as ``best``,
    the one the GPU side's sizing chose (as the side-by-side table shows it), else the model's native precision or
    the chip's first one."""
    if scenario.precision in catalog.precisions:
        return scenario.precision
    chip = catalog.accelerators.get(scenario.gpu or "")
    if chip is None or not scenario.precision:
        return None
    sized = compute.size_chip(catalog, compute.targets(scenario, model=model), chip.id, scenario.precision)
    chosen = getattr(sized, "precision", None)
    if isinstance(sized, Sizing) and chosen in chip.peak_tflops:
        return chosen
    native = catalog.models[model].native_precision if model in catalog.models else None
    return native if native in chip.peak_tflops else next(iter(chip.peak_tflops), None)


def story_changes(catalog: Catalog, claim: Claim, scenario: Scenario) -> dict[str, Any]:
    """The sidebar's scenario as changes to one story claim: targets where the claim has targets, the mean context,
    the engine (when chosen) and the GPU side for whichever side of the claim is a GPU."""
    s = claim.scenario
    changes: dict[str, Any] = {"context_tokens": scenario.context_tokens}
    if scenario.engine is not None:
        changes["engine"] = scenario.engine
    if s.per_user_tokens_per_s is not None:
        changes["per_user_tokens_per_s"] = scenario.per_user_tokens_per_s
    if s.total_output_tokens_per_s is not None:
        changes.update(total_output_tokens_per_s=scenario.total_output_tokens_per_s,
                       input_tokens=scenario.input_tokens, output_tokens=scenario.output_tokens)
    gpu_sides = [(c, p) for c, p in (("accelerator", "precision"), ("baseline_accelerator", "baseline_precision"))
                 if getattr(catalog.accelerators.get(getattr(s, c) or ""), "chip_class", None) == "gpu"]
    precision = gpu_precision(catalog, scenario, s.model) if scenario.gpu and gpu_sides else None
    if precision is not None:
        for chip_field, precision_field in gpu_sides:
            changes[chip_field] = scenario.gpu
            changes[precision_field] = precision
    return changes


_DIFFERENCE_WORDS = (
    ("accelerator", "precision", "chip"), ("baseline_accelerator", "baseline_precision", "baseline"),
)
_TARGET_WORDS = (("per_user_tokens_per_s", "per-user target", " tok/s"),
                 ("total_output_tokens_per_s", "total target", " tok/s"),
                 ("context_tokens", "mean context", " tokens"), ("input_tokens", "prompt", " tokens"),
                 ("output_tokens", "output", " tokens"), ("engine", "engine", ""))


def story_differences(catalog: Catalog, claim: Claim, check: ClaimCheck) -> str | None:
    """Where the landing page's check of a story claim (the sidebar applied, :func:`story_changes`) differs from the
    Claims page's (the registry as written), in words: "baseline NVIDIA H200 (INT8) here, NVIDIA H800 (FP8) on the
    Claims page; ...". None when they evaluate the same scenario, so the two pages show the same numbers."""
    stated = claim.scenario.model_dump()
    used = check.scenario

    def chip(chip_id, precision) -> str:
        acc = catalog.accelerators.get(chip_id or "")
        return f"{acc.name if acc else chip_id} ({str(precision or '').upper()})"

    parts = []
    for chip_field, precision_field, words in _DIFFERENCE_WORDS:
        before = (stated.get(chip_field), stated.get(precision_field) or stated.get("precision"))
        after = (used.get(chip_field), used.get(precision_field) or used.get("precision"))
        if stated.get(chip_field) and before != after:
            parts.append(f"{words} {chip(*after)} here, {chip(*before)} on the Claims page")
    for field, words, unit in _TARGET_WORDS:
        before, after = stated.get(field), used.get(field)
        if before is not None and after is not None and before != after:
            shown = [f"{v:,.0f}{unit}" if unit else str(v) for v in (after, before)]
            parts.append(f"{words} {shown[0]} here, {shown[1]} on the Claims page")
    return "; ".join(parts) or None


def story_checks(catalog: Catalog, scenario: Scenario, story_id: str = STORY_ID) -> list[tuple[str, ClaimCheck]]:
    """Each claim of the story with its letter, checked for the sidebar's scenario."""
    return [(letter(i), check_claim(catalog, c, changes=story_changes(catalog, c, scenario),
                                    overrides=scenario.overrides()))
            for i, c in enumerate(story(catalog, story_id))]


def user_claim_ids(layer: Mapping[str, Any] | None) -> list[str]:
    """Ids of the claims the user added (the link's custom layer)."""
    if not layer:
        return []
    return [e["id"] for e in layer.get("claims", []) if isinstance(e, dict) and isinstance(e.get("id"), str)]


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:40] or "claim"


def user_claim_layer(form: Mapping[str, Any], existing: Mapping[str, Any] | None = None,
                     today: dt.date | None = None) -> dict[str, Any]:
    """A catalog layer holding the user's claim (and its source), merged over ``existing``.

    ``form`` has the claim's fields (vendor, claim, url, date, kind, claimed, bound) and its scenario's
    (model, accelerator, chips, precision, ...); empty values are left out so the loader applies its defaults.
    The loader validates the result; nothing here trusts the input beyond building the mapping.
    """
    layer = {k: (list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v)
             for k, v in (existing or {}).items()}
    claims = [dict(e) for e in layer.get("claims", []) if isinstance(e, dict)]
    taken = {e.get("id") for e in claims}
    base = f"{USER_PREFIX}{_slug(str(form.get('vendor', '')))[:24].strip('-')}-{_slug(str(form.get('kind', '')))}"
    cid, i = base, 2
    while cid in taken:
        cid, i = f"{base}-{i}", i + 1
    scenario_keys = ("model", "accelerator", "chips", "precision", "concurrency", "per_user_tokens_per_s",
                     "total_output_tokens_per_s", "ratio_of", "baseline_accelerator", "baseline_chips",
                     "baseline_precision")
    scenario = {k: form[k] for k in scenario_keys if form.get(k) not in (None, "", 0)}
    source_id = cid + "-source"
    when = form.get("date") or today or dt.date.today()
    entry = {"id": cid, "vendor": form.get("vendor", ""), "claim": form.get("claim", ""), "source": source_id,
             "date": when.isoformat() if isinstance(when, dt.date) else str(when),
             "kind": form.get("kind", ""), "claimed": form.get("claimed"), "scenario": scenario}
    if form.get("bound") == "at-most":
        entry["bound"] = "at-most"
    sources = dict(layer.get("sources", {}))
    source: dict[str, Any] = {"title": f"Entered in the app: {form.get('vendor', '')} claim",
                              "accessed": (today or dt.date.today()).isoformat()}
    if form.get("url"):
        source["url"] = form["url"]
    sources[source_id] = source
    layer["claims"] = [*claims, entry]
    layer["sources"] = sources
    return layer


def scenario_for_claim(catalog: Catalog, check: ClaimCheck, custom: str | None = None) -> Scenario:
    """The app scenario that opens a claim's setting on the sizing page: its model, precision and chips (the
    baseline too), its targets where it has them, and the link's custom layer. Values outside what the sidebar
    accepts keep the default (the link must stay valid)."""
    s = check.scenario
    values: dict[str, Any] = {"model": s["model"], "precision": s["precision"], "accelerator": s["accelerator"],
                              "custom": custom}
    chips = [s["accelerator"], *([s["baseline_accelerator"]] if s.get("baseline_accelerator") else [])]
    values["accelerators"] = tuple(dict.fromkeys(c for c in chips if c in catalog.accelerators))
    gpu = next((c for c in chips if c in catalog.accelerators and catalog.accelerators[c].chip_class == "gpu"), None)
    if gpu:
        values["gpu"] = gpu
    for key in ("per_user_tokens_per_s", "total_output_tokens_per_s", "input_tokens", "output_tokens",
                "context_tokens", "engine"):
        value = s.get(key)
        field = FIELDS_BY_KEY[key]
        if value is None or (field.low is not None and value < field.low) or (field.high is not None
                                                                             and value > field.high):
            continue
        values[key] = float(value) if field.kind == "float" else value
    if check.kind == "per-user-speed" and "per_user_tokens_per_s" not in values:
        field = FIELDS_BY_KEY["per_user_tokens_per_s"]
        if field.low <= check.claimed <= field.high:
            values["per_user_tokens_per_s"] = float(check.claimed)
    return dataclasses.replace(default_scenario(catalog), **values)
