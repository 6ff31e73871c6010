"""The model's CLI subcommands (``predict``, ``size``, ``sweep``, ``prices``, ``validate``, ``claims``, ``report``),
added to the parser of :mod:`calculators.cli`. Each parses flags, calls the same library function as the app and
prints text or JSON."""

from __future__ import annotations

import argparse
import json
import sys


def _json(value) -> str:
    return json.dumps(value, indent=2, sort_keys=False, allow_nan=False)


def _print_fields(d: dict) -> None:
    width = max(len(k) for k in d)
    for key, value in d.items():
        if isinstance(value, float):
            value = f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
        elif isinstance(value, dict):
            value = ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in value.items())
        print(f"{key:<{width}}  {value}")


def catalog_for(args: argparse.Namespace):
    """The shipped catalog with any ``--catalog`` files layered over it."""
    from calculators.catalog import load_catalog

    return load_catalog(extra=getattr(args, "catalog", []) or [])


def _record(cls, args: argparse.Namespace):
    """The record ``cls`` (a Deployment or a Demand) from the flags of the same names: the CLI's flags are the
    record's fields, and the record's one checker reports a bad value."""
    import dataclasses

    return cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)})


def _cmd_predict(args: argparse.Namespace) -> int:
    from calculators.decode import predict
    from calculators.deployment import Deployment

    p = predict(catalog_for(args), _record(Deployment, args))
    print(_json(p.to_dict())) if args.json else _print_fields(p.to_dict())
    return 0


def _cmd_size(args: argparse.Namespace) -> int:
    from calculators.deployment import Demand
    from calculators.fleet import size

    s = size(catalog_for(args), _record(Demand, args))
    print(_json(s.to_dict())) if args.json else _print_fields(s.to_dict())
    return 0


def _cmd_prices(args: argparse.Namespace) -> int:
    from calculators.prices import format_prices, price_rows

    rows = price_rows(catalog_for(args), args.model)
    print(_json(rows)) if args.json else print(format_prices(rows, args.model))
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    import threading

    from calculators.sweep import SweepSpec, iter_sweep_blocks, write_csv

    # pyarrow (the CSV writer) loads beside the sweep; the uncertainty band (the whole validation and its
    # leave-one-source-out rows, a disk-cache hit once computed for this catalog) is computed by the first block
    # and kept in catalog.memo. Validating in another process saved ~0.1 s of a warm ~1.3 s run (the sweep itself is
    # ~0.15 s): not worth a fork.
    catalog = catalog_for(args)
    threading.Thread(target=__import__, args=("pyarrow.csv",), daemon=True).start()

    # columns straight to pyarrow's CSV writer: no pandas import, no per-row Python (the whole process costs little
    # more than one predict; see benchmarks/bench_sweep.py)
    blocks = list(iter_sweep_blocks(catalog, SweepSpec(model=args.model, accelerators=args.accelerator or None,
                                                       precisions=args.precision or None)))
    if args.csv:
        rows = write_csv(blocks, args.csv)
        print(f"wrote {rows:,} rows to {args.csv}")
    else:
        sys.stdout.flush()
        try:
            write_csv(blocks, sys.stdout.buffer)
        except BrokenPipeError:  # `sweep ... | head`: the reader left; not an error
            sys.stdout = None
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from calculators.validation import format_bands, format_table, uncertainty_from_results, validate

    catalog = catalog_for(args)
    if args.cross_validate:
        from calculators.crossval import (
            format_regime_bands,
            format_rows,
            format_summary,
            remember,
            timed_cross_validate,
        )

        timed = timed_cross_validate(catalog)
        remember(catalog, timed.rows)  # the bands of predict / size / claims come from these rows
        if args.json:
            print(_json([r.to_dict() for r in timed.rows]))
        else:
            print(format_rows(timed.rows))
            print(format_summary(timed.rows, timed.seconds))
            print(format_regime_bands(catalog))
        return 0
    results = validate(catalog)
    if args.json:
        print(_json([r.to_dict() for r in results]))
    else:
        print(format_table(results))
        print(format_bands(uncertainty_from_results(catalog, results)))
    return 0


def _cmd_claims(args: argparse.Namespace) -> int:
    from calculators.claims import check_claims

    checks = check_claims(catalog_for(args), args.id or None)
    if args.json:
        print(_json([c.to_dict() for c in checks]))
        return 0
    for c in checks:
        def num(x: float | None) -> str:
            return "—" if x is None else f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"

        predicted = num(c.predicted)
        print(f"{c.id}  [{c.status_label}]  {c.vendor}, {c.date}")
        print(f"  claim:     \"{c.claim}\"")
        print(f"  claimed:   {num(c.claimed)} {c.unit}   predicted: {predicted} {c.unit}")
        print(f"  verdict:   {c.verdict}")
        if c.engine is not None:
            mtp = f"MTP {c.mtp_layers}" if c.mtp_layers else "no MTP"
            print(f"  evaluated: {c.chips} {c.scenario['accelerator']}, {c.layout}, batch {c.concurrency}, {mtp}, "
                  f"engine {c.engine}")
        print(f"  finding:   {c.finding}")
        for h in c.hinges:
            print(f"  hinges on: {h}")
        print(f"  source:    {c.source_title}" + (f" <{c.source_url}>" if c.source_url else ""))
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    # The report is a view of the app's scenario (link parsing, formatting, charts live in the pure ``ui`` modules),
    # so this one command reaches up into ``ui``, lazily, at run time: ``calculators`` itself never imports it.
    from ui.report import write_report

    path = write_report(args.query, args.out, extra_catalogs=args.catalog, base_url=args.base_url)
    print(f"wrote {path}")
    return 0


