"""Typed, frozen records for everything the catalog holds.

The YAML files in ``hardware_catalog/`` are validated into these records and nothing else: a calculator never
sees a raw dict. Units live in field names (``capacity_gb``, ``bandwidth_gb_s``, ``power_w``); the ``*_bytes``,
``*_bytes_s`` and ``*_flop_s`` properties convert to SI once, at this boundary, so the formulas work in bytes,
bytes/s, FLOP/s and seconds.

Every number that is a fact about hardware or software is a :class:`Sourced` value: the number, the id of the
source it came from (a key of ``sources``), and what kind of number it is. A number nobody could find is an
``assumption`` and must say why (``note``).

Conventions: 1 GB = 1e9 bytes, 1 TB/s = 1e12 bytes/s, TFLOP/s = 1e12 FLOP/s (dense, never sparse), link
bandwidths are per direction.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    Strict,
    StringConstraints,
    field_validator,
    model_validator,
)

from calculators.memo import Memo

GB = 1e9
TERA = 1e12

Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class Record(BaseModel):
    """Base of every catalog record: immutable, strict types, unknown fields rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


Kind = Literal["vendor-spec", "measured", "third-party", "estimate", "assumption"]
"""What kind of number a catalog value is."""


class Source(Record):
    """Where numbers came from: a document (and section) and the date it was read."""

    title: Text
    url: Text | None = None
    section: Text | None = None
    accessed: _dt.date


class Sourced(Record):
    """One number with its provenance.

    ``low``/``high`` give the plausible range of an assumption (used by the sensitivity chart); ``note`` says how a
    number was derived, what it assumes or why it had to be assumed.
    """

    value: float
    kind: Kind
    source: Id | None = None
    note: Text | None = None
    low: float | None = None
    high: float | None = None

    @field_validator("value", "low", "high")
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError("must be a finite number")
        return v

    @model_validator(mode="after")
    def _provenance(self) -> Sourced:
        if self.source is None and self.kind != "assumption":
            raise ValueError(f"a '{self.kind}' number needs a 'source' (only an 'assumption' may go without)")
        if self.kind == "assumption" and self.note is None:
            raise ValueError("an 'assumption' needs a 'note' saying why it was assumed")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"'low' ({self.low}) must not exceed 'high' ({self.high})")
        return self


class Positive(Sourced):
    """A sourced number that must be > 0 (a capacity, a bandwidth, a power, a price)."""

    @field_validator("value")
    @classmethod
    def _positive(cls, v: float) -> float:
        if not v > 0:
            raise ValueError("must be > 0")
        return v


class Fraction(Sourced):
    """A sourced number in (0, 1] (an efficiency, a usable fraction, a probability)."""

    @field_validator("value")
    @classmethod
    def _fraction(cls, v: float) -> float:
        if not 0 < v <= 1:
            raise ValueError("must be in (0, 1]")
        return v


class Probability(Sourced):
    """A sourced number in [0, 1] (a hit rate, a share)."""

    @field_validator("value")
    @classmethod
    def _probability(cls, v: float) -> float:
        if not 0 <= v <= 1:
            raise ValueError("must be in [0, 1]")
        return v


class NonNegative(Sourced):
    """A sourced number that must be >= 0 (a latency, a hit rate)."""

    @field_validator("value")
    @classmethod
    def _non_negative(cls, v: float) -> float:
        if not v >= 0:
            raise ValueError("must be >= 0")
        return v


# --- precisions ---------------------------------------------------------------------------------------------------


class Precision(Record):
    """A number format for weights, KV cache or math, and its storage cost including block scales."""

    id: Id
    name: Text
    bytes_per_element: Positive


# --- accelerators and systems -------------------------------------------------------------------------------------


class MemoryTier(Record):
    """One level of a chip's memory: on-chip SRAM, HBM, or DDR/host memory."""

    tier: Literal["sram", "hbm", "ddr"]
    capacity_gb: Positive
    bandwidth_gb_s: Positive

    @property
    def capacity_bytes(self) -> float:
        return self.capacity_gb.value * GB

    @property
    def bandwidth_bytes_s(self) -> float:
        return self.bandwidth_gb_s.value * GB


class Accelerator(Record):
    """One chip (or wafer) and how it is packaged and priced."""

    id: Id
    vendor: Text
    name: Text
    chip_class: Id
    system: Id
    memory_tiers: tuple[MemoryTier, ...] = Field(strict=False)
    peak_tflops: dict[Id, Positive] = Field(min_length=1)
    scale_up_gb_s_per_direction: Positive
    scale_out_gb_s_per_direction: Positive
    tdp_w: Positive
    price_usd: Positive | None = None
    rental_usd_per_hour: Positive | None = None

    @field_validator("memory_tiers")
    @classmethod
    def _tiers_unique(cls, tiers: tuple[MemoryTier, ...]) -> tuple[MemoryTier, ...]:
        if not tiers:
            raise ValueError("needs at least one memory tier")
        seen = [t.tier for t in tiers]
        if len(set(seen)) != len(seen):
            raise ValueError(f"each tier may appear once (got {seen})")
        return tiers

    @property
    def precisions(self) -> tuple[str, ...]:
        return tuple(self.peak_tflops)

    def peak_flop_s(self, precision: str) -> float:
        return self.peak_tflops[precision].value * TERA

    @property
    def memory_capacity_bytes(self) -> float:
        return sum(t.capacity_bytes for t in self.memory_tiers)


