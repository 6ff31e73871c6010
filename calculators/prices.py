"""Public API list prices from the catalog (``api_prices``): what the market charges per million tokens to serve a
model, to show beside the modelled hardware cost. Rows are the CLI's JSON: ``provider``,
``usd_per_million_input_tokens``, ``usd_per_million_output_tokens``, ``source`` (the source's title), ``date``
(the day the price was read), with the offering, the kind of number, the source URL and any advertised speed."""

from __future__ import annotations

from calculators.deployment import check_model
from calculators.records import Catalog


def price_rows(catalog: Catalog, model: str) -> list[dict]:
    """The catalog's API prices for ``model``, cheapest output first (a ScenarioError names an unknown model)."""
    check_model(catalog, model)
    rows = []
    for p in catalog.api_prices.values():
        if p.model != model:
            continue
        source = catalog.sources.get(p.usd_per_million_output_tokens.source or "")
        speed = p.output_tokens_per_s
        rows.append({
            "provider": p.provider,
            "offering": p.offering,
            "usd_per_million_input_tokens": p.usd_per_million_input_tokens.value,
            "usd_per_million_output_tokens": p.usd_per_million_output_tokens.value,
            "output_tokens_per_s": speed.value if speed is not None else None,
            "kind": p.usd_per_million_output_tokens.kind,
            "source": source.title if source is not None else p.usd_per_million_output_tokens.source,
            "source_url": source.url if source is not None else None,
            "date": p.date.isoformat(),
            "note": p.note,
        })
    return sorted(rows, key=lambda r: (r["usd_per_million_output_tokens"], r["provider"]))


def format_prices(rows: list[dict], model: str) -> str:
    """The rows as a plain-text table for the terminal."""
    if not rows:
        return f"no API prices for {model} in the catalog"
    head = f"{'provider':<18} {'offering':<44} {'$/M in':>7} {'$/M out':>8} {'tok/s':>6}  {'kind':<11} date"
    lines = [head]
    for r in rows:
        speed = f"{r['output_tokens_per_s']:.0f}" if r["output_tokens_per_s"] else "—"
        lines.append(f"{r['provider']:<18} {(r['offering'] or '')[:44]:<44} {r['usd_per_million_input_tokens']:>7.2f} "
                     f"{r['usd_per_million_output_tokens']:>8.2f} {speed:>6}  {r['kind']:<11} {r['date']}")
    providers = len({r["provider"] for r in rows})
    lines.append(f"{len(rows)} price(s) from {providers} provider(s) for {model}; sources: see --json")
    return "\n".join(lines)
