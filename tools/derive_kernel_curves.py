"""Derive shape-dependent kernel efficiency curves and alpha-beta collective parameters into
``hardware_catalog/kernels.yaml`` (data contract: /work/wt/SCHEMA.md section 1; the catalog loader validates it).

What it reads
  * NVIDIA AIConfigurator's measured op tables, shipped in the PyPI wheel ``aiconfigurator-core`` (Apache-2.0):
    ``aiconfigurator_core/systems/data/<system>/<op>/<framework>/<version>/*.parquet`` with a
    ``collection_meta.yaml`` beside each (framework, version, container image when recorded). Systems h100_sxm,
    h200_sxm, b200_sxm, b300_sxm, gb200, gb300 map to the catalog ids in ``SYSTEMS`` below.
  * The catalog's own peaks (``hardware_catalog/accelerators.yaml``): dense ``peak_tflops`` per precision,
    ``memory_tiers[hbm].bandwidth_gb_s``, ``scale_up_gb_s_per_direction``, ``scale_out_gb_s_per_direction``.
  * Published tables typed in below with their source (DeepGEMM, DeepEP, FlashMLA READMEs; the ml-engineering MAMF
    table): ``DEEPGEMM_*``, ``DEEPEP_LL``, ``FLASHMLA``, ``MAMF``.
  * AMD's own measured GEMM tables, kept in ``tools/data`` (``AMD_GEMM_TABLES``): the hipBLASLt FP8 tuning results
    AMD published with its MLPerf Inference v5.1 Llama 2 70B submission (MI325X, Llama 2 70B TP1 shapes, M 16-2,592),
    and AITER's tuned tables for DeepSeek-V3/R1 on gfx950 (``AITER_GEMM_TABLES``, ``AITER_MOE_TABLE``: MI355X FP8
    block-scale GEMMs at R1's own shapes, and the fused MoE at TP8 / TP4 in FP8 and MXFP4). The AMD MLPerf v5.1
    submissions hold no MI355X GEMM table: their MI355X Llama 2 70B runs use Triton / AITER MXFP4 kernels with no
    tuning file in the submission.

How it fits
  * fraction = roofline time / measured time, capped at 1, where roofline = max(bytes moved / HBM peak,
    FLOPs / dense peak at that precision) (SCHEMA.md). Per op:
      gemm            M x N x K, bytes = (M K + N K) x bytes/element + M N x 2 (bf16 out); mean over the decoder
                      shapes in ``GEMM_SHAPES`` (DeepSeek-R1 hidden 7168, q_lora 1536, expert intermediate 2048);
                      best kernel_source per shape (what a tuned engine picks).
      grouped_gemm    DeepSeek-R1 MoE (hidden 7168, inter 2048, top-8 of 256, gated: 3 matrices) at EP8, TP1,
                      power-law routing (``MOE_ROUTING``); x = tokens x 8 / 256; bytes = expected distinct
                      experts touched on one rank x expert weight bytes (F4, calculators/model/moe.py) + token
                      activations in and out.
      grouped_gemm, weight-only (``weight_precision``): gpt-oss's MoE (hidden 2880, inter 2880, top-4, gated; the
                      20b's 32 experts) with MXFP4 weights and BF16 activations on Hopper, the Triton MXFP4 kernel
                      TensorRT-LLM runs there (its TRITON MoE backend); EP1, TP1, the same routing; x = tokens x 4 /
                      expected distinct experts touched (the step's own axis); bytes = touched experts x 3 matrices
                      at the catalog's FP4 bytes + BF16 activations in and out; FLOPs at the BF16 peak (the math's).
      decode_attention MLA: 128 heads per chip (DP attention), latent 512 + rope 64, bf16 KV; x = batch x context,
                      geometric mean of fraction over batch/context pairs with context 1k-16k in each power-of-2
                      bin of x.  GQA: Llama-3.1-70B at TP8 (8 query heads, 1 KV head, head_dim 128).
      prefill_attention causal, FLOPs = batch x heads x s^2 x (d_qk + d_v); per sequence length s the table row
                      whose batch x s is nearest a 16k-token prefill chunk.
      all_reduce      NCCL + the engine's custom all-reduce (min per size): alpha = floor latency at <= 4 KiB;
                      bandwidth fraction = ring bus bandwidth 2(n-1)/n x bytes / t at >= 64 MiB over the catalog's
                      per-direction link bandwidth.
      all_to_all      DeepEP low-latency dispatch (FP8) and combine (BF16), hidden 7168, top-8, 256 experts:
                      per group size a least-squares line t = alpha + bytes / bandwidth over the token counts, with
                      bytes = the token copies a chip sends over that scope's links (copies to ranks in another
                      scale-up domain for scale_out; to other ranks for scale_up); alpha = mean of the dispatch
                      and combine intercepts; bandwidth fraction = mean achieved / catalog link bandwidth.
  * AMD GEMM tables (``amd_gemm_curve``): the same t = floor + roofline / f(M) as AIConfigurator's GEMMs, but the
    table has no shape with a roofline under 3 us, so the floor is the intercept of a least-squares line of measured
    time on roofline over its memory-bound rows (M <= 32, far below the ~218-token ridge), and f(M) is the median of
    roofline / (measured - floor) over its four shapes at each M of ``GEMM_M`` it measured.
  * AITER tables (``aiter_gemm_curve``, ``aiter_moe_curve``): the GEMMs as AIConfigurator's (floor from shapes with a
    roofline under 3 us; f(M) over the shapes whose roofline is at least that floor, R1's shapes being too small for
    the 40 us threshold); the fused MoE as ``moe_curve`` with tensor-parallel experts (every rank streams its slice
    of each distinct expert touched, plus the fused shared expert).
  * Chips on the die of a chip with an AMD table (``AMD_GEMM_SAME_DIE``: MI300X on the MI325X table):
    ``same_die_gemm_curve``, the sibling's measured GEMM curve with its compute-bound part times the two chips'
    measured MAMF ratio (the MI300X's lower sustained clock at 750 W), ``kind: estimate``.
  * Chips without their own tables: an NVIDIA/DeepSeek curve scaled by a stated ratio, ``kind: assumption``; chip
    class fallbacks (gpu; collectives also for tpu, dataflow, sram, wafer, whose compiled programs run on their class
    efficiencies instead of GPU kernel curves).
  Curves are kept short (<= 16 points), x strictly increasing, fractions in (0, 1].

How to re-run (the tables are ~114 MB: keep them out of the repo and out of the project environment)
    python3 -m venv /tmp/aic && /tmp/aic/bin/pip install aiconfigurator-core pandas pyarrow pyyaml
    /tmp/aic/bin/python tools/derive_kernel_curves.py            # writes hardware_catalog/kernels.yaml
    /tmp/aic/bin/python tools/derive_kernel_curves.py --print    # also prints a summary table
then ``python3 -m calculators catalog check hardware_catalog/*.yaml``.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
ACCESSED = "2026-12-01"
AIC_VERSION = "0.12.0"

SYSTEMS = {"h100_sxm": "h100-sxm", "h200_sxm": "h200-sxm", "b200_sxm": "b200", "b300_sxm": "b300",
           "gb200": "gb200", "gb300": "gb300"}
FRAMEWORK = "trtllm"
FW_VERSION = "1.3.0rc20"
# DeepEP low-latency tables: single node for every system (sglang 0.5.12), 2-8 nodes only in the legacy
# H100/H200 set (sglang 0.5.6.post2).
DEEPEP_SINGLE = ("sglang", "0.5.12")
DEEPEP_MULTI = ("sglang", "0.5.6.post2")
NCCL_VERSION = "2.29.2"
RANKS_PER_NODE = {"h100_sxm": 8, "h200_sxm": 8, "b200_sxm": 8, "b300_sxm": 8, "gb200": 4, "gb300": 4}

BYTES = {"bf16": 2.0, "fp8": 1.000244, "fp4": 0.5625}      # assumptions.yaml bytes_per_element
AIC_GEMM_DTYPE = {"bf16": "bfloat16", "fp8": "fp8_block", "fp4": "nvfp4"}
AIC_MOE_DTYPE = {"bf16": "bfloat16", "fp8": "fp8_block", "fp4": "nvfp4"}
GEMM_SHAPES = [(1536, 7168), (2048, 7168), (7168, 2048), (4096, 7168), (7168, 16384)]  # (N, K)
GEMM_M = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384]
HIDDEN, INTER, TOPK, EXPERTS, EP = 7168, 2048, 8, 256, 8
MLA_HEADS, MLA_KV, MLA_V, MLA_QK_NOPE, MLA_ROPE = 128, 512, 128, 128, 64
GQA_HEADS, GQA_KV_HEADS, GQA_DIM = 8, 1, 128
PREFILL_CHUNK = 16384

# --- published tables (typed in from the cited READMEs) ---------------------------------------------------------
# DeepGEMM README (commit 327ec92, April 2025), H800, FP8 dense GEMM, TFLOPS: rows checked against a public copy of
# the table; M=4096 only the range over its shapes is used (775-1520).
DEEPGEMM_DENSE = [(64, 2112, 7168, 206), (128, 2112, 7168, 352), (128, 4096, 7168, 533), (128, 7168, 2048, 510)]
DEEPGEMM_DENSE_M4096_RANGE = (775, 1520)
DEEPGEMM_DENSE_M64_MAX = 336
# DeepGEMM masked grouped GEMM (decode MoE), TFLOPS ranges per expected M per group (method.md).
DEEPGEMM_MASKED = {256: (815, 932), 512: (916, 1040), 1024: (925, 1233)}
# DeepEP docs/legacy.md, low-latency kernels, H800 + CX7 400 Gb/s, 128 tokens/rank, hidden 7168, top-8,
# FP8 dispatch / BF16 combine: EP -> (dispatch us, combine us).
DEEPEP_LL = {8: (77, 114), 16: (118, 195), 32: (155, 273), 64: (173, 314), 128: (192, 369), 256: (194, 360)}
DEEPEP_NORMAL_INTRANODE_GB_S = (153, 158)   # NVLink, H800 (catalog scale_up 200 GB/s per direction)
DEEPEP_NORMAL_INTERNODE_GB_S = (43, 58)     # RDMA, H800 (catalog scale_out 50 GB/s)
# FlashMLA README: dense MLA decode up to 3,000 GB/s memory-bound and 660 TFLOPS compute-bound on H800.
FLASHMLA = {"gb_s": 3000, "tflops": 660}
# ml-engineering MAMF table (fraction of dense peak; Gaudi 3 of its 1,677 shipping peak).
MAMF = {"h100-sxm": 0.80, "b200": 0.776, "gb200": 0.729, "mi300x": 0.514, "mi325x": 0.604, "mi355x": 0.680,
        "gaudi3": 0.741 * 1677 / 1835}

SOURCES = {
    "aiconfigurator-core-0.12": {
        "title": "NVIDIA AIConfigurator op tables (aiconfigurator-core 0.12.0, Apache-2.0), "
                 "aiconfigurator_core/systems/data/<system>/<op>/<framework>/<version>/ with collection_meta.yaml",
        "url": "https://pypi.org/project/aiconfigurator-core/"},
    "deepgemm-readme": {
        "title": "deepseek-ai/DeepGEMM README performance tables (commit 327ec92, April 2025; H800, FP8)",
        "url": "https://github.com/deepseek-ai/DeepGEMM"},
    "deepep-legacy": {
        "title": "deepseek-ai/DeepEP docs/legacy.md: normal and low-latency kernel performance on H800 + CX7 400 Gb/s",
        "url": "https://github.com/deepseek-ai/DeepEP"},
    "flashmla-readme": {
        "title": "deepseek-ai/FlashMLA README (dense MLA decode: 3,000 GB/s memory-bound, 660 TFLOPS compute-bound, "
                 "H800)",
        "url": "https://github.com/deepseek-ai/FlashMLA"},
    "mle-mamf": {
        "title": "stas00/ml-engineering compute/accelerator/README.md, 'Maximum Achievable Matmul FLOPS' (MAMF) table",
        "url": "https://github.com/stas00/ml-engineering/blob/master/compute/accelerator/README.md"},
    "amd-mlperf51-hipblaslt": {
        "title": "AMD MLPerf Inference v5.1 Llama 2 70B submission, closed/AMD/code/llama2-70b-99.9/scripts/"
                 "gemm_llama2-70b/aa0bda7b/tuning_spx_1700_formatted.txt: hipBLASLt FP8 GEMM tuning results on MI325X "
                 "(gfx942, 304 CUs, SPX, 1,700 MHz deterministic clock), the file interactive_mi325x.yaml loads "
                 "(HIPBLASLT_TUNING_OVERRIDE_FILE); distinct measurements in tools/data/"
                 "amd-mlperf51-mi325x-hipblaslt-fp8.csv",
        "url": "https://github.com/mlcommons/inference_results_v5.1",
        "accessed": "2026-12-02"},
    "rocm-aiter-tuned-dsv3": {
        "title": "ROCm/aiter (MIT) tuned kernel tables for DeepSeek-V3/R1, commit e4048607a535 (August 2026): "
                 "aiter/configs/model_configs/a8w8_blockscale_tuned_gemm_ds_v3.csv and "
                 "a8w8_blockscale_bpreshuffle_tuned_gemm_dsv3.csv (FP8 block-scale GEMMs), "
                 "a8w8_blockscale_tuned_fmoe_ds_v3.csv and dsv3_fp4_tuned_fmoe.csv (fused MoE, FP8 and MXFP4): the "
                 "tuner's measured time per shape on gfx950 with 256 CUs (MI355X / MI350X); the rows used are in "
                 "tools/data/aiter-gfx950-dsv3-*.csv",
        "url": "https://github.com/ROCm/aiter/tree/e4048607a535ace3a2b51ded31b1c8c2d45c0879/aiter/configs/model_configs",
        "accessed": "2026-12-03"},
    "rccl-tests-mi300x": {
        "title": "crickett-hpe/hpc-ai-envs PR 30: rccl-tests all_reduce_perf on 8x MI300X "
                 "(8 MiB: 161 GB/s bus bandwidth)",
        "url": "https://github.com/crickett-hpe/hpc-ai-envs/pull/30"},
}


def aic_data_root() -> Path:
    import aiconfigurator_core
    return Path(aiconfigurator_core.__file__).parent / "systems" / "data"


def meta_text(path: Path) -> str:
    """'framework version (image ...)' from a collection_meta.yaml."""
    meta = yaml.safe_load((path / "collection_meta.yaml").read_text())
    runtime = meta.get("runtime", {})
    text = f"{runtime.get('framework')} {runtime.get('version')}"
    image = runtime.get("image")
    if image:
        text += f", container {image}"
    elif runtime.get("build_mode"):
        text += f", {runtime['build_mode']}"
    else:
        text += ", container not recorded in collection_meta.yaml"
    return text


def load_peaks() -> dict[str, dict]:
    doc = yaml.safe_load((ROOT / "hardware_catalog" / "accelerators.yaml").read_text())
    peaks = {}
    for acc in doc["accelerators"]:
        hbm = [t for t in acc["memory_tiers"] if t["tier"] == "hbm"]
        peaks[acc["id"]] = {
            "class": acc["chip_class"],
            "bw": (hbm[0]["bandwidth_gb_s"]["value"] * 1e9) if hbm else None,
            "tflops": {p: v["value"] * 1e12 for p, v in acc["peak_tflops"].items()},
            "up": acc["scale_up_gb_s_per_direction"]["value"] * 1e9,
            "out": acc["scale_out_gb_s_per_direction"]["value"] * 1e9,
        }
    return peaks


def frac(roof_s: np.ndarray | float, meas_s: np.ndarray | float):
    return np.minimum(np.asarray(roof_s, float) / np.asarray(meas_s, float), 1.0)


def roof(bytes_, flops, peak, precision):
    return np.maximum(np.asarray(bytes_, float) / peak["bw"], np.asarray(flops, float) / peak["tflops"][precision])


def gmean(values) -> float:
    v = np.asarray(list(values), float)
    return float(np.exp(np.mean(np.log(v))))


# --- curves from AIConfigurator ----------------------------------------------------------------------------------
GEMM_FRAMEWORKS = ((FRAMEWORK, FW_VERSION), ("sglang", "0.5.14"), ("vllm", "0.24.0"))


def gemm_table(data: Path, system: str) -> tuple[pd.DataFrame, list[str]]:
    """Every framework's GEMM table for a system, with the provenance of each one read."""
    frames, metas = [], []
    for fw, ver in GEMM_FRAMEWORKS:
        d = data / system / "gemm" / fw / ver
        if (d / "gemm_perf.parquet").exists():
            frames.append(pd.read_parquet(d / "gemm_perf.parquet"))
            metas.append(meta_text(d))
    return pd.concat(frames), metas