class System(Record):
    """The node and rack a chip ships in."""

    id: Id
    name: Text
    chips_per_node: Positive
    node_power_max_w: Positive
    node_power_typical_w: Positive | None = None
    nodes_per_rack: Positive
    rack_power_kw: Positive
    cooling: Literal["air", "liquid"]
    scale_up_domain_chips: Positive
    price_usd: Positive | None = None
    # Optional, added for the replica shapes vendors ship (absent = no shipped limit known: any replica size the
    # layouts allow is tried, and sizes are labelled "assumed"): the most chips one replica (one copy of the model)
    # spans in a deployment the vendor ships or has shown publicly (SambaRack: 16, one rack; NVL72: 72, one NVLink
    # domain; 8-GPU nodes: the largest expert-parallel deployment published). More throughput = more replicas.
    max_replica_chips: Positive | None = None


# --- models -------------------------------------------------------------------------------------------------------


class Attention(Record):
    """Attention block shape. ``mla`` uses the latent fields; ``gqa`` (which covers MHA and MQA) uses kv_heads."""

    type: Literal["mla", "gqa"]
    heads: int = Field(gt=0)
    head_dim: int = Field(gt=0)
    kv_heads: int | None = Field(default=None, gt=0)
    kv_lora_rank: int | None = Field(default=None, gt=0)
    q_lora_rank: int | None = Field(default=None, gt=0)
    qk_rope_head_dim: int | None = Field(default=None, gt=0)
    qk_nope_head_dim: int | None = Field(default=None, gt=0)
    v_head_dim: int | None = Field(default=None, gt=0)
    sliding_window: int | None = Field(default=None, gt=0)
    sliding_window_layer_fraction: float | None = Field(default=None, ge=0, le=1)

    @model_validator(mode="after")
    def _shape(self) -> Attention:
        if self.type == "mla":
            missing = [
                f
                for f in ("kv_lora_rank", "qk_rope_head_dim", "qk_nope_head_dim", "v_head_dim")
                if getattr(self, f) is None
            ]
            if missing:
                raise ValueError(f"an 'mla' attention needs {', '.join(missing)}")
        elif self.kv_heads is None:
            raise ValueError("a 'gqa' attention needs 'kv_heads'")
        return self


class MoE(Record):
    """Mixture-of-experts feed-forward shape."""

    routed_experts: int = Field(gt=0)
    active_experts: int = Field(gt=0)
    shared_experts: int = Field(ge=0)
    expert_intermediate_size: int = Field(gt=0)

    @model_validator(mode="after")
    def _active_le_routed(self) -> MoE:
        if self.active_experts > self.routed_experts:
            raise ValueError(
                f"'active_experts' ({self.active_experts}) exceeds 'routed_experts' ({self.routed_experts})"
            )
        return self


class MTP(Record):
    """Multi-token-prediction modules shipped with the model."""

    modules: int = Field(gt=0)
    params_b: Positive


class Model(Record):
    """A language model described by its architecture; parameter totals are derived (see ``memory.py``)."""

    id: Id
    name: Text
    source: Id
    layers: int = Field(gt=0)
    dense_layers: int = Field(ge=0)
    hidden_size: int = Field(gt=0)
    intermediate_size: int = Field(gt=0)
    vocab_size: int = Field(gt=0)
    tie_embeddings: bool = False
    attention: Attention
    moe: MoE | None = None
    mtp: MTP | None = None
    native_precision: Id
    max_context_tokens: int = Field(gt=0)
    # Optional, added for the best-precision choice (absent = any precision a chip supports): the precisions this
    # model is published or served in (a released checkpoint or a public serving recipe), each with its source.
    serving_precisions: tuple[SourcedChoice, ...] | None = Field(default=None, strict=False)

    @model_validator(mode="after")
    def _layers(self) -> Model:
        if self.dense_layers > self.layers:
            raise ValueError(f"'dense_layers' ({self.dense_layers}) exceeds 'layers' ({self.layers})")
        if self.moe is None and self.dense_layers != self.layers:
            raise ValueError("a model without 'moe' must have dense_layers == layers")
        return self


# --- serving assumptions --------------------------------------------------------------------------------------------


