"""Op by op at small batch (printed, not a test, not part of CI): Rackscale's decode step next to NVIDIA
AIConfigurator's measured ops for the same deployment, and the fixed cost per layer each leaves for the engine.

Why: an engine's fixed cost per layer (tau, ``fixed_latency_us_per_layer``) is what a batch-1 measurement leaves after
the modelled kernels and collectives. If two points of one engine solve to different taus, either the kernels are
priced wrong on one of them (then AIConfigurator's measured ops show where) or the measurements themselves leave
different room (then no kernel floor reconciles them).

What it does, per validation point (pure decode, no MTP, a stated context): Rackscale's in-sample prediction at the
layout it picks (``step_breakdown_ms``), then ``aiconfigurator cli estimate --estimate-mode static_gen --detail time``
at the same chips, layout (attention TP, MoE TP x EP), batch, context and precisions (attention GEMMs at the point's
attention precision, KV at the engine's), on the backend asked for (``--backend``; AIConfigurator 0.12's tables:
TRT-LLM 1.3.0rc20, SGLang 0.5.14). Its ops are measured kernels ("silicon") and a few elementwise estimates
("empirical": norms, activation). The last lines give the measured step (1 / per-user tok/s), Rackscale's host time,
and tau = (measured step - host - ops) / layer equivalents (:func:`calculators.model.step.layer_equivalents`) with
each side's ops. A negative value means the measured step is shorter than the ops alone.

Run: ``python3 benchmarks/batch1_ops.py [--backend trtllm|sglang] [ID ...]`` (AIConfigurator is installed by
``benchmarks/peers.py`` under ``~/.cache/rackscale-peers/``; each estimate takes ~3 s)."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from peers import AIC_MODELS, AIC_PACKAGE, AIC_SYSTEMS, ensure_venv  # noqa: E402

DEFAULT_POINTS = ("b200-trtllm-fp4-batch1", "sglang-h100-llama8b-bf16-batch1")
MODEL_PATHS = {**AIC_MODELS, "llama-3.1-8b": "meta-llama/Meta-Llama-3.1-8B", "qwen3-8b": "Qwen/Qwen3-8B"}
GEMM_QUANT = {"bf16": "bfloat16", "fp8": "fp8_block", "fp4": "nvfp4"}
MOE_QUANT = {"bf16": "bfloat16", "fp8": "fp8_block", "fp4": "nvfp4"}
KV_QUANT = {"bf16": "bfloat16", "fp8": "fp8"}


def rackscale_step(catalog, point, layout=None):
    """(prediction, layout, tau before host, layer equivalents) of a decode point, as validation predicts it."""
    from calculators.assumptions import resolve_assumptions
    from calculators.decode import predict
    from calculators.deployment import Deployment
    from calculators.model.step import layer_equivalents

    a = resolve_assumptions(catalog, point.accelerator, engine=point.engine,
                            attention_weight_precision=point.attention_precision,
                            kv_cache_precision=point.kv_cache_precision, micro_batch_overlap=point.micro_batch_overlap)
    p = predict(catalog, Deployment(model=point.model, accelerator=point.accelerator, precision=point.precision,
                                    chips=point.chips, concurrency=point.concurrency,
                                    context_tokens=point.mean_context_tokens, layout=layout or point.layout or "auto",
                                    mtp_layers=0, assumptions=a))
    return p, a, layer_equivalents(catalog, catalog.models[point.model], a.fusion)


def aic_ops(bindir: Path, point, p, a, backend: str) -> tuple[dict[str, float], str]:
    """AIConfigurator's generation ops (ms) for the deployment Rackscale priced, and the arguments used."""
    args = ["--model-path", MODEL_PATHS[point.model], "--system", AIC_SYSTEMS[point.accelerator][0],
            "--gemm-quant-mode", GEMM_QUANT[point.attention_precision or point.precision],
            "--kvcache-quant-mode", KV_QUANT[a.kv_cache_precision], "--backend", backend,
            "--tp-size", str(p.attention_tp), "--batch-size", str(point.concurrency), "--estimate-mode", "static_gen",
            "--isl", str(point.mean_context_tokens), "--osl", "2"]
    if p.distinct_experts_per_layer:  # a MoE model: its experts' precision and layout
        args += ["--moe-quant-mode", MOE_QUANT[point.precision], "--moe-tp-size", str(p.moe_tp),
                 "--moe-ep-size", str(p.moe_ep)]
    how = " ".join(args)
    args += ["--detail", "time", "--log-level", "ERROR"]
    out = subprocess.run([str(bindir / "aiconfigurator"), "cli", "estimate", *args], capture_output=True, text=True,
                         timeout=600)
    text = out.stdout + out.stderr
    section = text.split("Generation phase", 1)[-1]
    ops = {m.group(1): float(m.group(2)) for m in re.finditer(r"^\s+(generation_\w+)\s+([\d.]+) ms", section, re.M)}
    return ops, how


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("ids", nargs="*", default=list(DEFAULT_POINTS))
    ap.add_argument("--backend", default="trtllm", choices=("trtllm", "sglang", "vllm"))
    ap.add_argument("--layout", help="price every point at this layout (e.g. tp8-ep2tp4) instead of its own")
    ap.add_argument("--venv-dir", default=str(Path.home() / ".cache" / "rackscale-peers"))
    args = ap.parse_args(argv)
    from calculators.catalog import load_catalog

    catalog = load_catalog()
    bindir = ensure_venv(Path(args.venv_dir) / "aiconfigurator", AIC_PACKAGE)
    for pid in args.ids:
        point = catalog.validation[pid]
        if point.mtp_layers or point.serving not in (None, "decode") or point.metric != "per_user_tokens_per_s":
            print(f"{pid}: skipped (only pure-decode per-user points without MTP)\n")
            continue
        p, a, l_eq = rackscale_step(catalog, point, args.layout)
        ops, how = aic_ops(bindir, point, p, a, args.backend)
        step_ms = 1e3 / point.measured
        host_ms = p.step_breakdown_ms["host"]
        ours = {k: v for k, v in p.step_breakdown_ms.items() if k not in ("fixed_per_layer", "host") and v}
        print(f"## {pid}: {point.model} on {point.chips} {point.accelerator}, {point.precision}, batch "
              f"{point.concurrency}, context {point.mean_context_tokens}, layout {p.layout}; measured "
              f"{point.measured:g} tok/s = {step_ms:.3f} ms per step")
        print(f"AIConfigurator: {how}")
        print(f"{'Rackscale op':28s} {'ms':>7s}    {'AIConfigurator op':28s} {'ms':>7s}")
        left, right = list(ours.items()), list(ops.items())
        for i in range(max(len(left), len(right))):
            lk, lv = left[i] if i < len(left) else ("", None)
            rk, rv = right[i] if i < len(right) else ("", None)
            lv, rv = ("" if v is None else f"{v:7.3f}" for v in (lv, rv))
            print(f"{lk:28s} {lv:>7s}    {rk:28s} {rv:>7s}")
        ours_ms, aic_ms = sum(ours.values()), sum(ops.values())
        print(f"{'sum of ops':28s} {ours_ms:7.3f}    {'sum of ops':28s} {aic_ms:7.3f}")
        for who, total in (("Rackscale", ours_ms), ("AIConfigurator", aic_ms)):
            tau = (step_ms - host_ms - total) / l_eq * 1e3
            print(f"tau this point leaves with {who}'s ops: ({step_ms:.3f} - host {host_ms:.3f} - {total:.3f}) ms / "
                  f"{l_eq:.2f} layer equivalents = {tau:.1f} us")
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