GEMM_FLOOR_MAX_M = 128
"""The per-call floor is read at M <= this (above it, small shapes are no longer latency-bound)."""
GEMM_FLOOR_ROOF_US = 3.0
GEMM_ASYMPTOTE_ROOF_US = 40.0


def gemm_curve(data: Path, system: str, peak: dict, precision: str):
    """A GEMM as a per-call floor plus its roofline at an asymptotic fraction: t = floor + roofline / f(M).

    The floor (launch, prologue and epilogue; ~7 us for block-scaled FP8 with its activation quantisation, ~3 us for
    BF16 on Hopper and Blackwell) is the median of (measured - roofline) over shapes whose roofline is under
    GEMM_FLOOR_ROOF_US at M <= GEMM_FLOOR_MAX_M; f(M) is the median of roofline / (measured - floor) over shapes
    whose roofline is at least GEMM_ASYMPTOTE_ROOF_US. Splitting the two lets one curve serve DeepSeek's 10 MB
    projections (floor-dominated) and Llama's 470 MB FFN (bandwidth-dominated) alike."""
    t, metas = gemm_table(data, system)
    t = t[t.gemm_dtype == AIC_GEMM_DTYPE[precision]]
    if t.empty:
        return None
    best = t.groupby(["m", "n", "k"], as_index=False).latency.min()
    b = BYTES[precision]
    best = best.assign(
        roof_us=roof((best.m * best.k + best.n * best.k) * b + best.m * best.n * 2, 2 * best.m * best.n * best.k,
                     peak, precision) * 1e6,
        lat_us=best.latency * 1e3,
    )
    small = best[(best.m <= GEMM_FLOOR_MAX_M) & (best.roof_us < GEMM_FLOOR_ROOF_US)]
    if small.empty:
        return None
    floor = float(np.median(small.lat_us - small.roof_us))
    points = []
    for m in GEMM_M:
        big = best[(best.m == m) & (best.roof_us >= GEMM_ASYMPTOTE_ROOF_US) & (best.lat_us > floor)]
        if len(big) >= 3:
            points.append((m, float(min(1.0, np.median(big.roof_us / (big.lat_us - floor))))))
    note = (f"{system} gemm_perf.parquet, dtype {AIC_GEMM_DTYPE[precision]}, fastest kernel per shape over the "
            f"TRT-LLM, SGLang and vLLM tables; t = floor + roofline / f(M): floor {floor:.1f} us = median of "
            f"measured - roofline over {len(small)} shapes with roofline < {GEMM_FLOOR_ROOF_US:g} us at M <= "
            f"{GEMM_FLOOR_MAX_M}; f(M) = median of roofline / (measured - floor) over shapes with roofline >= "
            f"{GEMM_ASYMPTOTE_ROOF_US:g} us; {'; '.join(metas)}")
    return points, note, floor


def gemm_point(data: Path, system: str, peak: dict, precision: str, m: int, n: int, k: int) -> float | None:
    """Fraction of one (M, N, K) in a system's tables (fastest kernel), for cross-checks."""
    t, _ = gemm_table(data, system)
    t = t[(t.gemm_dtype == AIC_GEMM_DTYPE[precision]) & (t.m == m) & (t.n == n) & (t.k == k)]
    if t.empty:
        return None
    bytes_ = (m * k + n * k) * BYTES[precision] + m * n * 2
    return float(frac(roof(bytes_, 2 * m * n * k, peak, precision), t.latency.min() * 1e-3))


MOE_ROUTING = "power_law_1.01"
"""The routing the MoE curves are read at. Real routers are skewed: hot experts get more tokens, so the busiest
expert and rank set the layer's time. AIConfigurator's own serving estimates default to power-law routing
(sdk/config.py ``workload_distribution = "power_law"``); at EP8 its power_law_1.01 tables run 1.3-1.7x slower than
``balanced`` from ~4k tokens a step and alike below ~1k. Balanced routing is the ideal a load balancer (EPLB)
approaches, not what an engine gets by default."""