class ChipClass(Record):
    """Achievable fractions and defaults shared by chips of one kind (GPU, dataflow RDU, SRAM-only, wafer)."""

    id: Id
    name: Text
    memory_bandwidth_efficiency: Fraction
    compute_efficiency_decode: Fraction
    compute_efficiency_prefill: Fraction
    usable_memory_fraction: Fraction
    default_engine: Id
    validation_error_fraction: Positive
    # Optional, added for the performance model (absent = 1, links run at their rated per-direction bandwidth):
    # achieved fraction of link bandwidth in expert-parallel all-to-all and tensor-parallel collectives.
    interconnect_efficiency: Fraction | None = None


PREFILL_SCHEDULING = ("decode-first", "prefill-first")
"""The engine scheduling policies the serving model knows (:attr:`Engine.prefill_scheduling`)."""
FUSION = ("per-kernel", "whole-step")
"""What an engine's fixed cost per layer is paid on (:attr:`Engine.fusion`)."""
LAYOUT_KINDS = ("tp", "tp-ep", "dp-tp", "dp-ep", "pipeline")
"""The kinds of parallel layout an engine may run (:attr:`Engine.layout_kinds`, ``calculators.layout.Layout.kind``):
``tp`` attention and experts (or the dense FFN) tensor-parallel; ``tp-ep`` tensor-parallel attention with
expert-parallel experts; ``dp-tp`` data-parallel attention with tensor-parallel experts or FFN; ``dp-ep``
data-parallel attention with expert-parallel experts; ``pipeline`` more than one pipeline stage."""


class SourcedChoice(Record):
    """A non-numeric default (a precision id, or a keyword such as ``native``) with its provenance, under the same
    rules as :class:`Sourced`."""

    value: Id
    kind: Kind
    source: Id | None = None
    note: Text | None = None

    @model_validator(mode="after")
    def _provenance(self) -> SourcedChoice:
        if self.source is None and self.kind != "assumption":
            raise ValueError(f"a '{self.kind}' choice needs a 'source' (only an 'assumption' may go without)")
        if self.kind == "assumption" and self.note is None:
            raise ValueError("an 'assumption' needs a 'note' saying why it was assumed")
        return self


class Engine(Record):
    """A class of serving software, characterised by its fixed cost per layer per decode step (stated for a reference
    DeepSeek-style layer of 24 kernels; other layers pay in proportion to their kernels, see
    ``calculators.model.step.layer_equivalents``)."""

    id: Id
    name: Text
    fixed_latency_us_per_layer: NonNegative
    # Optional, added for the performance model (absent = weights stored at the compute precision):
    # the precision the engine keeps weights in, a precision id or ``native`` (the model's checkpoint precision
    # when it is narrower than the compute precision, upcast on chip). Bytes for capacity and bandwidth use it,
    # FLOPs the compute precision.
    weight_storage_precision: SourcedChoice | None = None
    # Optional, second-generation model (absent = 0 / the serving default):
    # host and scheduler work per decode step that the engine does not hide behind the accelerator (Python
    # scheduling, sampling, detokenisation): a fixed part per step and a part per running sequence.
    host_overhead_us_per_step: NonNegative | None = None
    host_overhead_us_per_sequence: NonNegative | None = None
    # the largest prefill chunk (tokens) the engine schedules beside decode in one step (chunked prefill)
    prefill_chunk_tokens: Positive | None = None
    # how the scheduler orders waiting prompts against running decodes (absent = ``decode-first``): ``decode-first``
    # mixes prompt chunks into the decode steps (TensorRT-LLM in-flight batching, vLLM with chunked prefill);
    # ``prefill-first`` prefills every waiting prompt before the next decode step (SGLang's default, vLLM V0
    # without chunked prefill, static batching), which turns a closed loop of like requests into cohorts
    # (calculators.serving)
    prefill_scheduling: SourcedChoice | None = None
    # what the engine's fixed cost per layer is paid on (absent = ``per-kernel``): ``per-kernel``, every kernel a
    # layer launches (calculators.model.step.layer_equivalents); ``whole-step``, a compiler that turns the decode
    # step into one program (XLA) fuses each dense block's GEMMs and elementwise work into the weight stream, so
    # only a MoE layer's data-dependent routing (router, top-k, dispatch, grouped GEMMs, combine) pays per op
    fusion: SourcedChoice | None = None
    # a whole-step engine's cost per expert group: each MoE layer's grouped GEMMs visit every expert a chip holds
    # tokens for as its own group (ragged dot), at this cost each; engines with grouped-GEMM kernel curves have it in
    # the curves' small-group fractions instead (absent = 0)
    moe_group_overhead_us: NonNegative | None = None
    # a factor on the kernel curves: this engine's kernels reach this share of what the curve's reference stack
    # measured on the same chip (1 = the curves as measured; < 1 for a software stack not yet as tuned)
    kernel_efficiency_factor: Fraction | None = None
    # the accelerators whose serving software this engine is by default (a vendor's stack); others take their chip
    # class's default engine
    default_for: tuple[Id, ...] = Field(default=(), strict=False)
    # the MTP draft depth the engine's published recipes run (absent = 0): a prediction that names no depth uses it,
    # and a search tries it beside none (calculators.search.mtp_candidates)
    mtp_layers_default: NonNegative | None = None

    @field_validator("mtp_layers_default")
    @classmethod
    def _whole_mtp_depth(cls, v):
        if v is not None and v.value != int(v.value):
            raise ValueError(f"must be a whole number of draft tokens (got {v.value})")
        return v
    # the KV cache format the engine serves with by default (None = the catalog's serving default, BF16)
    kv_cache_precision: SourcedChoice | None = None
    # the engine's prefill efficiency (achieved fraction of peak FLOP/s, end to end) where it differs from its chip
    # class's: a software stack's prefill kernels mature at their own pace
    compute_efficiency_prefill: Fraction | None = None
    # the layout kinds the engine runs (LAYOUT_KINDS), each with its source; a search picks only among them and an
    # explicit layout of another kind is refused (absent = every kind, for a user's engine that does not say)
    layout_kinds: tuple[SourcedChoice, ...] | None = Field(default=None, strict=False)

    @field_validator("layout_kinds")
    @classmethod
    def _known_layout_kinds(cls, v):
        if v is None:
            return v
        kinds = [choice.value for choice in v]
        if not kinds:
            raise ValueError("must name at least one layout kind")
        unknown = [k for k in kinds if k not in LAYOUT_KINDS]
        if unknown:
            raise ValueError(f"layout kinds must be among {', '.join(LAYOUT_KINDS)} (got {unknown[0]!r})")
        if len(set(kinds)) != len(kinds):
            raise ValueError(f"each layout kind may appear once (got {', '.join(kinds)})")
        return v

    @property
    def supported_layout_kinds(self) -> tuple[str, ...]:
        """The layout kinds this engine runs, in LAYOUT_KINDS order (every kind when the engine does not say)."""
        if self.layout_kinds is None:
            return LAYOUT_KINDS
        named = {choice.value for choice in self.layout_kinds}
        return tuple(k for k in LAYOUT_KINDS if k in named)


    @model_validator(mode="after")
    def _known_scheduling(self) -> Engine:
        if self.prefill_scheduling is not None and self.prefill_scheduling.value not in PREFILL_SCHEDULING:
            raise ValueError(f"'prefill_scheduling' must be one of {', '.join(PREFILL_SCHEDULING)} "
                             f"(got {self.prefill_scheduling.value!r})")
        if self.fusion is not None and self.fusion.value not in FUSION:
            raise ValueError(f"'fusion' must be one of {', '.join(FUSION)} (got {self.fusion.value!r})")
        return self