def add_model_commands(commands, add_catalog_option) -> None:
    """Add predict / size / sweep / validate to the CLI's subcommand set (flag names are URL and CSV names)."""
    p = commands.add_parser(
        "predict", help="what one replica serves: a decode step (--context-tokens) or a workload (--input-tokens ...)"
    )
    p.add_argument("--model", required=True)
    p.add_argument("--accelerator", required=True)
    p.add_argument("--chips", type=int, required=True)
    p.add_argument("--precision", required=True)
    p.add_argument("--concurrency", type=int, required=True)
    p.add_argument("--context-tokens", type=int, default=None, help="mean context of a pure decode step")
    p.add_argument("--input-tokens", type=int, default=None, help="the workload's prompt length")
    p.add_argument("--output-tokens", type=int, default=None, help="the workload's output length")
    p.add_argument("--serving", choices=("decode", "aggregated", "disaggregated"), default=None,
                   help="decode (with --context-tokens), aggregated (default with a workload: chunked prefill on "
                        "the same chips) or disaggregated (a separate prefill pool)")
    p.add_argument("--prefill-chips", type=int, default=None, help="disaggregated: chips of the prefill pool "
                   "(default: as many as keep up)")
    p.add_argument("--mtp-layers", type=int, default=None, choices=range(0, 4), metavar="{0..3}",
                   help="MTP draft tokens (default: what the engine's published recipe runs)")
    p.add_argument("--layout", default="auto")
    p.add_argument("--engine", default=None, help="serving software (an engine id of the catalog; default: the chip's)")
    p.add_argument("--kv-cache-precision", default=None,
                   help="KV cache format (a precision id, e.g. fp8; default: the engine's, else the catalog's)")
    p.add_argument("--json", action="store_true")
    add_catalog_option(p)
    p.set_defaults(run=_cmd_predict)

    s = commands.add_parser("size", help="chips, racks, power and cost for a target")
    s.add_argument("--model", required=True)
    s.add_argument("--accelerator", required=True)
    s.add_argument("--precision", required=True,
                   help="a precision id, or 'best': the one the chip computes in and the model is served in that "
                        "needs the fewest racks, then the lowest cost")
    s.add_argument("--per-user-tokens-per-s", type=float, required=True)
    s.add_argument("--total-output-tokens-per-s", type=float, required=True)
    s.add_argument("--input-tokens", type=int, required=True)
    s.add_argument("--output-tokens", type=int, required=True)
    s.add_argument("--context-tokens", type=int, default=None)
    s.add_argument("--mtp-layers", type=int, default=None, choices=range(0, 4), metavar="{0..3}")
    s.add_argument("--topology", choices=("shipped", "assumed"), default="shipped",
                   help="replica shapes: 'shipped' (default) keeps each replica within what the vendor ships or has "
                        "shown publicly; 'assumed' allows any replica size (labelled assumed in the output)")
    s.add_argument("--engine", default=None, help="serving software (an engine id of the catalog; default: the chip's)")
    s.add_argument("--kv-cache-precision", default=None,
                   help="KV cache format (a precision id, e.g. fp8; default: the engine's, else the catalog's)")
    s.add_argument("--max-time-to-first-token-s", type=float, default=None, metavar="S",
                   help="time-to-first-token target in seconds: prefill instances grow until one prompt is "
                        "prefilled within it; a chip that cannot is infeasible (default: no target)")
    s.add_argument("--json", action="store_true")
    add_catalog_option(s)
    s.set_defaults(run=_cmd_size)

    w = commands.add_parser("sweep", help="every chip x precision x layout x concurrency x MTP, as CSV")
    w.add_argument("--model", required=True)
    w.add_argument("--accelerator", action="append", help="restrict to this chip (repeatable)")
    w.add_argument("--precision", action="append",
                   help="restrict to this precision (repeatable); 'best': every precision each chip computes in "
                        "and the model is served in")
    w.add_argument("--csv", metavar="PATH", help="write the CSV here instead of stdout")
    add_catalog_option(w)
    w.set_defaults(run=_cmd_sweep)

    pr = commands.add_parser("prices", help="public API list prices for a model (what the market charges)")
    pr.add_argument("--model", required=True)
    pr.add_argument("--json", action="store_true")
    add_catalog_option(pr)
    pr.set_defaults(run=_cmd_prices)

    v = commands.add_parser("validate", help="predicted vs published measurements")
    v.add_argument("--json", action="store_true")
    v.add_argument("--cross-validate", action="store_true",
                   help="leave one source out: re-solve every calibrated number without each source's points and "
                        "predict them; per regime and chip class, the median and p90 |error|")
    add_catalog_option(v)
    v.set_defaults(run=_cmd_validate)

    c = commands.add_parser("claims", help="every vendor claim in the catalog with the model's verdict")
    c.add_argument("--id", action="append", help="only this claim (repeatable)")
    c.add_argument("--json", action="store_true")
    add_catalog_option(c)
    c.set_defaults(run=_cmd_claims)

    r = commands.add_parser("report", help="a self-contained HTML report of one scenario (an app link's query)")
    r.add_argument("--query", required=True, help="the share link's query string (or the whole link)")
    r.add_argument("--out", required=True, metavar="PATH", help="the HTML file to write")
    r.add_argument("--base-url", default="http://localhost:8501/",
                   help="the app address the report's share link points to")
    add_catalog_option(r)
    r.set_defaults(run=_cmd_report)