def moe_curve(data: Path, system: str, peak: dict, precision: str):
    d = data / system / "moe" / FRAMEWORK / FW_VERSION
    t = pd.read_parquet(d / "moe_perf.parquet")
    t = t[(t.moe_dtype == AIC_MOE_DTYPE[precision]) & (t.hidden_size == HIDDEN) & (t.inter_size == INTER)
          & (t.topk == TOPK) & (t.num_experts == EXPERTS) & (t.moe_tp_size == 1) & (t.moe_ep_size == EP)
          & (t.distribution == MOE_ROUTING)]
    if t.empty:
        return None
    best = t.groupby("num_tokens", as_index=False).latency.min()
    local = EXPERTS // EP
    points = []
    for tokens, lat in zip(best.num_tokens, best.latency, strict=False):
        x = tokens * TOPK / EXPERTS
        if x < 0.25:
            continue
        copies = tokens * TOPK / EP
        touched = local * (1 - (1 - TOPK / EXPERTS) ** tokens)
        b = BYTES[precision]
        bytes_ = touched * 3 * HIDDEN * INTER * b + copies * HIDDEN * (b + 2)
        flops = 2 * 3 * HIDDEN * INTER * copies
        points.append((x, float(frac(roof(bytes_, flops, peak, precision), lat * 1e-3))))
    points = thin(points)
    note = (f"{system} moe_perf.parquet, DeepSeek-R1 MoE (hidden {HIDDEN}, inter {INTER}, top-{TOPK} of {EXPERTS}), "
            f"moe_ep {EP}, moe_tp 1, {MOE_ROUTING} routing, dtype {AIC_MOE_DTYPE[precision]}, best kernel_source; x = "
            f"tokens x {TOPK}/{EXPERTS}; bytes = expected distinct experts touched on one rank (F4) x 3 matrices + "
            f"activations; {meta_text(d)}")
    return points, note


# gpt-oss's MoE (openai/gpt-oss-20b and -120b config.json): hidden 2880, expert intermediate 2880, top-4, gated;
# the 20b's 32 experts, the shape both Hopper tables measured on one GPU (EP1; TensorRT-LLM's H100 table has the
# 120b's 128 experts only from EP2).
GPTOSS_HIDDEN, GPTOSS_INTER, GPTOSS_TOPK, GPTOSS_EXPERTS = 2880, 2880, 4, 32
# The Triton MXFP4 MoE on Hopper (BF16 activations x MXFP4 weights, dequantised in the kernel), as AIConfigurator
# labels it (moe_dtype w4a16_mxfp4, "GPT-OSS's triton_kernels mxfp4 path", sdk/common.py). TensorRT-LLM's rows, as
# for the other MoE curves: its TRITON MoE backend (AIConfigurator's collector/trtllm/collect_moe.py sets
# moe_backend = "triton" for gpt-oss on SM90, kernel_source moe_torch_flow).
WEIGHT_ONLY_MOE_TABLES = ((FRAMEWORK, FW_VERSION, "moe_torch_flow"),)
WEIGHT_ONLY_MOE = {"fp4": "w4a16_mxfp4"}  # storage precision -> AIConfigurator moe_dtype (math at BF16)
# Hopper only: on Blackwell the w4a16_mxfp4 rows are another kernel (the collector sets moe_backend "trtllm",
# trtllm-gen's Bf16MxE2m1 runner, for SM100), and gpt-oss runs FP4 math there, where its curves already apply.
WEIGHT_ONLY_MOE_SYSTEMS = ("h100_sxm", "h200_sxm")


def weight_only_moe_curve(data: Path, system: str, peak: dict, storage: str):
    """The grouped GEMM of a weight-only MoE kernel: weights stored at ``storage``, math at BF16 (the Triton MXFP4
    kernel on Hopper). Roofline as the step prices it: bytes = expected distinct experts touched x 3 matrices at the
    stored bytes + BF16 activations in and out, FLOPs at the BF16 peak; x = tokens x k / touched experts, the
    step's own axis (calculators/model/step.py ``tokens_per_expert``). Fastest of the tables per token count."""
    frames, metas = [], []
    for fw, ver, source in WEIGHT_ONLY_MOE_TABLES:
        d = data / system / "moe" / fw / ver
        if not (d / "moe_perf.parquet").exists():
            continue
        t = pd.read_parquet(d / "moe_perf.parquet")
        t = t[(t.moe_dtype == WEIGHT_ONLY_MOE[storage]) & (t.kernel_source == source)
              & (t.hidden_size == GPTOSS_HIDDEN) & (t.inter_size == GPTOSS_INTER) & (t.topk == GPTOSS_TOPK)
              & (t.num_experts == GPTOSS_EXPERTS) & (t.moe_tp_size == 1) & (t.moe_ep_size == 1)
              & (t.distribution == MOE_ROUTING)]
        if not t.empty:
            frames.append(t)
            metas.append(f"{source} ({meta_text(d)})")
    if not frames:
        return None
    best = pd.concat(frames).groupby("num_tokens", as_index=False).latency.min()
    e, k, h, i = GPTOSS_EXPERTS, GPTOSS_TOPK, GPTOSS_HIDDEN, GPTOSS_INTER
    points = []
    for tokens, lat in zip(best.num_tokens, best.latency, strict=False):
        touched = e * (1 - (1 - k / e) ** tokens)
        bytes_ = touched * 3 * h * i * BYTES[storage] + tokens * k * h * (2 + 2)
        flops = 2 * 3 * h * i * tokens * k
        points.append((tokens * k / touched, float(frac(roof(bytes_, flops, peak, "bf16"), lat * 1e-3))))
    points = thin(points)
    note = (f"{system} moe_perf.parquet, gpt-oss-20b MoE (hidden {h}, inter {i}, top-{k} of {e}), moe_ep 1, "
            f"moe_tp 1, {MOE_ROUTING} routing, dtype {WEIGHT_ONLY_MOE[storage]} (MXFP4 weights x BF16 activations, "
            f"TensorRT-LLM's Triton MXFP4 MoE on Hopper), {' and '.join(metas)}; "
            f"x = tokens x {k} / expected distinct experts touched (the step's axis); bytes = touched experts x 3 "
            f"matrices at {BYTES[storage]} B per weight (the catalog's {storage}) + BF16 activations in and out; "
            f"FLOPs at the BF16 peak")
    return points, note


def binned(xs, fs, lo=None) -> list[tuple[float, float]]:
    """Geometric mean of fraction per power-of-2 bin of x, reported at the bin's geometric-mean x."""
    bins: dict[int, list[tuple[float, float]]] = {}
    for x, f in zip(xs, fs, strict=False):
        bins.setdefault(int(round(math.log2(x))), []).append((x, f))
    out = []
    for key in sorted(bins):
        xv = gmean([p[0] for p in bins[key]])
        out.append((xv, gmean([p[1] for p in bins[key]])))
    return thin(out)


def thin(points, most: int = 16):
    points = sorted(points)
    if len(points) <= most:
        return points
    idx = np.unique(np.round(np.linspace(0, len(points) - 1, most)).astype(int))
    return [points[i] for i in idx]


def mla_decode_curve(data: Path, system: str, peak: dict):
    d = data / system / "mla" / FRAMEWORK / FW_VERSION
    t = pd.read_parquet(d / "generation_mla_perf.parquet")
    t = t[(t.num_heads == MLA_HEADS) & (t.tp_size == 1) & (t.kv_cache_dtype == "bfloat16")]
    ctx = t.isl + t.step
    t = t[(ctx >= 1024) & (ctx <= 16384)]
    ctx = (t.isl + t.step).to_numpy(float)
    b = t.batch_size.to_numpy(float)
    kv = b * ctx
    bytes_ = kv * (MLA_KV + MLA_ROPE) * 2
    flops = 2 * b * MLA_HEADS * ctx * (MLA_KV + MLA_ROPE + MLA_KV)
    f = frac(roof(bytes_, flops, peak, "bf16"), t.latency.to_numpy(float) * 1e-3)
    note = (f"{system} generation_mla_perf.parquet, {MLA_HEADS} heads per chip (tp_size 1, DP attention), bf16 KV "
            f"(latent {MLA_KV} + rope {MLA_ROPE}); absorbed MLA FLOPs 2 x heads x ctx x (576 + 512) per sequence; "
            f"geometric mean per power-of-2 bin of batch x context over contexts 1k-16k; {meta_text(d)}")
    return binned(kv, f), note


def gqa_decode_curve(data: Path, system: str, peak: dict):
    d = data / system / "attention" / FRAMEWORK / FW_VERSION
    t = pd.read_parquet(d / "generation_attention_perf.parquet")
    t = t[(t.num_heads == GQA_HEADS) & (t.num_key_value_heads == GQA_KV_HEADS) & (t.head_dim == GQA_DIM)
          & (t.window_size == 0) & (t.kv_cache_dtype == "bfloat16")]
    ctx = t.isl + t.step
    t = t[(ctx >= 1024) & (ctx <= 16384)]
    if t.empty:
        return None
    ctx = (t.isl + t.step).to_numpy(float)
    b = t.batch_size.to_numpy(float)
    kv = b * ctx
    bytes_ = kv * 2 * GQA_KV_HEADS * GQA_DIM * 2
    flops = 4 * b * GQA_HEADS * ctx * GQA_DIM
    f = frac(roof(bytes_, flops, peak, "bf16"), t.latency.to_numpy(float) * 1e-3)
    note = (f"{system} generation_attention_perf.parquet, Llama-3.1-70B at TP8 ({GQA_HEADS} query heads, "
            f"{GQA_KV_HEADS} KV head, head_dim {GQA_DIM}), bf16 KV, no window; geometric mean per power-of-2 bin of "
            f"batch x context over contexts 1k-16k; {meta_text(d)}")
    return binned(kv, f), note


def nearest_chunk(t: pd.DataFrame) -> pd.DataFrame:
    t = t.assign(tok=t.batch_size * t.isl)
    t = t.assign(dist=(np.log2(t.tok) - math.log2(PREFILL_CHUNK)).abs())
    return t.sort_values(["isl", "dist"]).groupby("isl", as_index=False).first()