class KernelLaunches(Record):
    """How serving engines split a decoder layer into kernels (launches, and of those the GEMM calls that each pay a
    GEMM curve's per-call floor), by block: facts about today's engines' fusion, not about one chip."""

    mla_attention: Positive
    gqa_attention: Positive
    dense_ffn: Positive
    moe_ffn: Positive
    shared_expert: Positive
    mla_projection_gemms: Positive
    gqa_projection_gemms: Positive
    ffn_gemms: Positive


class Serving(Record):
    """Scenario defaults that are not facts about one chip: every one sourced and overridable."""

    mtp_acceptance: tuple[Fraction, ...] = Field(strict=False)
    mtp_step_inflation: tuple[Positive, ...] = Field(strict=False)

    @model_validator(mode="after")
    def _mtp_lengths(self) -> Serving:
        if not self.mtp_acceptance or len(self.mtp_acceptance) != len(self.mtp_step_inflation):
            raise ValueError(
                "'mtp_acceptance' and 'mtp_step_inflation' need one entry per draft token, the same number of each"
            )
        return self
    pue: Positive
    electricity_usd_per_kwh: Positive
    lifetime_years: Positive
    prefill_cache_hit_rate: Probability
    power_utilisation: Fraction
    # Optional (absent: every layer counts as one reference layer and GEMMs pay no per-call floor count):
    kernel_launches: KernelLaunches | None = None
    # Optional engine-independent formats and scheduling defaults (absent: the Assumptions defaults); an engine's own
    # setting (Engine.kv_cache_precision, Engine.prefill_chunk_tokens) wins over these
    kv_cache_precision: SourcedChoice | None = None
    activation_precision: SourcedChoice | None = None
    dispatch_precision: SourcedChoice | None = None
    prefill_chunk_tokens: Positive | None = None
    # the model whose token the engines' host_overhead_us_per_sequence is stated for (absent: every model pays it
    # whole); others pay in proportion to their token volume (calculators.model.step.token_volume_share)
    host_reference_model: SourcedChoice | None = None


