"""Peers side by side (printed, not a test, not part of CI): NVIDIA AIConfigurator and GenZ on every published
validation point they can answer, next to Rackscale's own prediction, with each tool's error and median |error|.

What it does
  1. Makes one virtualenv per peer (default under ``~/.cache/rackscale-peers/``) and installs into it with pip:
     ``aiconfigurator==0.12.0`` (its measured per-op tables and the ``aiconfigurator cli estimate`` command) and
     ``genz-llm==0.0.16`` (GenZ, an analytical roofline model). Nothing is installed into the project environment.
  2. Reads the validation points through ``calculators.catalog.load_catalog()`` and Rackscale's predictions through
     ``calculators.validation.validate(catalog)`` (in sample) and ``calculators.crossval.cross_validate(catalog)``
     (out of sample: every engine number re-solved without the point's source), which lead the table.
  3. Asks each peer the same question of each point it covers:
     * AIConfigurator: ``aiconfigurator cli estimate`` on its own measured tables; only its NVIDIA systems (H100, H200,
       B200, B300, GB200, GB300) and its model configs (DeepSeek-R1, Llama 3.1, Qwen3-235B). Single node: TRT-LLM,
       dense models TP=chips; MoE TP=EP=chips at <= 16 concurrent requests, else attention DP x EP (its
       max-throughput layout); several nodes:
       SGLang wide EP (it has multi-node DeepEP data only for 16/32/64 GPUs). ``decode`` points run ``static_gen``
       at the point's context, ``aggregated`` ones ``agg`` with the point's ISL/OSL, ``disaggregated`` ones the
       decode pool as ``static_gen`` at ISL + OSL/2; prefill throughput ``static_ctx`` with ~16k tokens per rank.
       MTP points pass ``--nextn k --nextn-accepted`` from the catalog's published acceptances (it has no default).
       Points measured on SGLang (engine generic-2024) use its SGLang tables. A saturated point (concurrency an
       upper bound) halves the batch until it reports no OOM. Metrics: tokens/s/user,
       tokens/s/gpu, seq/s x ISL, TTFT, TPOT; it reports no power on these systems.
     * GenZ: ``decode_moddeling`` / ``prefill_moddeling`` with the catalog's own peaks for the chip (its roofline at
       100% efficiency, GenZ's default), for the models it ships (DeepSeek-V3 = R1's architecture, Llama 3.1 405B,
       Llama 3.1 70B which GenZ maps to its Llama-2-70B config). TP = min(chips, 8), EP (MoE) or PP (dense) across
       the rest (EP a power of two dividing 256 experts, so 72 GPUs run as 64). Per-user speed = 1000 / step ms;
       per-chip = batch / step / chips used. GenZ's capacity check ignores tensor/expert sharding, so it is given
       the group's memory (the check only; no time depends on it).
     A point a peer cannot answer prints ``n/a`` with the reason; medians are over the points each tool answered.
  4. Prints a markdown table (date and versions in its heading) to paste into the README section "Peers side by
     side".

Run: ``python3 benchmarks/peers.py [--venv-dir DIR] [--only ID ...] [--save PATH | --reuse PATH]`` (first run
installs ~200 MB; each AIConfigurator call takes ~3 s; ``--reuse`` recomputes Rackscale's columns only)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import re
import statistics
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AIC_PACKAGE = "aiconfigurator==0.12.0"
GENZ_PACKAGE = "genz-llm==0.0.16"

AIC_SYSTEMS = {"h100-sxm": ("h100_sxm", 8), "h200-sxm": ("h200_sxm", 8), "b200": ("b200_sxm", 8),
               "b300": ("b300_sxm", 8), "gb200": ("gb200", 4), "gb300": ("gb300", 4)}
AIC_MODELS = {"deepseek-r1": "deepseek-ai/DeepSeek-R1", "llama-3.1-70b": "meta-llama/Meta-Llama-3.1-70B",
              "llama-3.1-405b": "meta-llama/Meta-Llama-3.1-405B", "qwen3-235b-a22b": "Qwen/Qwen3-235B-A22B",
              "kimi-k2": "moonshotai/Kimi-K2-Instruct"}
AIC_MOE = ("deepseek-r1", "qwen3-235b-a22b", "kimi-k2")
# FP8 checkpoints whose config tells it the weights' size (its BF16 Llama configs run out of memory on one chip).
AIC_FP8_CHECKPOINTS = {"llama-3.1-70b": "nvidia/Llama-3.1-70B-Instruct-FP8"}
AIC_QUANT = {  # precision -> (gemm, moe, kv cache)
    "fp8": ("fp8_block", "fp8_block", "fp8"),
    "fp4": ("fp8_block", "nvfp4", "fp8"),    # NVIDIA's R1 FP4 checkpoints: NVFP4 experts, FP8 attention
    "bf16": ("bfloat16", "bfloat16", "bfloat16"),
}
GENZ_MODELS = {"deepseek-r1": "deepseek-ai/DeepSeek-V3-Base", "llama-3.1-405b": "meta-llama/meta-llama-3.1-405b",
               "llama-3.1-70b": "meta-llama/meta-llama-3.1-70b", "llama-2-70b": "meta-llama/llama-2-70b"}
GENZ_BITS = {"bf16": "bf16", "fp8": "fp8", "fp4": "fp4", "int8": "int8"}
METRIC_UNIT = {"per_user_tokens_per_s": "tok/s/user", "output_tokens_per_s_per_chip": "tok/s/chip",
               "input_tokens_per_s_per_chip": "in tok/s/chip", "joules_per_output_token": "J/tok",
               "time_to_first_token_s": "s TTFT", "time_per_output_token_ms": "ms TPOT",
               "request_output_tokens_per_s": "tok/s/request"}


# --- virtualenvs -------------------------------------------------------------------------------------------------
def ensure_venv(path: Path, package: str) -> Path:
    """A virtualenv at ``path`` with ``package`` installed; returns its bin directory."""
    bindir = path / ("Scripts" if os.name == "nt" else "bin")
    marker = path / ".installed"
    if not marker.exists() or marker.read_text().strip() != package:
        if not bindir.exists():
            print(f"creating {path}", file=sys.stderr)
            venv.EnvBuilder(with_pip=True).create(path)
        print(f"installing {package} into {path}", file=sys.stderr)
        subprocess.run([str(bindir / "python"), "-m", "pip", "install", "-q", package], check=True)
        marker.write_text(package)
    return bindir


def installed_version(bindir: Path, dist: str) -> str:
    out = subprocess.run([str(bindir / "python"), "-c",
                          f"import importlib.metadata as m; print(m.version({dist!r}))"],
                         capture_output=True, text=True)
    return out.stdout.strip() or "?"


# --- one question per point --------------------------------------------------------------------------------------
def job_for(point, catalog) -> dict:
    """The question a validation point asks, in plain JSON (the peers' workers do not import the project)."""
    isl = point.input_tokens
    osl = point.output_tokens
    context = point.context_tokens or ((isl + (osl or 0) // 2) if isl else 2000)
    return {"id": point.id, "model": point.model, "accelerator": point.accelerator, "chips": point.chips,
            "precision": point.precision, "concurrency": point.concurrency, "isl": isl, "osl": osl,
            "context": context, "serving": point.serving, "metric": point.metric, "mtp": point.mtp_layers,
            "mtp_accepted": mtp_accepted(catalog, point.mtp_layers), "engine": point.engine,
            "saturated": point.saturated}


def mtp_accepted(catalog, drafts: int) -> float:
    """Mean accepted draft tokens per step with ``drafts`` MTP drafts, from the catalog's published acceptances
    (AIConfigurator has no built-in acceptance and asks for it)."""
    total, chain = 0.0, 1.0
    for p in catalog.serving.mtp_acceptance[:drafts]:
        chain *= p.value
        total += chain
    return round(total, 3)


def aic_args(job: dict) -> list[str] | str:
    """``aiconfigurator cli estimate`` arguments for a job, or why it cannot answer it."""
    if job["accelerator"] not in AIC_SYSTEMS:
        return "chip not in its tables"
    if job["model"] not in AIC_MODELS:
        return "model not in its configs"
    model_path = AIC_FP8_CHECKPOINTS.get(job["model"]) if job["precision"] == "fp8" else None
    if job["precision"] not in AIC_QUANT:
        return f"precision {job['precision']} not mapped"
    if job["metric"] == "joules_per_output_token":
        return "no power figure (its power tables cover 0% of these ops)"
    if job["metric"] not in AIC_FIELDS and job["metric"] not in ("input_tokens_per_s_per_chip",
                                                                   "request_output_tokens_per_s"):
        return f"metric {job['metric']} not mapped"
    system, per_node = AIC_SYSTEMS[job["accelerator"]]
    gemm, moe, kv = AIC_QUANT[job["precision"]]
    if job["model"] not in AIC_MOE and gemm == "fp8_block":
        gemm = "fp8"   # dense Llama FP8 checkpoints are per-tensor scaled
    chips, conc = job["chips"], job["concurrency"]
    args = ["--model-path", model_path or AIC_MODELS[job["model"]], "--system", system, "--gemm-quant-mode", gemm,
            "--kvcache-quant-mode", kv, "--log-level", "ERROR"]
    if job["model"] in AIC_MOE:
        args += ["--moe-quant-mode", moe, "--moe-tp-size", "1", "--moe-ep-size", str(chips)]
    # SGLang-measured points (generic-2024 engine) and every multi-node case run its SGLang tables.
    single = "sglang" if job["engine"] == "generic-2024" else "trtllm"
    prefill = job["metric"] == "input_tokens_per_s_per_chip"
    dense = job["model"] not in AIC_MOE
    # A dense model is tensor parallel over the node (attention DP would copy its weights to every rank).
    if chips <= per_node and (dense or (conc <= 16 and not prefill)):
        args += ["--backend", single, "--tp-size", str(chips), "--batch-size", str(conc)]
    else:
        backend = single if chips <= per_node else "sglang"
        per_rank = max(1, math.ceil(conc / chips))
        if prefill:   # a prefill chunk of ~16k tokens per rank, as large-EP prefill servers run
            per_rank = max(1, 16384 // (job["isl"] or job["context"]))
        args += ["--backend", backend, "--tp-size", "1", "--attention-dp-size", str(chips),
                 "--batch-size", str(per_rank)]
    if job["mtp"]:
        args += ["--nextn", str(job["mtp"]), "--nextn-accepted", str(job["mtp_accepted"])]
    if prefill:
        args += ["--estimate-mode", "static_ctx", "--isl", str(job["isl"] or job["context"]), "--osl", "2"]
    elif job["serving"] == "aggregated" and job["isl"] and job["osl"]:
        args += ["--estimate-mode", "agg", "--isl", str(job["isl"]), "--osl", str(job["osl"])]
    else:
        args += ["--estimate-mode", "static_gen", "--isl", str(job["context"]), "--osl", "2"]
    return args


AIC_FIELDS = {"per_user_tokens_per_s": ("tokens/s/user", 1.0), "output_tokens_per_s_per_chip": ("tokens/s/gpu", 1.0),
              "time_to_first_token_s": ("TTFT", 1e-3), "time_per_output_token_ms": ("TPOT", 1.0)}


def run_aic(bindir: Path, job: dict) -> dict:
    """One estimate; a saturated point (its concurrency an upper bound) halves the batch until it fits in memory,
    as Rackscale takes the best batch that fits."""
    while True:
        args = aic_args(job)
        if isinstance(args, str):
            return {"error": args}
        proc = subprocess.run([str(bindir / "aiconfigurator"), "cli", "estimate", *args], capture_output=True,
                              text=True, timeout=600)
        text = proc.stdout + proc.stderr
        if "OOM" in text and job["saturated"] and job["concurrency"] > 1:
            job = {**job, "concurrency": job["concurrency"] // 2}
            continue
        break

    def number(label: str) -> float | None:
        m = re.search(rf"^\s*{re.escape(label)}:\s*([\d,.]+)", text, re.M)
        return float(m.group(1).replace(",", "")) if m else None

    if job["metric"] == "request_output_tokens_per_s":   # output tokens over the whole request's latency
        latency_ms = number("Request Latency")
        value = (job["osl"] or 2) / (latency_ms / 1e3) if latency_ms else None
    elif job["metric"] == "input_tokens_per_s_per_chip":
        seq_s = number("seq/s")
        value = seq_s * (job["isl"] or job["context"]) / job["chips"] if seq_s is not None else None
    else:
        label, scale = AIC_FIELDS[job["metric"]]
        value = number(label)
        value = value * scale if value is not None else None
    if value is None and "Cross-node EP requires DeepEP" in text:
        return {"error": f"no multi-node DeepEP table for EP{job['chips']} on this system"}
    if value is None:
        err = re.search(r"(?:Error: |requires )(.*)", text)
        return {"error": (err.group(1)[:70] + "...") if err else "no estimate in its output"}
    return {"predicted": value, "how": " ".join(args)}


def genz_system(acc, chips: int) -> dict:
    """GenZ's system dict from the catalog's own numbers for the chip. GenZ 0.0.16's capacity check compares one
    chip's memory x pipeline stages with the whole model's weights (tensor and expert sharding ignored), so the
    memory given is the group's: it decides only that check, not any time."""
    tiers = {t.tier: t for t in acc.memory_tiers}
    tier = tiers.get("hbm") or next(iter(tiers.values()))
    flops = acc.peak_tflops.get("bf16") or next(iter(acc.peak_tflops.values()))
    return {"Flops": flops.value, "Memory_size": tier.capacity_gb.value * chips, "Memory_BW": tier.bandwidth_gb_s.value,
            "ICN": acc.scale_up_gb_s_per_direction.value, "real_values": True}


def genz_job(job: dict, catalog) -> dict | str:
    if job["model"] not in GENZ_MODELS:
        return "model not in its model sets"
    if job["precision"] not in GENZ_BITS:
        return f"precision {job['precision']} not mapped"
    if job["metric"] not in ("per_user_tokens_per_s", "output_tokens_per_s_per_chip", "time_per_output_token_ms",
                             "input_tokens_per_s_per_chip"):
        return "metric not modelled (no power, no queueing)"
    chips = job["chips"]
    tp = min(chips, 8)
    rest = max(1, chips // tp)
    moe = job["model"] in ("deepseek-r1",)
    if moe:   # expert parallelism must divide DeepSeek's 256 experts: the largest power of two that fits
        rest = 2 ** int(math.log2(rest))
    used = tp * rest
    return {**job, "genz_model": GENZ_MODELS[job["model"]], "bits": GENZ_BITS[job["precision"]],
            "system": genz_system(catalog.accelerators[job["accelerator"]], used), "tp": tp,
            "ep": rest if moe else 1, "pp": 1 if moe else rest, "chips_used": used}


def genz_worker() -> None:
    """Runs inside the GenZ virtualenv: JSON jobs on stdin, one JSON result per job on stdout."""
    import warnings

    warnings.filterwarnings("ignore")
    from GenZ import decode_moddeling, prefill_moddeling

    for line in sys.stdin:
        job = json.loads(line)
        try:
            common = {"model": job["genz_model"], "system_name": job["system"], "bits": job["bits"],
                      "tensor_parallel": job["tp"], "expert_parallel": job["ep"], "pipeline_parallel": job["pp"]}
            if job["metric"] == "input_tokens_per_s_per_chip":
                isl = job["isl"] or job["context"]
                out = prefill_moddeling(batch_size=1, input_tokens=isl, **common)
                value = 1000 * isl / out["Latency"] / job["chips_used"]
            else:
                batch = job["concurrency"]
                while True:   # a saturated point takes the largest batch that fits, halving from its bound
                    try:
                        out = decode_moddeling(batch_size=batch, input_tokens=job["context"], output_tokens=1,
                                               Bb=1, **common)
                        break
                    except ValueError as exc:
                        if not (job["saturated"] and batch > 1 and "fit" in str(exc)):
                            raise
                        batch //= 2
                step_ms = out["Latency"]
                value = {"per_user_tokens_per_s": 1000 / step_ms,
                         "output_tokens_per_s_per_chip": 1000 * batch / step_ms / job["chips_used"],
                         "time_per_output_token_ms": step_ms}[job["metric"]]
            result = {"id": job["id"], "predicted": value}
        except Exception as exc:  # a peer's refusal is data here, not a crash of the comparison
            result = {"id": job["id"], "error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:80]}"}
        print(json.dumps(result), flush=True)


def run_genz(bindir: Path, jobs: list[dict]) -> dict[str, dict]:
    proc = subprocess.run([str(bindir / "python"), str(Path(__file__).resolve()), "--genz-worker"],
                          input="\n".join(json.dumps(j) for j in jobs) + "\n", capture_output=True, text=True,
                          timeout=1800)
    results = {}
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            r = json.loads(line)
            results[r.pop("id")] = r
    if proc.returncode and not results:
        print(proc.stderr[-2000:], file=sys.stderr)
    return results


def rackscale_version() -> str:
    """pyproject version plus the git commit the numbers came from."""
    import tomllib

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return f"{version} ({commit.stdout.strip() or 'no git'})"


# --- the table ---------------------------------------------------------------------------------------------------
def err(pred: float, measured: float) -> float:
    return pred / measured - 1


def fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else (f"{v:.1f}" if abs(v) >= 10 else f"{v:.3g}")


def cell(r: dict | None, measured: float) -> str:
    if r is None:
        return "-"
    if "predicted" not in r:
        return f"n/a ({r['error']})"
    return f"{fmt(r['predicted'])} ({err(r['predicted'], measured):+.0%})"


def table(points, ours, aic, genz, versions: dict[str, str], cv=None) -> str:
    """The markdown table and the median lines. ``cv``: Rackscale's leave-one-source-out rows by point id
    (``calculators.crossval``): its column and medians come first, the in-sample ones beside them."""
    cv = cv or {}
    lines = [f"Peers side by side, {dt.date.today().isoformat()}: Rackscale {versions['rackscale']}, "
             f"AIConfigurator {versions['aic']}, GenZ {versions['genz']}. Error = predicted / measured - 1. "
             "Rackscale out of sample: every engine number re-solved without the point's source "
             "(`validate --cross-validate`).",
             "",
             "| point | use | metric | measured | Rackscale out of sample | Rackscale in sample | AIConfigurator "
             "| GenZ |",
             "|---|---|---|---|---|---|---|---|"]
    errs: dict[tuple[str, bool], list[float]] = {}
    paired: dict[tuple[str, str, bool], list[float]] = {}  # (peer, rackscale kind, test only)
    for p in points:
        o = ours.get(p.id)
        c = cv.get(p.id)
        o_cell = f"{fmt(o.predicted)} ({o.error_fraction:+.0%})" if o else "-"
        c_cell = f"{fmt(c.predicted)} ({c.cross_validated_error_fraction:+.0%})" if c else "-"
        for test_only in (False, True):
            if test_only and p.use != "test":
                continue
            if o:
                errs.setdefault(("rackscale", test_only), []).append(abs(o.error_fraction))
            if c:
                errs.setdefault(("rackscale-cv", test_only), []).append(abs(c.cross_validated_error_fraction))
            for name, res in (("aic", aic), ("genz", genz)):
                r = res.get(p.id)
                if r and "predicted" in r:
                    errs.setdefault((name, test_only), []).append(abs(err(r["predicted"], p.measured)))
                    if o:
                        paired.setdefault((name, "in", test_only), []).append(abs(o.error_fraction))
                    if c:
                        paired.setdefault((name, "cv", test_only), []).append(abs(c.cross_validated_error_fraction))
        lines.append(f"| {p.id} | {p.use} | {METRIC_UNIT.get(p.metric, p.metric)} | {fmt(p.measured)} | {c_cell} | "
                     f"{o_cell} | {cell(aic.get(p.id), p.measured)} | {cell(genz.get(p.id), p.measured)} |")

    def med(key, pool=errs):
        v = pool.get(key, [])
        return f"{statistics.median(v):.0%} over {len(v)}" if v else "-"

    for test_only, label in ((False, "all points"), (True, "test points only")):
        peers = "; ".join(
            f"{title} {med((name, test_only))} (Rackscale on the same points: out of sample "
            f"{med((name, 'cv', test_only), paired)}, in sample {med((name, 'in', test_only), paired)})"
            for name, title in (("aic", "AIConfigurator"), ("genz", "GenZ")))
        lines += ["", f"Median |error|, {label}: Rackscale out of sample {med(('rackscale-cv', test_only))} "
                  f"(in sample {med(('rackscale', test_only))}); {peers}."]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Peers side by side (AIConfigurator, GenZ) on the validation points")
    ap.add_argument("--venv-dir", default=str(Path.home() / ".cache" / "rackscale-peers"))
    ap.add_argument("--only", nargs="*", help="validation point ids (default: all)")
    ap.add_argument("--save", metavar="PATH", help="also write the peers' answers to this JSON file")
    ap.add_argument("--reuse", metavar="PATH", help="take the peers' answers from a --save file instead of running "
                    "them (Rackscale's columns are recomputed)")
    ap.add_argument("--genz-worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.genz_worker:
        genz_worker()
        return 0

    sys.path.insert(0, str(ROOT))
    from calculators.catalog import load_catalog
    from calculators.crossval import cross_validate
    from calculators.validation import validate

    catalog = load_catalog()
    points = [p for p in catalog.validation.values() if not args.only or p.id in args.only]
    ours = {r.id: r for r in validate(catalog)}
    cv = {r.id: r for r in cross_validate(catalog)}
    if args.reuse:
        saved = json.loads(Path(args.reuse).read_text())
        print(table(points, ours, saved["aic"], saved["genz"], {**saved["versions"], "rackscale": rackscale_version()},
                    cv))
        return 0
    base = Path(args.venv_dir)
    aic_bin = ensure_venv(base / "aiconfigurator", AIC_PACKAGE)
    genz_bin = ensure_venv(base / "genz", GENZ_PACKAGE)
    jobs = [job_for(p, catalog) for p in points]

    aic = {}
    for job in jobs:
        aic[job["id"]] = run_aic(aic_bin, job)
        print(f"AIConfigurator {job['id']}: {aic[job['id']]}", file=sys.stderr)
    genz_jobs, genz = [], {}
    for job in jobs:
        g = genz_job(job, catalog)
        if isinstance(g, str):
            genz[job["id"]] = {"error": g}
        else:
            genz_jobs.append(g)
    genz.update(run_genz(genz_bin, genz_jobs))
    versions = {"rackscale": rackscale_version(), "aic": installed_version(aic_bin, "aiconfigurator"),
                "genz": installed_version(genz_bin, "genz-llm")}
    if args.save:
        Path(args.save).write_text(json.dumps({"aic": aic, "genz": genz, "versions": versions}, indent=1))
    print(table(points, ours, aic, genz, versions, cv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