def mla_prefill_curve(data: Path, system: str, peak: dict):
    d = data / system / "mla" / FRAMEWORK / FW_VERSION
    t = pd.read_parquet(d / "context_mla_perf.parquet")
    t = t[(t.num_heads == MLA_HEADS) & (t.tp_size == 1) & (t.kv_cache_dtype == "bfloat16") & (t.isl >= 128)]
    t = nearest_chunk(t)
    s, b = t.isl.to_numpy(float), t.batch_size.to_numpy(float)
    flops = b * MLA_HEADS * s * s * ((MLA_QK_NOPE + MLA_ROPE) + MLA_V)
    bytes_ = b * s * MLA_HEADS * (3 * (MLA_QK_NOPE + MLA_ROPE) + MLA_V) * 2
    f = frac(roof(bytes_, flops, peak, "bf16"), t.latency.to_numpy(float) * 1e-3)
    note = (f"{system} context_mla_perf.parquet, {MLA_HEADS} heads, bf16, causal FLOPs batch x heads x s^2 x "
            f"(192 + 128); per s the row with batch x s nearest {PREFILL_CHUNK} tokens; {meta_text(d)}")
    return thin(list(zip(s, f, strict=False))), note


def gqa_prefill_curve(data: Path, system: str, peak: dict):
    d = data / system / "attention" / FRAMEWORK / FW_VERSION
    t = pd.read_parquet(d / "context_attention_perf.parquet")
    t = t[(t.num_heads == GQA_HEADS) & (t.num_key_value_heads == GQA_KV_HEADS) & (t.head_dim == GQA_DIM)
          & (t.window_size == 0) & (t.attn_dtype == "bfloat16") & (t.kv_cache_dtype == "bfloat16") & (t.isl >= 128)]
    if t.empty:
        return None
    t = nearest_chunk(t)
    s, b = t.isl.to_numpy(float), t.batch_size.to_numpy(float)
    flops = b * GQA_HEADS * s * s * 2 * GQA_DIM
    bytes_ = b * s * (2 * GQA_HEADS + 2 * GQA_KV_HEADS) * GQA_DIM * 2
    f = frac(roof(bytes_, flops, peak, "bf16"), t.latency.to_numpy(float) * 1e-3)
    note = (f"{system} context_attention_perf.parquet, {GQA_HEADS} query / {GQA_KV_HEADS} KV heads, head_dim "
            f"{GQA_DIM}, bf16, causal; per s the row with batch x s nearest {PREFILL_CHUNK} tokens; {meta_text(d)}")
    return thin(list(zip(s, f, strict=False))), note


# --- collectives from AIConfigurator -----------------------------------------------------------------------------
def all_reduce_scale_up(data: Path, system: str, peak: dict):
    dn = data / system / "comm" / "nccl" / NCCL_VERSION
    nccl = pd.read_parquet(dn / "nccl_perf.parquet")
    nccl = nccl[(nccl.op_name == "all_reduce") & (nccl.nccl_dtype == "half")][["num_gpus", "message_size", "latency"]]
    dc = data / system / "comm" / FRAMEWORK / FW_VERSION
    custom = pd.read_parquet(dc / "custom_allreduce_perf.parquet")[["num_gpus", "message_size", "latency"]]
    both = pd.concat([nccl, custom]).groupby(["num_gpus", "message_size"], as_index=False).latency.min()
    alpha, fractions = [], []
    for n, grp in both.groupby("num_gpus"):
        small = grp[grp.message_size * 2 <= 4096]
        alpha.append((int(n), float(small.latency.min() * 1e3)))
        big = grp[grp.message_size * 2 >= 64 * 2**20]
        busbw = 2 * (n - 1) / n * big.message_size * 2 / (big.latency * 1e-3)
        fractions.append((int(n), float(busbw.max() / peak["up"])))
    n_max, f_max = max(fractions)
    note = (f"{system}: min per size over NCCL all_reduce ({meta_text(dn)}) and the engine's custom all-reduce "
            f"({meta_text(dc)}); message_size is an element count (fp16, 2 bytes); alpha = floor latency at <= 4 KiB "
            f"per GPU count; bandwidth = ring bus bandwidth 2(n-1)/n x bytes / t at >= 64 MiB on {n_max} GPUs = "
            f"{f_max * peak['up'] / 1e9:.0f} GB/s of {peak['up'] / 1e9:.0f} per direction (NVLS can exceed the ring "
            f"bound: capped at 1); so bytes sent per chip = 2(n-1)/n x message bytes")
    return alpha, min(1.0, f_max), note


def _ll_fit(t: pd.DataFrame, remote_share: float):
    """Least squares t = a + bytes/bw per phase; returns (alpha_us, bandwidth B/s) averaged over phases."""
    out = []
    for phase, bpe in (("dispatch", BYTES["fp8"]), ("combine", 2.0)):
        tok = t.num_token.to_numpy(float)
        y = t[f"{phase}_avg_t_us"].to_numpy(float)
        x = tok * TOPK * HIDDEN * bpe * remote_share
        slope, icpt = np.polyfit(x, y, 1)
        out.append((icpt, 1e6 / slope))
    return float(np.mean([o[0] for o in out])), float(np.mean([o[1] for o in out]))


def all_to_all_curves(data: Path, system: str, peak: dict):
    rows = []
    ranks = RANKS_PER_NODE[system]
    d1 = data / system / "comm" / DEEPEP_SINGLE[0] / DEEPEP_SINGLE[1]
    t = pd.read_parquet(d1 / "wideep_deepep_ll_perf.parquet")
    t = t[(t.hidden_size == HIDDEN) & (t.num_topk == TOPK) & (t.num_experts == EXPERTS) & (t.node_num == 1)
          & (t.num_token <= 256)]
    a, bw = _ll_fit(t, (ranks - 1) / ranks)
    rows.append(("scale_up", [(ranks, a)], min(1.0, bw / peak["up"]),
                 f"{system} wideep_deepep_ll_perf.parquet, one node ({ranks} GPUs), DeepEP low-latency FP8 dispatch / "
                 f"BF16 combine, hidden {HIDDEN}, top-{TOPK}, {EXPERTS} experts, 1-256 tokens per rank; line fit "
                 f"t = alpha + bytes/bw with bytes = tokens x {TOPK} x {HIDDEN} x bytes x {ranks - 1}/{ranks}: alpha "
                 f"{a:.1f} us, {bw / 1e9:.0f} GB/s of {peak['up'] / 1e9:.0f} per direction (the low-latency kernel, "
                 f"not the bandwidth-optimised normal kernel); {meta_text(d1)}"))
    dm = data / system / "comm" / DEEPEP_MULTI[0] / DEEPEP_MULTI[1]
    if (dm / "wideep_deepep_ll_perf.parquet").exists():
        t = pd.read_parquet(dm / "wideep_deepep_ll_perf.parquet")
        t = t[(t.hidden_size == HIDDEN) & (t.num_topk == TOPK) & (t.num_experts == EXPERTS) & (t.node_num > 1)]
        lat, bws = [], []
        for nodes, grp in t.groupby("node_num"):
            g = int(nodes) * ranks
            a, bw = _ll_fit(grp, (g - ranks) / g)
            lat.append((g, a))
            bws.append(bw)
        f = float(np.mean(bws)) / peak["out"]
        rows.append(("scale_out", lat, min(1.0, f),
                     f"{system} wideep_deepep_ll_perf.parquet, 2/4/8 nodes (EP16/32/64, CX7 400 Gb/s per GPU), DeepEP "
                     f"low-latency FP8 dispatch / BF16 combine, hidden {HIDDEN}, top-{TOPK}, 2-256 tokens per rank; "
                     f"line fit per EP with bytes = copies sent to ranks in other nodes ((g-{ranks})/g of "
                     f"tokens x {TOPK} x {HIDDEN} x bytes): alpha {', '.join(f'EP{g} {v:.0f} us' for g, v in lat)}; "
                     f"{np.mean(bws) / 1e9:.0f} GB/s of {peak['out'] / 1e9:.0f} (capped at 1); {meta_text(dm)}"))
    return rows


# --- published-table curves (H800) -------------------------------------------------------------------------------
def h800_curves(data: Path, peaks) -> tuple[list[dict], list[dict]]:
    p = peaks["h800-sxm"]
    checks = []
    for m, n, k, tf in DEEPGEMM_DENSE:
        flops = 2 * m * n * k
        own = float(frac(roof((m * k + n * k) * BYTES["fp8"] + m * n * 2, flops, p, "fp8"), flops / (tf * 1e12)))
        aic = [f"{acc} {v:.2f}" for system, acc in (("h100_sxm", "h100-sxm"), ("h200_sxm", "h200-sxm"))
               if (v := gemm_point(data, system, peaks[acc], "fp8", m, n, k)) is not None]
        if aic:
            checks.append(f"M={m} ({n},{k}) DeepGEMM {own:.2f} vs {', '.join(aic)}")
    kern, coll = [], []
    pts = {}
    for m, n, k, tf in DEEPGEMM_DENSE:
        flops = 2 * m * n * k
        bytes_ = (m * k + n * k) * BYTES["fp8"] + m * n * 2
        pts.setdefault(m, []).append(float(frac(roof(bytes_, flops, p, "fp8"), flops / (tf * 1e12))))
    gemm = [(m, gmean(v)) for m, v in sorted(pts.items())]
    big = gmean(DEEPGEMM_DENSE_M4096_RANGE) * 1e12 / p["tflops"]["fp8"]
    gemm.append((4096, big))
    kern.append(curve("h800-sxm", "gemm", None, "fp8", gemm, "measured", "deepgemm-readme",
                      "DeepGEMM README FP8 dense GEMM on H800: M=64 (N,K)=(2112,7168) 206 TFLOPS; M=128 (2112,7168) "
                      "352, (4096,7168) 533, (7168,2048) 510 -> roofline/measured with bytes (MK+NK) x 1 + MN x 2; "
                      f"M=4096: geometric mean of the published range 775-1520 TFLOPS over its shapes / 1,979 peak. "
                      f"Cross-check, AIConfigurator fp8_block (fastest over its tables) at the same shapes (same SM90 "
                      f"silicon): "
                      f"{'; '.join(checks)} (the README's DeepGEMM figures beat the tables' by "
                      f"the ratio shown; H200's lower fractions are the same time against a 43% higher HBM "
                      f"peak)"))
    return kern, coll