class LengthDistribution(Record):
    """The output lengths of a benchmark dataset as a benchmark client samples it (e.g. ShareGPT under ``vllm bench
    serve``'s filter): ``output_tokens_by_quantile`` are (quantile, output tokens) pairs from quantile 0 (the
    shortest) to 1 (the longest), interpolated linearly in the quantile; ``mean_output_tokens`` the mean of the same
    sample. A burst of requests from it decodes at a shrinking batch as the short ones finish
    (:mod:`calculators.burst`), which only the distribution, not its mean, tells."""

    id: Id
    name: Text
    output_tokens_by_quantile: tuple[Pair, ...] = Field(strict=False, min_length=2)
    mean_output_tokens: float = Field(gt=0)
    sample_size: int | None = Field(default=None, gt=0)
    kind: Kind
    source: Id | None = None
    note: Text | None = None

    @field_validator("output_tokens_by_quantile")
    @classmethod
    def _quantiles(cls, v: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float], ...]:
        qs = [q for q, _ in v]
        tokens = [t for _, t in v]
        if qs[0] != 0 or qs[-1] != 1:
            raise ValueError(f"quantiles must run from 0 to 1 (got {qs[0]} .. {qs[-1]})")
        if any(b <= a for a, b in zip(qs, qs[1:], strict=False)):
            raise ValueError("quantiles must be strictly increasing")
        if any(not t >= 1 for t in tokens):
            raise ValueError("every output length must be >= 1 token")
        if any(b < a for a, b in zip(tokens, tokens[1:], strict=False)):
            raise ValueError("output lengths must not decrease with the quantile")
        return v

    @model_validator(mode="after")
    def _mean_inside(self) -> LengthDistribution:
        lo, hi = self.output_tokens_by_quantile[0][1], self.output_tokens_by_quantile[-1][1]
        if not lo <= self.mean_output_tokens <= hi:
            raise ValueError(f"'mean_output_tokens' must lie between the shortest and the longest output "
                             f"({lo} .. {hi}, got {self.mean_output_tokens})")
        return KernelCurve._provenance(self)


class ValidationPoint(Record):
    """A published measurement the model is compared with."""

    id: Id
    use: Literal["calibrate", "test"]
    source: Id
    date: _dt.date
    model: Id
    accelerator: Id
    chips: int = Field(gt=0)
    precision: Id
    concurrency: int = Field(gt=0)
    context_tokens: int | None = Field(default=None, gt=0)
    mtp_layers: int = Field(default=0, ge=0)
    engine: Id | None = None
    metric: Literal[
        "per_user_tokens_per_s",
        "output_tokens_per_s_per_chip",
        "joules_per_output_token",
        "input_tokens_per_s_per_chip",
        "time_to_first_token_s",
        "time_per_output_token_ms",
        "request_output_tokens_per_s",
    ]
    measured: float = Field(gt=0)
    tolerance: float = Field(gt=0, le=1)
    note: Text | None = None
    # Optional, added for the performance model (defaults keep older files valid):
    # ``saturated``: the measurement is a saturated (offline / max-throughput) run whose batch was not published;
    # ``concurrency`` is then an upper bound and the prediction takes the best fitting batch up to it.
    saturated: bool = False
    # ``power_scope``: "chip" when the published energy counts accelerators only (ML.ENERGY), else whole nodes.
    power_scope: Literal["node", "chip"] = "node"
    # ``attention_precision``: the attention projections ran at this precision while the rest ran at ``precision``
    # (SGLang GB200: FP8 attention + NVFP4 MoE).
    attention_precision: Id | None = None
    # ``cache_hit_rate``: share of input tokens served from a prefix cache, for the prefill metric (None = the
    # serving default).
    cache_hit_rate: float | None = Field(default=None, ge=0, lt=1)
    # The workload of an end-to-end serving measurement: mean prompt and output lengths, and how it was served
    # (``decode``: a pure decode step at ``context_tokens``; ``aggregated``: prefill and decode share the chips;
    # ``disaggregated``: a separate prefill pool of ``prefill_chips``, not counted in ``chips``).
    input_tokens: int | None = Field(default=None, gt=0)
    output_tokens: int | None = Field(default=None, gt=0)
    serving: Literal["decode", "aggregated", "disaggregated"] = "decode"
    prefill_chips: int | None = Field(default=None, gt=0)
    # ``prompts``: the requests of a closed-loop benchmark run (vllm bench serve --num-prompts with
    # --max-concurrency ``concurrency``), which sends its first ``concurrency`` requests at once: a mean time to first
    # token over the run includes that first burst (calculators.serving.closed_loop_mean_ttft_s).
    prompts: int | None = Field(default=None, gt=0)
    # ``kv_cache_precision``: the KV cache format the measured run used (FP8 KV in TensorRT-LLM's and vLLM's FP8
    # recipes), when the source says; None = the engine's default.
    kv_cache_precision: Id | None = None
    # ``layout``: the parallel layout the source says the run used (a layout label, e.g. "tp8-ep8"); None = the
    # layout the model finds best
    layout: Text | None = None
    # ``micro_batch_overlap``: False when the source says the run had two-batch overlap off (None = the default)
    micro_batch_overlap: bool | None = None
    # ``calibrates``: which number a calibrate point sets: an engine's fixed cost per layer (a batch-1 point, the
    # default), prefill efficiency, host and scheduler time per running sequence per step (a point at high
    # concurrency) or a whole-step engine's cost per expert group, all solved by tools/calibrate_engines.py; or its
    # chip class's memory bandwidth efficiency, taken from the source's own bandwidth figure (written in
    # assumptions.yaml with that source); None on a test point.
    calibrates: Literal[
        "fixed_latency_us_per_layer", "compute_efficiency_prefill", "host_overhead_us_per_sequence",
        "moe_group_overhead_us", "memory_bandwidth_efficiency",
    ] | None = None
    # ``request_output_tokens_per_s`` is a per-user speed over the whole request: output tokens / request latency
    # (prefill and queueing included), the "[w/ ctx]" figure of trtllm-bench; ``per_user_tokens_per_s`` is 1 / TPOT.

    # why the model misses this point today, in words the app and `validate` show beside it: the regime and the
    # mechanism suspected; a point that carries one is a strict expected failure in the tests until it is fixed
    miss_reason: Text | None = None
    # ``arrival``: "burst" when every request was sent at once and the published rate is total output over the whole
    # run (``vllm bench serve`` at request rate inf: ramp and drain included; ``concurrency`` is then the number of
    # requests), "steady" (the default) when it is a steady state at ``concurrency``; ``length_distribution``: the
    # id of the dataset (``datasets``) whose output lengths the burst's requests have, None for fixed lengths
    arrival: Literal["steady", "burst"] = "steady"
    length_distribution: Id | None = None

    @model_validator(mode="after")
    def _workload(self) -> ValidationPoint:
        if self.serving == "decode" and self.context_tokens is None:
            raise ValueError("a 'decode' point needs 'context_tokens'")
        if self.serving != "decode" and (self.input_tokens is None or self.output_tokens is None):
            raise ValueError(f"a '{self.serving}' point needs 'input_tokens' and 'output_tokens'")
        if self.calibrates is not None and self.use != "calibrate":
            raise ValueError("'calibrates' is only for a 'calibrate' point")
        if self.prefill_chips is not None and self.serving != "disaggregated":
            raise ValueError("'prefill_chips' applies only to 'disaggregated' serving")
        if self.length_distribution is not None and self.arrival != "burst":
            raise ValueError("'length_distribution' applies only to 'arrival: burst'")
        if self.arrival == "burst" and self.saturated:
            raise ValueError("'saturated' and 'arrival: burst' exclude each other (a burst runs the batch that fits)")
        if self.arrival == "burst" and (self.serving != "aggregated" or self.metric != "output_tokens_per_s_per_chip"):
            raise ValueError("'arrival: burst' is modelled for 'aggregated' serving and the "
                             f"'output_tokens_per_s_per_chip' metric only (got {self.serving!r}, {self.metric!r})")
        return self

    @property
    def mean_context_tokens(self) -> int:
        """The decode context: as given, else the prompt plus half the output (the mean over a sequence's life)."""
        if self.context_tokens is not None:
            return self.context_tokens
        return int(self.input_tokens + self.output_tokens / 2)


KernelOp = Literal["gemm", "grouped_gemm", "decode_attention", "prefill_attention"]


Pair = Annotated[tuple[float, float], Strict(False)]
"""An [x, y] pair as YAML writes it (a list): the pair may be a list, its two numbers stay strictly numbers."""