def deepgemm_masked_fractions(p) -> list[tuple[int, float]]:
    """DeepGEMM's masked grouped GEMM on H800 as a fraction of the roofline, per expected M per group: the published
    TFLOPS range ends for R1's expert shapes (N,K)=(4096,7168) and (7168,2048), geometric mean. Every group gets
    the same M (balanced by construction): the cross-check of the H800 grouped-GEMM curve, not the curve."""
    gg = []
    for m, (lo, hi) in DEEPGEMM_MASKED.items():
        fr = []
        for n, k in ((4096, 7168), (7168, 2048)):   # gate+up (2 x 2048) and down projections of R1 experts
            for tf in (lo, hi):
                flops = 2 * m * n * k
                bytes_ = (n * k + m * k) * BYTES["fp8"] + m * n * 2
                fr.append(float(frac(roof(bytes_, flops, p, "fp8"), flops / (tf * 1e12))))
        gg.append((m, gmean(fr)))
    return gg


def routing_skew(data: Path, system: str) -> tuple[float, list[str]]:
    """What power-law routing costs the MoE layer: (H100 TRT-LLM EP8 at 16,384 tokens, latency power_law_1.01 /
    balanced; SGLang's DeepEP + DeepGEMM prefill MoE, latency power_law_1.01 / uniform at 16,384 tokens per rank,
    per EP size)."""
    d = data / system / "moe" / FRAMEWORK / FW_VERSION
    t = pd.read_parquet(d / "moe_perf.parquet")
    t = t[(t.moe_dtype == "fp8_block") & (t.hidden_size == HIDDEN) & (t.inter_size == INTER) & (t.topk == TOPK)
          & (t.num_experts == EXPERTS) & (t.moe_tp_size == 1) & (t.moe_ep_size == EP) & (t.num_tokens == 16384)]
    best = t.groupby("distribution").latency.min()
    w = pd.read_parquet(data / system / "moe" / "sglang" / "0.5.10" / "wideep_context_moe_perf.parquet")
    wb = w.groupby(["moe_ep_size", "num_tokens", "distribution"]).latency.min()
    wide = [f"EP{ep} {wb[(ep, 16384 * ep, MOE_ROUTING)] / wb[(ep, 16384 * ep, 'uniform')]:.2f}x"
            for ep in (8, 16, 32) if (ep, 16384 * ep, "uniform") in wb.index]
    return float(best[MOE_ROUTING] / best["balanced"]), wide


def h800_grouped_gemm(h100: dict, p, skew: tuple[float, list[str]]) -> dict:
    """H800's grouped GEMM: the AIConfigurator H100 curve (the same SM90 die, 132 SMs, the same clocks and 3.35 TB/s
    HBM3; the H800 differs in NVLink and FP64 only), as every other GPU's curve is read: under power-law routing,
    where the busiest rank's experts set the layer's time. DeepGEMM's published masked-layout figures give every group
    the same M; they are the balanced ceiling the routed reality sits under once tokens per expert reach the hundreds
    (prefill), and are kept in the note as the cross-check."""
    dg = "; ".join(f"M={m} {f:.2f}" for m, f in deepgemm_masked_fractions(p))
    h100_at = dict(h100["points"])
    at256, at512 = h100_at.get(256, float("nan")), h100_at.get(512, float("nan"))
    return curve("h800-sxm", "grouped_gemm", None, "fp8", h100["points"], "assumption", "aiconfigurator-core-0.12",
                 f"the AIConfigurator H100 grouped-GEMM curve (same SM90 silicon; its power-law routing, as every "
                 f"GPU's curve here): DeepGEMM's README masked grouped GEMM on H800 with every group at the same M "
                 f"reaches {dg} of the roofline, against the routed H100 table's {at256:.2f} at 256 "
                 f"and {at512:.2f} at 512 tokens per expert. Much of the gap is routing: "
                 f"the busiest rank's excess tokens, which a balanced benchmark leaves out (the H100 TRT-LLM table at "
                 f"EP8 and 16,384 tokens runs {skew[0]:.2f}x slower under power-law routing than balanced; SGLang's "
                 f"DeepEP + DeepGEMM prefill MoE table, wideep_context_moe_perf.parquet 0.5.10, at 16,384 tokens per "
                 f"rank: {', '.join(skew[1])} slower than uniform)")


def h800_collectives(peaks, h100_scale_up_alpha, h100_out_fraction: float) -> list[dict]:
    p = peaks["h800-sxm"]
    out_f = h100_out_fraction
    lat = []
    for g, (tdisp, tcomb) in DEEPEP_LL.items():
        if g <= 8:
            continue
        share = (g - 8) / g
        a_d = tdisp - 128 * TOPK * HIDDEN * BYTES["fp8"] * share / (min(out_f, 1.0) * p["out"]) * 1e6
        a_c = tcomb - 128 * TOPK * HIDDEN * 2 * share / (min(out_f, 1.0) * p["out"]) * 1e6
        lat.append((g, max(1.0, (a_d + a_c) / 2)))
    coll = [collective("h800-sxm", "all_to_all", "scale_out", lat, min(1.0, out_f), "estimate", "deepep-legacy",
                       "DeepEP low-latency kernels on H800 + CX7 400 Gb/s, 128 tokens per rank, hidden 7168, top-8, "
                       "FP8 dispatch / BF16 combine (EP16..256: 118/195 .. 194/360 us, measured). One size per EP does "
                       f"not separate alpha from bandwidth, so the bandwidth fraction is the H100 multi-node fit "
                       f"({out_f:.2f} of the same 50 GB/s CX7 NIC; DeepEP's normal internode kernels reach 43-58 GB/s, "
                       "consistent) and alpha per EP = published time minus the bytes sent to other nodes ((g-8)/g of "
                       "the copies) over that bandwidth, mean of dispatch and combine. EP8 (one node) left out: its "
                       "98 GB/s 'RDMA' figure exceeds the NIC, so it did not cross the network. Cross-check: the "
                       "AIConfigurator H100 DeepEP EP64 table gives 167/305 us at 128 tokens vs DeepEP's H800 173/314 "
                       "us (within 4%)")]
    up_f = gmean(DEEPEP_NORMAL_INTRANODE_GB_S) * 1e9 / p["up"]
    coll.append(collective("h800-sxm", "all_to_all", "scale_up", h100_scale_up_alpha, min(1.0, up_f), "estimate",
                           "deepep-legacy",
                           "bandwidth: DeepEP normal intranode kernels 153-158 GB/s over NVLink of the catalog's "
                           "200 GB/s per direction (measured); alpha: not published for H800, taken from the "
                           "AIConfigurator H100 single-node DeepEP low-latency fit (same SM90 GPU and NVSwitch "
                           "generation, assumption)"))
    return coll


# --- AMD's own GEMM measurements -----------------------------------------------------------------------------------
AMD_GEMM_TABLES = {("mi325x", "fp8"): ("amd-mlperf51-hipblaslt", ROOT / "tools" / "data" /
                                       "amd-mlperf51-mi325x-hipblaslt-fp8.csv")}
"""(chip, precision) -> (source id, CSV of tokens, n, k, us, tflops): measured tables that replace a scaled curve."""
AITER_GEMM_TABLES = {("mi355x", "fp8"): ("rocm-aiter-tuned-dsv3", ROOT / "tools" / "data" /
                                         "aiter-gfx950-dsv3-fp8-blockscale-gemm.csv")}
"""(chip, precision) -> (source id, CSV of tokens, n, k, us): AITER's tuned GEMM tables at DeepSeek-R1's own shapes on
the chip, which replace a scaled curve."""
AITER_MOE_TABLE = ROOT / "tools" / "data" / "aiter-gfx950-dsv3-fused-moe.csv"
"""AITER's tuned fused-MoE tables for DeepSeek-R1 on gfx950 (precision, tokens, inter, us): MI355X grouped_gemm."""
AITER_MOE_CHIP = "mi355x"
AMD_GEMM_SAME_DIE = {"mi300x": ("mi325x", MAMF["mi300x"] / MAMF["mi325x"],
                                "MAMF BF16 51.4% vs MI325X 60.4%, the same benchmark on both chips; AMD's own MLPerf "
                                "v5.1 runs pin the MI300X's clock at 1,400 MHz (Llama 2 70B offline) against the "
                                "MI325X's 1,700 (scripts/power_settings.sh), 0.82, the same story")}
"""chip -> (sibling with a measured AMD table, compute-bound ratio, why): chips on the same die as a chip that has a
measured table (MI300X and MI325X are both the CDNA3 gfx942 die, 304 CUs, the same 2,100 MHz peak and the same
hipBLASLt). See :func:`same_die_gemm_curve`."""
AMD_FLOOR_MAX_M = 32
"""The AMD tables' floor is fitted on rows at M <= this: memory-bound (MI325X FP8's ridge is ~218 tokens), so the
time is a per-call floor plus the weights streamed at a fixed fraction of HBM peak."""


def amd_gemm_curve(path: Path, peak: dict, precision: str):
    """A GEMM curve from one of AMD's published hipBLASLt tables, in the form of :func:`gemm_curve`:
    t = floor + roofline / f(M). The tables hold one model's four GEMMs (Llama 2 70B at TP1: N x K = 10240 x 8192,
    8192 x 8192, 57344 x 8192, 8192 x 28672; rooflines 11-78 us at M = 16), none under the 3 us AIConfigurator's
    floor is read at; so the floor is the intercept of a least-squares line of measured time against roofline over
    the rows at M <= AMD_FLOOR_MAX_M (its slope is 1 / f there), and f(M) is the median of roofline / (measured -
    floor) over the four shapes at each M of GEMM_M the table measured. M below the table's smallest (16) keeps the
    curve's first point (np.interp clamps), as memory-bound shapes do."""
    t = pd.read_csv(path, comment="#")
    b = BYTES[precision]
    roof_us = roof((t.tokens * t.k + t.n * t.k) * b + t.tokens * t.n * 2, 2 * t.tokens * t.n * t.k, peak,
                   precision) * 1e6
    small = (t.tokens <= AMD_FLOOR_MAX_M).to_numpy()
    slope, floor = np.polyfit(roof_us[small], t.us.to_numpy()[small], 1)
    points = []
    for m in GEMM_M:
        at = (t.tokens == m).to_numpy()
        if at.sum() >= 3:
            points.append((m, float(min(1.0, np.median(roof_us[at] / (t.us.to_numpy()[at] - floor))))))
    note = (f"{path.name}: {len(t)} hipBLASLt FP8 (per-tensor scales, fp16 out) measurements, M 16-{t.tokens.max()} "
            f"over Llama 2 70B's four TP1 GEMMs, at the 1,700 MHz deterministic clock AMD's MLPerf MI325X runs set "
            f"(scripts/power_settings.sh; the catalog's peak is at 2,100 MHz, so the clock is inside f); "
            f"t = floor + roofline / f(M): floor {floor:.1f} us = intercept of a least-squares line of measured on "
            f"roofline over {int(small.sum())} rows at M <= {AMD_FLOOR_MAX_M} (slope {slope:.2f}); f(M) = median of "
            f"roofline / (measured - floor) over the four shapes at each M")
    return points, note, float(floor)


def aiter_gemm_curve(path: Path, peak: dict, precision: str):
    """A GEMM curve from AITER's tuned tables at DeepSeek-R1's own shapes (37 (N, K) pairs, M 1-16,384), in the
    form of :func:`gemm_curve`: t = floor + roofline / f(M). The floor is read as AIConfigurator's is, the median of
    measured - roofline over shapes whose roofline is under GEMM_FLOOR_ROOF_US at M <= GEMM_FLOOR_MAX_M. R1's shapes
    are small (the largest weight is 264 MB, 33 us at 8 TB/s), so none reaches the 40 us AIConfigurator reads f at
    for decode-sized M; f(M) is read instead over the shapes whose roofline is at least the floor (where the
    roofline term, not the floor, sets the time): the median of roofline / (measured - floor) at each M with three
    or more such shapes."""
    t = pd.read_csv(path, comment="#")
    b = BYTES[precision]
    t = t.assign(roof_us=roof((t.tokens * t.k + t.n * t.k) * b + t.tokens * t.n * 2, 2 * t.tokens * t.n * t.k,
                              peak, precision) * 1e6)
    small = t[(t.tokens <= GEMM_FLOOR_MAX_M) & (t.roof_us < GEMM_FLOOR_ROOF_US)]
    floor = float(np.median(small.us - small.roof_us))
    points = []
    for m in GEMM_M:
        big = t[(t.tokens == m) & (t.roof_us >= floor) & (t.us > floor)]
        if len(big) >= 3:
            points.append((m, float(min(1.0, np.median(big.roof_us / (big.us - floor))))))
    fastest = float((2 * t.tokens * t.n * t.k / (t.us * 1e-6)).max())
    note = (f"{path.name}: {len(t)} AITER tuned FP8 block-scale GEMM measurements (gfx950, 256 CUs) over "
            f"{t.groupby(['n', 'k']).ngroups} DeepSeek-V3/R1 (N, K) shapes, M 1-{t.tokens.max()}; "
            f"t = floor + roofline / f(M): floor {floor:.1f} us = median of measured - roofline over {len(small)} "
            f"shapes with roofline < "
            f"{GEMM_FLOOR_ROOF_US:g} us at M <= {GEMM_FLOOR_MAX_M}; f(M) = median of roofline / (measured - floor) "
            f"over the shapes whose roofline is at least the floor; the fastest row runs {fastest / 1e12:,.0f} TFLOPS, "
            f"{fastest / peak['tflops'][precision]:.2f} of the catalog's dense peak")
    return points, note, floor


AITER_MOE_HIDDEN, AITER_MOE_ROUTED, AITER_MOE_TOPK = 7168, 256, 8
"""The AITER fused-MoE rows' DeepSeek-R1 MoE: hidden 7168, 256 routed experts top-8, plus the shared expert fused in
as a 257th expert every token visits (top-9 over 257)."""


def aiter_moe_curve(path: Path, peak: dict, precision: str):
    """A grouped_gemm curve from AITER's tuned fused-MoE tables for DeepSeek-R1 (tensor-parallel experts: each rank
    holds every expert's 1/t slice, inter = 2048 / t; TP8 and TP4 rows), x and fraction as :func:`moe_curve`:
    x = tokens x 8 / 256; the roofline reads the expected distinct routed experts a step touches (F4, uniform
    routing as the tuner's random inputs) plus the shared expert, 3 matrices each, and the token copies' activations
    in and out:
        bytes = (256 (1 - (1 - 8/256)^T) + 1) x 3 x 7168 x inter x b + 9 T x 7168 x (b + 2)
        FLOPs = 2 x 3 x 7168 x inter x 9 T
    Where TP8 and TP4 rows share an x, the curve takes their median."""
    t = pd.read_csv(path, comment="#")
    t = t[t.precision == precision]
    if t.empty:
        return None
    b = BYTES[precision]
    h, e, k = AITER_MOE_HIDDEN, AITER_MOE_ROUTED, AITER_MOE_TOPK
    touched = e * (1 - (1 - k / e) ** t.tokens) + 1
    bytes_ = touched * 3 * h * t.inter * b + (k + 1) * t.tokens * h * (b + 2)
    flops = 2 * 3 * h * t.inter * (k + 1) * t.tokens
    t = t.assign(x=t.tokens * k / e, f=frac(roof(bytes_, flops, peak, precision), t.us * 1e-6))
    points = [(float(x), float(g.f.median())) for x, g in t.groupby("x") if x >= 0.25]
    points = thin(points)
    note = (f"{path.name}: {len(t)} AITER tuned fused-MoE measurements ({precision}, gfx950, 256 CUs), DeepSeek-R1 "
            f"MoE at TP8 (inter 256) and TP4 (inter 512), 256 routed experts top-8 plus the fused shared expert; x = "
            f"tokens x 8/256; bytes = expected distinct experts touched (F4, uniform routing) + the shared one, x 3 "
            f"matrices, + activations; median of TP8 and TP4 where both measured an x")
    return points, note


def same_die_gemm_curve(sibling_points, ratio: float, peak: dict, precision: str):
    """The GEMM curve of a chip that shares its compute die and GEMM library with a sibling whose curve AMD measured
    (MI300X from the MI325X table): a GEMM's fraction of the roofline is a property of the die, the library's kernel
    choice and the clock the chip holds under load. The die and the library are the same, the clock is not: the
    MI300X is capped at 750 W (MI325X 1,000 W), so a compute-bound GEMM, which draws the most power, runs at a lower
    sustained clock. So the sibling's fractions are carried over with :func:`scaled_compute`: its compute-bound part
    times ``ratio`` (the two chips' measured compute-bound ratio), blended in by the shape's compute share at the
    chip's own ridge M* = C b / (2 BW), so memory-bound shapes keep the sibling's fraction of the roofline, whose
    bytes side the step model evaluates at this chip's own HBM bandwidth (5.3 TB/s for MI300X, 6.0 for MI325X).
    The sibling's floor (per-call launch and epilogue) is kept: the same kernels on the same die."""
    return scaled_compute(sibling_points, ratio, "gemm", peak, precision)


# --- scaled and fallback curves ----------------------------------------------------------------------------------
def scaled(points, factor):
    return [(x, min(1.0, max(1e-4, f * factor))) for x, f in points]


BYTES_PER_WEIGHT = {"bf16": 2.0, "fp8": 1.0, "fp4": 0.5625}


def scaled_compute(points, factor, op, peak, precision):
    """A reference chip's curve carried to a chip whose *compute-bound* kernels reach ``factor`` of the reference's
    (a MAMF ratio): the factor applies in proportion to how compute-bound the shape is, so memory-bound small shapes
    (bandwidth streaming, which MAMF does not measure) keep the reference fraction. A GEMM of M tokens reading
    b-byte weights turns compute-bound at M* = C b / (2 BW) (its ridge); the share s = M / (M + M*) blends 1 -> factor.
    Prefill attention is compute-bound at every length, so it takes the factor whole."""
    if op == "prefill_attention" or peak["bw"] is None:
        return scaled(points, factor)
    ridge = peak["tflops"][precision] * BYTES_PER_WEIGHT.get(precision, 1.0) / (2 * peak["bw"])
    return [(x, min(1.0, max(1e-4, f * (1 + (factor - 1) * x / (x + ridge))))) for x, f in points]


def curve(acc, op, variant, precision, points, kind, source, note, floor_us=None, weight_precision=None,
          measured_on=None) -> dict:
    wp = f"weights-{weight_precision}" if weight_precision else None
    c = {"id": ".".join(p for p in (acc, op, variant, precision, wp) if p), "accelerator": acc, "op": op}
    if variant:
        c["variant"] = variant
    c["precision"] = precision
    if weight_precision:
        c["weight_precision"] = weight_precision
    c.update({"x": X_AXIS[op], "points": points})
    if measured_on is not None:
        c["measured_on"] = measured_on
    c.update({"kind": kind, "source": source, "note": note})
    if floor_us is not None:
        c["floor_us"] = round(floor_us, 2)
    if op == "decode_attention":  # the measured shape's KV per cached token per layer per chip (x's unit)
        c["kv_elements_per_token"] = MLA_KV + MLA_ROPE if variant == "mla" else 2 * GQA_KV_HEADS * GQA_DIM
    return c


def collective(acc, op, scope, latency, bw_fraction, kind, source, note) -> dict:
    return {"id": f"{acc}.{op}.{scope}", "accelerator": acc, "op": op, "scope": scope, "latency_us": latency,
            "bandwidth_fraction": bw_fraction, "kind": kind, "source": source, "note": note}


X_AXIS = {"gemm": "tokens (M)", "grouped_gemm": "tokens per expert", "decode_attention": "batch x context tokens",
          "prefill_attention": "sequence length (tokens)"}