class KernelCurve(Record):
    """Measured achieved fraction of the peak roofline of one op class on one chip (or chip class), by shape.

    ``points`` are (x, fraction): x is the op's shape axis (gemm: tokens M; grouped_gemm: tokens per expert;
    decode_attention: KV tokens read per chip per step; prefill_attention: prompt tokens); fraction = roofline time
    at the catalog's peaks / measured time, in (0, 1]. Interpolated linearly in log2(x), clamped at the ends."""

    id: Id
    accelerator: Id
    op: KernelOp
    variant: Literal["mla", "gqa"] | None = None
    precision: Id
    # a weight-only kernel: weights stored at this narrower precision and dequantised to ``precision`` (the math)
    # inside the kernel (the Triton MXFP4 MoE on Hopper: MXFP4 weights x BF16 activations); None when stored as math
    weight_precision: Id | None = None
    x: Text
    points: tuple[Pair, ...] = Field(strict=False, min_length=1)
    # a fixed cost per kernel call (us): when given, t = calls x floor + roofline / fraction, the fraction then being
    # the asymptotic one of large shapes; when absent the fraction already holds the per-call cost at these shapes
    floor_us: float | None = Field(default=None, ge=0)
    # decode_attention only: KV elements per cached token per layer per chip in the measured shape (MLA's 576-wide
    # latent; one GQA KV head of 128, K and V = 256): another shape's KV reads are placed on x by their size
    kv_elements_per_token: int | None = Field(default=None, gt=0)
    # the chip whose measured table this curve carries when the two share one compute die and GEMM library (MI300X
    # on the MI325X table): its large shapes are then measured on the same silicon, as a chip's own table's are
    measured_on: Id | None = None
    kind: Kind
    source: Id | None = None
    note: Text | None = None

    @field_validator("points")
    @classmethod
    def _points(cls, v: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float], ...]:
        xs = [x for x, _ in v]
        if any(not x > 0 for x in xs):
            raise ValueError("every x must be > 0")
        if any(b <= a for a, b in zip(xs, xs[1:], strict=False)):
            raise ValueError("x must be strictly increasing")
        if any(not 0 < f <= 1 for _, f in v):
            raise ValueError("every fraction must be in (0, 1]")
        return v

    @model_validator(mode="after")
    def _provenance(self) -> KernelCurve:
        if self.source is None and self.kind != "assumption":
            raise ValueError(f"a '{self.kind}' curve needs a 'source' (only an 'assumption' may go without)")
        if self.kind == "assumption" and self.note is None:
            raise ValueError("an 'assumption' needs a 'note' saying why it was assumed")
        if getattr(self, "measured_on", None) is not None and self.measured_on == self.accelerator:
            raise ValueError(f"'measured_on' names another chip (got the curve's own, {self.measured_on!r}); a "
                             f"chip's own table is kind 'measured'")
        return self


class CollectiveCurve(Record):
    """Alpha-beta cost of one collective on one chip (or chip class) inside or across its scale-up domain:
    t = alpha(group) + bytes sent per chip / (link bandwidth per direction x ``bandwidth_fraction``).

    ``latency_us`` are (group size in chips, alpha in us), interpolated linearly in log2(group), clamped."""

    id: Id
    accelerator: Id
    op: Literal["all_reduce", "all_to_all"]
    scope: Literal["scale_up", "scale_out"]
    latency_us: tuple[Pair, ...] = Field(strict=False, min_length=1)
    bandwidth_fraction: float = Field(gt=0, le=1)
    kind: Kind
    source: Id | None = None
    note: Text | None = None

    @field_validator("latency_us")
    @classmethod
    def _latency(cls, v: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float], ...]:
        groups = [g for g, _ in v]
        if any(not g >= 1 for g in groups):
            raise ValueError("every group size must be >= 1")
        if any(b <= a for a, b in zip(groups, groups[1:], strict=False)):
            raise ValueError("group sizes must be strictly increasing")
        if any(not alpha >= 0 for _, alpha in v):
            raise ValueError("every latency must be >= 0")
        return v

    @model_validator(mode="after")
    def _provenance(self) -> CollectiveCurve:
        return KernelCurve._provenance(self)


class ApiPrice(Record):
    """A public list price for serving a model through an API: what the market charges, beside what the hardware
    costs. ``date`` is the day the price was read (prices change); ``output_tokens_per_s`` is the output speed per
    user the provider advertises, where it states one."""

    id: Id
    provider: Text
    model: Id
    offering: Text | None = None
    usd_per_million_input_tokens: Positive
    usd_per_million_output_tokens: Positive
    output_tokens_per_s: Positive | None = None
    date: _dt.date
    note: Text | None = None



# --- vendor claims ---------------------------------------------------------------------------------------------------

ClaimKind = Literal["per-user-speed", "throughput", "efficiency-ratio", "racks-for-target", "cost"]
"""What a claim asserts: a per-user decode speed, a total output rate, a ratio against another chip, the racks a
target needs, or a cost per million output tokens."""

RatioMetric = Literal["per_user_tokens_per_s", "output_tokens_per_s_per_chip", "joules_per_output_token"]
"""What an efficiency-ratio claim divides: per-user speed (batch 1), output per chip, or energy per output token."""

ClaimMonth = Annotated[str, StringConstraints(pattern=r"^[12][0-9]{3}(-(0[1-9]|1[0-2]))?$")]
"""A claim date known only to the year or month (``2025``, ``2025-06``): the source does not give the day."""

CLAIM_UNITS: dict[str, str] = {"per-user-speed": "tok/s/user", "throughput": "tok/s", "efficiency-ratio": "x",
                               "racks-for-target": "racks", "cost": "$/M output tokens"}