# chip -> (class or reference chip, ratio, reason) for chips without their own kernel tables.
COMPUTE_SCALED = {
    "mi300x": ("h100-sxm", MAMF["mi300x"] / MAMF["h100-sxm"], "MAMF BF16 51.4% vs H100 80%"),
    "mi325x": ("h100-sxm", MAMF["mi325x"] / MAMF["h100-sxm"], "MAMF BF16 60.4% vs H100 80%"),
    "mi355x": ("b200", MAMF["mi355x"] / MAMF["b200"], "MAMF BF16 68.0% vs B200 77.6%"),
    "gaudi3": ("h100-sxm", MAMF["gaudi3"] / MAMF["h100-sxm"],
               "MAMF 74.1% of the 1,677 shipping peak = 67.7% of the catalog's 1,835, vs H100 80%"),
}
# Class fallbacks: the H100 curve (B200 for fp4) times the ratio of assumptions.yaml class constants to the gpu
# class's (compute_efficiency_decode for GEMMs, memory_bandwidth_efficiency for decode attention,
# compute_efficiency_prefill for prefill attention).
# No kernel curves for the tpu, dataflow, sram and wafer classes: their compilers (XLA, Neuron, SambaFlow, Groq's,
# Cerebras') turn a whole decode step or decoder block into one program, so a GPU curve's small-shape floor (each
# kernel's launch and tail, a few us, measured into every small GEMM and attention call) is not a fact about them;
# scaling it in would charge them a GPU's kernel overheads twice (their engines' fixed cost per layer is calibrated
# separately). The published TPU figures agree: Llama 3.1 70B on 16 TPU v5e at batch 8 streams its weights at 85% of
# HBM peak end to end (jax-llm-examples), where the H100 curves' floors alone would take half the step. They keep
# their class's single efficiencies (assumptions.yaml) and get collective curves below.
CLASS_RATIO = {  # class: (gemm, decode attention, prefill attention)
    "gpu": (1.0, 1.0, 1.0),
}


def derive(data: Path, peaks: dict) -> tuple[list[dict], list[dict]]:
    kern: list[dict] = []
    coll: list[dict] = []
    by_id: dict[tuple, dict] = {}
    for system, acc in SYSTEMS.items():
        pk = peaks[acc]
        for prec in ("bf16", "fp8", "fp4"):
            if prec not in pk["tflops"]:
                continue
            for op, fn in (("gemm", gemm_curve), ("grouped_gemm", moe_curve)):
                got = fn(data, system, pk, prec)
                if got:
                    kern.append(curve(acc, op, None, prec, got[0], "measured", "aiconfigurator-core-0.12", got[1],
                                      got[2] if len(got) > 2 else None))
        for storage in WEIGHT_ONLY_MOE if system in WEIGHT_ONLY_MOE_SYSTEMS else ():
            got = weight_only_moe_curve(data, system, pk, storage)
            if got:
                kern.append(curve(acc, "grouped_gemm", None, "bf16", got[0], "measured", "aiconfigurator-core-0.12",
                                  got[1], weight_precision=storage))
        for variant, fn in (("mla", mla_decode_curve), ("gqa", gqa_decode_curve)):
            got = fn(data, system, pk)
            if got:
                kern.append(curve(acc, "decode_attention", variant, "bf16", got[0], "measured",
                                  "aiconfigurator-core-0.12", got[1]))
        for variant, fn in (("mla", mla_prefill_curve), ("gqa", gqa_prefill_curve)):
            got = fn(data, system, pk)
            if got:
                kern.append(curve(acc, "prefill_attention", variant, "bf16", got[0], "measured",
                                  "aiconfigurator-core-0.12", got[1]))
        alpha, f, note = all_reduce_scale_up(data, system, pk)
        coll.append(collective(acc, "all_reduce", "scale_up", alpha, f, "measured", "aiconfigurator-core-0.12", note))
        for scope, lat, f, note in all_to_all_curves(data, system, pk):
            coll.append(collective(acc, "all_to_all", scope, lat, f, "measured", "aiconfigurator-core-0.12", note))
    for c in kern:
        if "weight_precision" not in c:  # weight-only kernels are facts about Hopper's Triton MXFP4 path: not scaled
            by_id[(c["accelerator"], c["op"], c.get("variant"), c["precision"])] = c
    colls = {(c["accelerator"], c["op"], c["scope"]): c for c in coll}

    # Blackwell chips without multi-node DeepEP tables: scale-out all-to-all from H100's (same RDMA NIC path).
    h100_out = colls[("h100-sxm", "all_to_all", "scale_out")]
    for acc in ("b200", "b300", "gb200", "gb300"):
        f = min(1.0, h100_out["bandwidth_fraction"])
        coll.append(collective(acc, "all_to_all", "scale_out", h100_out["latency_us"], f, "assumption",
                               "aiconfigurator-core-0.12",
                               "no multi-node DeepEP table for this system: alpha per EP and bandwidth fraction taken "
                               "from the H100 fit (DeepEP low latency over ConnectX RDMA; the alpha is the RDMA round "
                               "trip, the fraction applies to this chip's own NIC bandwidth)"))

    k8, c8 = h800_curves(data, peaks)
    kern += k8
    kern.append(h800_grouped_gemm(by_id[("h100-sxm", "grouped_gemm", None, "fp8")], peaks["h800-sxm"],
                                  routing_skew(data, "h100_sxm")))
    coll += c8
    coll += h800_collectives(peaks, colls[("h100-sxm", "all_to_all", "scale_up")]["latency_us"],
                             h100_out["bandwidth_fraction"])
    h100_mla = by_id[("h100-sxm", "decode_attention", "mla", "bf16")]
    fm = flashmla_fraction(peaks["h800-sxm"])
    kern.append(curve("h800-sxm", "decode_attention", "mla", "bf16", h100_mla["points"], "assumption",
                      "flashmla-readme",
                      f"the AIConfigurator H100 MLA decode curve (same SM90 silicon, same 3.35 TB/s HBM3); FlashMLA's "
                      f"published 3,000 GB/s memory-bound and 660 TFLOPS compute-bound on H800 imply {fm:.2f} of the "
                      f"roofline at large batch for 128 heads and bf16 KV, vs {h100_mla['points'][-1][1]:.2f} at the "
                      f"H100 curve's largest x"))

    # AMD and Gaudi: reference NVIDIA curve scaled by the MAMF ratio, unless AMD published the chip's own table.
    for acc, (ref, ratio, why) in COMPUTE_SCALED.items():
        pk = peaks[acc]
        for (racc, op, variant, prec), c in list(by_id.items()):
            if racc != ref or prec not in pk["tflops"]:
                continue
            sibling = AMD_GEMM_SAME_DIE.get(acc)
            if op == "gemm" and (acc, prec) in AITER_GEMM_TABLES:
                source, path = AITER_GEMM_TABLES[(acc, prec)]
                points, note, floor = aiter_gemm_curve(path, pk, prec)
                kern.append(curve(acc, op, variant, prec, points, "measured", source, note, floor_us=floor))
            elif op == "grouped_gemm" and acc == AITER_MOE_CHIP and aiter_moe_curve(AITER_MOE_TABLE, pk, prec):
                points, note = aiter_moe_curve(AITER_MOE_TABLE, pk, prec)
                kern.append(curve(acc, op, variant, prec, points, "measured", "rocm-aiter-tuned-dsv3", note))
            elif op == "gemm" and (acc, prec) in AMD_GEMM_TABLES:
                source, path = AMD_GEMM_TABLES[(acc, prec)]
                points, note, floor = amd_gemm_curve(path, pk, prec)
                kern.append(curve(acc, op, variant, prec, points, "measured", source, note, floor_us=floor))
            elif op == "gemm" and sibling and (sibling[0], prec) in AMD_GEMM_TABLES:
                sib, sib_ratio, sib_why = sibling
                source, path = AMD_GEMM_TABLES[(sib, prec)]
                sib_points, _, floor = amd_gemm_curve(path, peaks[sib], prec)
                kern.append(curve(acc, op, variant, prec, same_die_gemm_curve(sib_points, sib_ratio, pk, prec),
                                  "estimate", source, floor_us=floor, measured_on=sib, note=
                                  f"{sib}'s measured hipBLASLt curve ({path.name}; same CDNA3 die, 304 CUs, same "
                                  f"peak and library) with its compute-bound part x {sib_ratio:.3f} for the lower "
                                  f"clock a 750 W {acc} holds under compute-bound load ({sib_why}); the factor "
                                  f"blends in with the shape's compute share at {acc}'s own ridge, memory-bound "
                                  f"shapes keep {sib}'s fraction of the roofline (bytes at {acc}'s own bandwidth); "
                                  f"floor {floor:.1f} us as {sib}'s"))
            elif op in ("gemm", "grouped_gemm", "prefill_attention"):
                kern.append(curve(acc, op, variant, prec, scaled_compute(c["points"], ratio, op, pk, prec),
                                  "assumption", "mle-mamf", floor_us=c.get("floor_us"), note=
                                  f"{ref} curve with its compute-bound part x {ratio:.3f} ({why}; the factor blends in "
                                  f"with the shape's compute share, memory-bound small shapes keep {ref}'s fraction); "
                                  f"no published {acc} kernel table at these shapes was found"))
    # Class fallbacks.
    for cls, (g_r, d_r, p_r) in CLASS_RATIO.items():
        for (racc, op, variant, prec), c in list(by_id.items()):
            ref = "b200" if prec == "fp4" else "h100-sxm"
            if racc != ref:
                continue
            ratio = {"gemm": g_r, "grouped_gemm": g_r, "decode_attention": d_r, "prefill_attention": p_r}[op]
            why = ("the measured curve itself" if cls == "gpu" else
                   f"x {ratio:.3f} = assumptions.yaml {cls} / gpu class constant")
            kern.append(curve(cls, op, variant, prec, scaled(c["points"], ratio), "assumption",
                              "aiconfigurator-core-0.12", floor_us=c.get("floor_us"), note=
                              f"chip-class fallback for any {cls} accelerator without its own curve: {ref} {op} curve, "
                              f"{why}"))
            if prec == "fp8" and op in ("gemm", "grouped_gemm"):
                kern.append(curve(cls, op, variant, "int8", scaled(c["points"], ratio), "assumption",
                                  "aiconfigurator-core-0.12", floor_us=c.get("floor_us"), note=
                                  f"chip-class fallback for INT8 math: the {cls} FP8 curve (same byte width and, on "
                                  f"the chips listed, the same peak rate)"))
    coll += class_collectives(colls)
    return kern, coll


def flashmla_fraction(p) -> float:
    per_tok_bytes = (MLA_KV + MLA_ROPE) * 2
    per_tok_flops = 2 * MLA_HEADS * (MLA_KV + MLA_ROPE + MLA_KV)
    achieved = max(per_tok_bytes / (FLASHMLA["gb_s"] * 1e9), per_tok_flops / (FLASHMLA["tflops"] * 1e12))
    ideal = max(per_tok_bytes / p["bw"], per_tok_flops / p["tflops"]["bf16"])
    return ideal / achieved


def class_collectives(colls) -> list[dict]:
    out = []
    h_ar = colls[("h100-sxm", "all_reduce", "scale_up")]
    h_up = colls[("h100-sxm", "all_to_all", "scale_up")]
    h_out = colls[("h100-sxm", "all_to_all", "scale_out")]
    # Scale-out all-reduce is not in any table: ring/tree over RDMA ~ one intranode all-reduce plus the RDMA round
    # trip fitted from DeepEP per doubling of nodes.
    rdma = h_out["latency_us"][0][1]
    intra = h_ar["latency_us"][-1][1]
    ar_out = [(16, round(intra + rdma, 1)), (64, round(intra + 2 * rdma, 1)), (256, round(intra + 3 * rdma, 1))]
    for acc in ("gpu", "h100-sxm", "h200-sxm", "b200", "b300", "gb200", "gb300", "h800-sxm"):
        out.append(collective(acc, "all_reduce", "scale_out", ar_out, h_out["bandwidth_fraction"], "assumption",
                              "aiconfigurator-core-0.12",
                              f"no measured multi-node all-reduce table: alpha = the H100 8-GPU all-reduce floor "
                              f"({intra:.0f} us) + the DeepEP RDMA intercept ({rdma:.0f} us at EP16) per log4 of the "
                              f"node count (tree); bandwidth fraction = the H100 DeepEP scale-out fit"))
    out.append(collective("gpu", "all_reduce", "scale_up", h_ar["latency_us"], h_ar["bandwidth_fraction"],
                          "assumption", "aiconfigurator-core-0.12",
                          "gpu-class fallback (AMD, Intel, H20): the H100 NVLink all-reduce fit"))
    out.append(collective("gpu", "all_to_all", "scale_up", h_up["latency_us"], h_up["bandwidth_fraction"],
                          "assumption", "aiconfigurator-core-0.12",
                          "gpu-class fallback: the H100 DeepEP single-node fit"))
    out.append(collective("gpu", "all_to_all", "scale_out", h_out["latency_us"], h_out["bandwidth_fraction"],
                          "assumption", "aiconfigurator-core-0.12",
                          "gpu-class fallback: the H100 DeepEP multi-node fit"))
    for acc in ("mi300x", "mi325x", "mi355x"):
        out.append(collective(acc, "all_reduce", "scale_up", h_ar["latency_us"], 0.36, "estimate", "rccl-tests-mi300x",
                              "bandwidth: RCCL all_reduce_perf on 8x MI300X reaches 161 GB/s bus bandwidth at 8 MiB of "
                              "the 448 GB/s XGMI per direction = 0.36 (measured at a mid-size message, so a lower "
                              "bound for large ones; taken for MI325X/MI355X too); alpha: H100 NCCL fit (assumption)"))
    # Other classes: no public per-chip collective measurements found; alpha is the statement of what the link is.
    for cls, up_alpha, out_alpha, f, why in (
        ("tpu", [(8, 3.0), (64, 10.0), (256, 20.0)], [(16, 40.0), (64, 60.0), (256, 80.0)], 0.7,
         "ICI torus: collectives are XLA-compiled ring steps over direct chip-to-chip links, no switch; alpha grows "
         "with the ring length (hops) of the torus axis; data-center network (DCN) across slices is slower to start "
         "than NVIDIA's RDMA path. Inside a slice, Llama 3.1 70B on 16 TPU v5e at batch 8 fits its 160 all-reduces "
         "and its weight stream at 85% of HBM peak into a 6.3 ms step (jax-llm-examples): under ~5 us each at 16 "
         "chips, so alpha starts at 3 us"),
        ("dataflow", [(8, 15.0), (16, 20.0)], [(32, 40.0), (64, 60.0)], 0.7,
         "RDU peer-to-peer links inside a SambaRack; nothing published"),
        ("sram", [(8, 3.0), (64, 6.0), (576, 12.0)], [(64, 6.0), (576, 12.0)], 0.8,
         "statically scheduled chip-to-chip links with no runtime handshake; Groq's scale-out uses the same links"),
        ("wafer", [(1, 1.0)], [(2, 30.0), (16, 60.0)], 0.7,
         "one wafer is its own scale-up domain (on-wafer fabric); wafers talk over 100 GbE (SwarmX)"),
    ):
        for op in ("all_reduce", "all_to_all"):
            out.append(collective(cls, op, "scale_up", up_alpha, f, "assumption", "aiconfigurator-core-0.12",
                                  f"{cls}-class fallback, no public measurement found: {why}; values are placeholders "
                                  f"of the right order (GPU NVLink all-reduce floors are "
                                  f"{h_ar['latency_us'][0][1]:.0f}-{h_ar['latency_us'][-1][1]:.0f} us)"))
            out.append(collective(cls, op, "scale_out", out_alpha, f, "assumption", "aiconfigurator-core-0.12",
                                  f"{cls}-class fallback, no public measurement found: {why}"))
    return out


# --- output ------------------------------------------------------------------------------------------------------
def fmt_num(v: float) -> str:
    if float(v).is_integer():
        return str(int(v))
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 1:
        return f"{v:.3g}"
    return f"{v:.3g}"


def fmt_points(points) -> str:
    return "[" + ", ".join(f"[{fmt_num(x)}, {fmt_num(round(y, 3) if y >= 0.001 else 0.001)}]" for x, y in points) + "]"


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', "'") + '"'


def dump(kern: list[dict], coll: list[dict]) -> str:
    lines = [
        "# Shape-dependent kernel efficiency and alpha-beta collectives (contract: SCHEMA.md section 1).",
        "# GENERATED by tools/derive_kernel_curves.py from NVIDIA AIConfigurator's measured op tables, the",
        "# published DeepGEMM / DeepEP / FlashMLA / MAMF tables, AMD's MLPerf v5.1 hipBLASLt table and AITER's",
        "# tuned gfx950 DeepSeek tables (tools/data);",
        "# do not edit by hand, re-run the script.",
        "# fraction = roofline time at this catalog's peaks / measured time (<= 1). A collective costs",
        "# alpha(group) + bytes sent per chip over that scope / (link GB/s per direction x bandwidth_fraction).",
        "sources:",
    ]
    for sid, s in SOURCES.items():
        lines += [f"  {sid}:", f"    title: {quote(s['title'])}", f"    url: {s['url']}",
                  f"    accessed: {s.get('accessed', ACCESSED)}"]
    lines.append("kernel_curves:")
    for c in kern:
        lines.append(f"  - id: {c['id']}")
        for key in ("accelerator", "op", "variant", "precision", "weight_precision", "floor_us",
                    "kv_elements_per_token", "measured_on"):
            if key in c:
                lines.append(f"    {key}: {c[key]}")
        lines += [f"    x: {quote(c['x'])}", f"    points: {fmt_points(c['points'])}", f"    kind: {c['kind']}",
                  f"    source: {c['source']}", f"    note: {quote(c['note'])}"]
    lines.append("collective_curves:")
    for c in coll:
        lat = "[" + ", ".join(f"[{int(g)}, {fmt_num(round(max(a, 0.5), 1))}]" for g, a in c["latency_us"]) + "]"
        lines += [f"  - id: {c['id']}", f"    accelerator: {c['accelerator']}", f"    op: {c['op']}",
                  f"    scope: {c['scope']}", f"    latency_us: {lat}",
                  f"    bandwidth_fraction: {round(c['bandwidth_fraction'], 3)}", f"    kind: {c['kind']}",
                  f"    source: {c['source']}", f"    note: {quote(c['note'])}"]
    return "\n".join(lines) + "\n"


def check(text: str) -> None:
    """The SCHEMA rules this script can check on its own (the catalog loader checks them all)."""
    doc = yaml.safe_load(text)
    ids = set()
    for c in doc["kernel_curves"] + doc["collective_curves"]:
        if c["id"] in ids:
            raise SystemExit(f"duplicate id {c['id']}")
        ids.add(c["id"])
        if c["source"] not in doc["sources"]:
            raise SystemExit(f"{c['id']}: unknown source {c['source']}")
    for c in doc["kernel_curves"]:
        xs = [p[0] for p in c["points"]]
        if any(b <= a for a, b in zip(xs, xs[1:], strict=False)) or xs[0] <= 0:
            raise SystemExit(f"{c['id']}: x not strictly increasing and > 0: {xs}")
        if not all(0 < p[1] <= 1 for p in c["points"]):
            raise SystemExit(f"{c['id']}: fraction outside (0, 1]: {c['points']}")
    for c in doc["collective_curves"]:
        gs = [p[0] for p in c["latency_us"]]
        if any(b <= a for a, b in zip(gs, gs[1:], strict=False)) or not 0 < c["bandwidth_fraction"] <= 1:
            raise SystemExit(f"{c['id']}: bad latency_us or bandwidth_fraction")


def summary(kern, coll) -> str:
    rows = ["| curve | small x | mid x | large x |", "|---|---|---|---|"]
    for c in kern:
        if c["accelerator"] in ("tpu", "dataflow", "sram", "wafer") or c["precision"] == "int8":
            continue
        p = c["points"]
        mid = p[len(p) // 2]
        rows.append(f"| {c['id']} | {fmt_num(p[0][0])}: {p[0][1]:.2f} | {fmt_num(mid[0])}: {mid[1]:.2f} | "
                    f"{fmt_num(p[-1][0])}: {p[-1][1]:.2f} |")
    rows += ["", "| collective | alpha us by group | bandwidth fraction | kind |", "|---|---|---|---|"]
    for c in coll:
        rows.append(f"| {c['id']} | {', '.join(f'{g}: {a:.0f}' for g, a in c['latency_us'])} | "
                    f"{c['bandwidth_fraction']:.2f} | {c['kind']} |")
    return "\n".join(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(ROOT / "hardware_catalog" / "kernels.yaml"))
    ap.add_argument("--data", default=None, help="aiconfigurator_core/systems/data (default: the installed wheel's)")
    ap.add_argument("--print", action="store_true", help="print a summary table")
    args = ap.parse_args(argv)
    data = Path(args.data) if args.data else aic_data_root()
    kern, coll = derive(data, load_peaks())
    text = dump(kern, coll)
    check(text)
    Path(args.out).write_text(text)
    print(f"wrote {args.out}: {len(kern)} kernel curves, {len(coll)} collective curves", file=sys.stderr)
    if args.print:
        print(summary(kern, coll))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