class ClaimScenario(Record):
    """The deployment a claim implies, in the calculators' terms (field names are the CLI flags).

    ``chips`` is one replica (the system the claim names); absent, the model picks the fewest chips that reach the
    claim. ``per_user_tokens_per_s`` is a speed floor (throughput claims) or a target (sizing claims) and
    ``total_output_tokens_per_s`` the total a sizing claim is for. The ``baseline_*`` fields name the side a ratio
    claim compares with; ``baseline_measurement`` a published measurement (a validation point) standing for it.
    """

    model: Id
    accelerator: Id
    precision: Id
    chips: int | None = Field(default=None, gt=0, le=1_000_000)
    concurrency: int | None = Field(default=None, gt=0, le=1_000_000)
    per_user_tokens_per_s: float | None = Field(default=None, gt=0, le=1e6, strict=False)
    total_output_tokens_per_s: float | None = Field(default=None, gt=0, le=1e12, strict=False)
    input_tokens: int = Field(default=1000, gt=0, le=10_000_000)
    output_tokens: int = Field(default=2000, gt=0, le=10_000_000)
    context_tokens: int | None = Field(default=None, gt=0, le=10_000_000)
    engine: Id | None = None
    mtp_layers: int | None = Field(default=None, ge=0, le=8)
    ratio_of: RatioMetric | None = None
    baseline_accelerator: Id | None = None
    baseline_precision: Id | None = None
    baseline_chips: int | None = Field(default=None, gt=0, le=1_000_000)
    baseline_measurement: Id | None = None


class Claim(Record):
    """A vendor's public claim, word for word, with the scenario it implies and what kind of claim it is.

    ``claimed`` is the claim's number in the unit of its kind (:data:`CLAIM_UNITS`); ``bound`` says whether the
    claim holds when the model reaches at least that number or stays at most at it. ``story`` groups claims told
    together (the landing page tells the one it names); ``date`` is the day the claim was made, or its year or month
when the source gives no day; ``note`` gives context a reader needs (where a number
    comes from, what the scenario had to assume).
    """

    id: Id
    vendor: Text
    claim: Text
    source: Id
    date: _dt.date | ClaimMonth
    kind: ClaimKind
    claimed: float = Field(gt=0, le=1e12, strict=False)
    bound: Literal["at-least", "at-most"] = "at-least"
    scenario: ClaimScenario
    story: Id | None = None
    note: Text | None = None

    @field_validator("claimed")
    @classmethod
    def _finite_claimed(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("must be a finite number")
        return v

    @model_validator(mode="after")
    def _shape(self) -> Claim:
        s = self.scenario
        if self.kind == "efficiency-ratio":
            if s.ratio_of is None:
                raise ValueError("an 'efficiency-ratio' claim needs scenario.ratio_of (what the ratio divides)")
            if s.baseline_accelerator is None and s.baseline_measurement is None:
                raise ValueError("an 'efficiency-ratio' claim needs scenario.baseline_accelerator or "
                                 "scenario.baseline_measurement (what it is compared with)")
        if self.kind == "throughput" and s.chips is None:
            raise ValueError("a 'throughput' claim needs scenario.chips (the system whose output is claimed)")
        if self.kind in ("racks-for-target", "cost") and (s.per_user_tokens_per_s is None
                                                          or s.total_output_tokens_per_s is None):
            raise ValueError(f"a '{self.kind}' claim needs scenario.per_user_tokens_per_s and "
                             "scenario.total_output_tokens_per_s (the target it is for)")
        if self.bound == "at-most" and self.kind not in ("racks-for-target", "cost"):
            raise ValueError(f"bound 'at-most' applies to racks and cost claims only (a '{self.kind}' claim is "
                             "checked as at-least)")
        return self

    @property
    def unit(self) -> str:
        return CLAIM_UNITS[self.kind]


class Catalog(Record):
    """The whole catalog after files are merged: entries keyed by id."""

    sources: dict[Id, Source] = Field(default_factory=dict)
    precisions: dict[Id, Precision] = Field(default_factory=dict)
    accelerators: dict[Id, Accelerator] = Field(default_factory=dict)
    systems: dict[Id, System] = Field(default_factory=dict)
    models: dict[Id, Model] = Field(default_factory=dict)
    chip_classes: dict[Id, ChipClass] = Field(default_factory=dict)
    engines: dict[Id, Engine] = Field(default_factory=dict)
    serving: Serving | None = None
    validation: dict[Id, ValidationPoint] = Field(default_factory=dict)
    datasets: dict[Id, LengthDistribution] = Field(default_factory=dict)
    kernel_curves: dict[Id, KernelCurve] = Field(default_factory=dict)
    collective_curves: dict[Id, CollectiveCurve] = Field(default_factory=dict)
    api_prices: dict[Id, ApiPrice] = Field(default_factory=dict)
    claims: dict[Id, Claim] = Field(default_factory=dict)

    _memo: Memo = PrivateAttr(default_factory=Memo)

    @property
    def memo(self) -> Memo:
        """What the calculators derived from this catalog (see :mod:`calculators.memo`): not a field, so it is not
        validated, dumped, compared or pickled, and a copy (``model_copy``, ``copy.copy``) starts with an empty one."""
        return self._memo

    def __copy__(self) -> Catalog:
        # pydantic's shallow copy shares private attributes; a what-if catalog must not read the original's values
        copied = super().__copy__()
        copied.__pydantic_private__["_memo"] = Memo()
        return copied
