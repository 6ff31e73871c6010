"""The February 2025 story's claims checked against the model: one pure verdict function per claim (no Streamlit).

Each function takes numbers the calculators returned (predictions, sizings, sweep maxima) and the story's figure,
compares them, and returns a :class:`Verdict`: a short label a stakeholder can read ("Holds", "Holds only if …",
"Does not hold", "Can't tell: …"), what the model found with its numbers, and the assumptions the answer hinges on.
No formula of the model lives here: only comparisons of calculator results (ratios included) and the catalog
what-if chip of :func:`hbm_reads_layer`, which the calculators then evaluate like any user chip.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from calculators.records import Catalog
from ui import format as fmt

Status = Literal["holds", "conditional", "fails", "unknown"]

# The story's figures (SambaNova, February 2025; DeepSeek open-infra-index day 6 and V3 report s3.4).
CLAIM_CHIP = "sn40l"
CLAIM_CHIPS = 16
CLAIM_PRECISION = "bf16"  # the SN40L has no FP8; SambaNova served R1 in 16-bit
CLAIMED_PER_USER = 198.0
CLAIMED_SPEEDUP = 3.0
CLAIMED_EFFICIENCY = 5.0
CLAIMED_RACK_TOKENS_PER_S = 20_000.0
CLAIMED_GPU_RACKS = 40
DEEPSEEK_DECODE_NODES = 40
DEEPSEEK_DECODE_GPUS = 320
DEEPSEEK_PER_USER_LOW, DEEPSEEK_PER_USER_HIGH = 20.0, 22.0  # quoted range; the number compared is the catalog's
DEEPSEEK_PRODUCTION_POINT = "deepseek-prod-h800-per-user"  # validation point holding DeepSeek's measured speed
WHAT_IF_SUFFIX = "-hbm-reads"


@dataclass(frozen=True)
class Verdict:
    """One claim of the story checked by the model."""

    claim: str
    verdict: str
    status: Status
    finding: str
    hinges: tuple[str, ...]


def hbm_reads_layer(catalog: Catalog, chip_id: str = CLAIM_CHIP) -> dict[str, Any] | None:
    """A catalog layer with a what-if copy of ``chip_id`` whose slower tiers (DDR) are read at its HBM bandwidth.

    It stands for "the bytes each step reads come from HBM" (hot experts cached there, DDR only as backing store),
    which the model's tier placement (fill fastest first, read each byte where it sits) does not assume. None when
    the chip has no HBM and slower tier.
    """
    chip = catalog.accelerators.get(chip_id)
    if chip is None:
        return None
    entry = chip.model_dump(mode="json", exclude_none=True)
    tiers = entry.get("memory_tiers", [])
    hbm = next((t for t in tiers if t.get("tier") == "hbm"), None)
    if hbm is None or not any(t.get("tier") == "ddr" for t in tiers):
        return None
    what_if = {"value": hbm["bandwidth_gb_s"]["value"], "kind": "assumption",
               "note": "what-if: every byte read at HBM bandwidth (hot experts cached in HBM)"}
    entry["memory_tiers"] = [{**t, "bandwidth_gb_s": what_if} if t.get("tier") == "ddr" else t for t in tiers]
    entry["id"] = chip_id + WHAT_IF_SUFFIX
    entry["name"] = f"{chip.name} (what-if: all reads at HBM speed)"
    return {"accelerators": [entry]}


def per_user_verdict(*, claimed: float, predicted: float, predicted_high: float, mtp_layers: int,
                     favourable: Mapping[str, float], all_favourable: float, hbm_reads: float | None,
                     fixed_latency_us: float, memory_note: str, calibrated_on_claim: bool = False) -> Verdict:
    """(a) "198 tok/s per user on 16 SN40L": the model's batch-1 speed with the assumptions it would need.

    ``favourable`` maps an assumption (described in words) to the speed with only it at its favourable catalog
    end; ``all_favourable`` has them all there; ``hbm_reads`` is the what-if chip reading every byte from HBM.
    """
    claim = f"{fmt.tokens_per_s(claimed)} per user on one SambaRack of {CLAIM_CHIPS} SN40L"
    mtp = f"MTP {mtp_layers}" if mtp_layers else "no MTP"
    base = (f"The model predicts {fmt.tokens_per_s(predicted)} per user at batch 1 ({mtp}, the best draft depth), "
            f"up to {fmt.tokens_per_s(predicted_high)} at the top of its uncertainty band.")
    hinges = (f"Engine fixed latency per layer: {fmt.number(fixed_latency_us)} µs assumed (unmeasured for SN40L).",
              memory_note)
    if calibrated_on_claim:
        hinges = (*hinges, "The catalog calibrates an SN40L assumption on this very measurement, so agreement with "
                           "it is by construction, not evidence.")
    if predicted >= claimed and calibrated_on_claim:
        return Verdict(claim, "Holds by construction: the model is calibrated on this claim", "conditional", base,
                       hinges)
    if predicted >= claimed:
        return Verdict(claim, "Holds", "holds", base, hinges)
    single = [name for name, speed in favourable.items() if speed >= claimed]
    if single:
        return Verdict(claim, f"Holds only if {single[0]}", "conditional",
                       base + f" With {single[0]} it reaches {fmt.tokens_per_s(favourable[single[0]])}.", hinges)
    if all_favourable >= claimed:
        return Verdict(claim, "Holds only if every assumption is at its favourable end", "conditional",
                       base + f" With all of them there it reaches {fmt.tokens_per_s(all_favourable)}.", hinges)
    if hbm_reads is not None and hbm_reads >= claimed:
        return Verdict(
            claim, "Holds only if the weights stream from HBM, not DDR", "conditional",
            base + f" No single assumption in its plausible range gets there (all favourable together: "
                   f"{fmt.tokens_per_s(all_favourable)}). If every byte a step reads came from HBM (hot experts "
                   f"cached there), the model gives {fmt.tokens_per_s(hbm_reads)}.", hinges)
    if predicted_high >= claimed:
        return Verdict(claim, "Can't tell: the claim is inside the model's uncertainty band", "unknown", base, hinges)
    return Verdict(claim, "Does not hold", "fails",
                   base + f" Even with every assumption favourable it reaches {fmt.tokens_per_s(all_favourable)}.",
                   hinges)


def unavailable_verdict(claim: str, reason: str) -> Verdict:
    """A claim the model cannot check in this scenario (a side cannot be sized); ``reason`` is the calculator's."""
    return Verdict(claim, "Can't tell: the model cannot size one side", "unknown", reason, ())


def speedup_verdict(*, sn_per_user: float, sn_label: str, gpu_best_per_user: float | None, gpu_label: str,
                    deepseek_per_user: float = DEEPSEEK_PER_USER_HIGH, factor: float = CLAIMED_SPEEDUP,
                    claimed_per_user: float = CLAIMED_PER_USER) -> Verdict:
    """(b) "3x faster": SN40L per-user speed against the best per-user speed the GPU side reaches in the model,
    and against DeepSeek's production 20-22 tok/s/user (a throughput-first deployment)."""
    claim = f"{fmt.ratio(factor)} faster per user than GPUs"
    vs_prod = sn_per_user / deepseek_per_user
    hinges = (f"Which GPU speed is the baseline: the fastest the GPU side can be run ({gpu_label}, tuned engine, "
              "batch 1, MTP) or what GPU providers ran in production (DeepSeek: "
              f"{fmt.number(DEEPSEEK_PER_USER_LOW)}-{fmt.number(DEEPSEEK_PER_USER_HIGH)} tok/s/user).",
              "The SN40L speed used: " + sn_label + ".")
    if gpu_best_per_user is None or gpu_best_per_user <= 0:
        return Verdict(claim, f"Can't tell: the model finds no configuration of {gpu_label} that holds the model",
                       "unknown", f"Against DeepSeek's production speed it is {fmt.ratio(vs_prod)}.", hinges)
    vs_best = sn_per_user / gpu_best_per_user
    finding = (f"SN40L {fmt.tokens_per_s(sn_per_user)} per user vs the fastest {gpu_label} configuration at "
               f"{fmt.tokens_per_s(gpu_best_per_user)}: {fmt.ratio(vs_best)}. Against DeepSeek's production "
               f"{fmt.number(deepseek_per_user)} tok/s/user: {fmt.ratio(vs_prod)}. Taking SambaNova's own "
               f"{fmt.tokens_per_s(claimed_per_user)} instead: {fmt.ratio(claimed_per_user / gpu_best_per_user)} "
               "vs the fastest GPU configuration.")
    if vs_best >= factor:
        return Verdict(claim, "Holds", "holds", finding, hinges)
    if vs_prod >= factor:
        return Verdict(claim, "Holds only against throughput-first GPU deployments, not against the fastest GPU "
                              "configuration", "conditional", finding, hinges)
    return Verdict(claim, "Does not hold", "fails", finding, hinges)


def efficiency_verdict(*, sn_joules: float, sn_joules_low: float, sn_joules_high: float, gpu_joules: float,
                       gpu_joules_low: float, gpu_joules_high: float, sn_chips: int, gpu_chips: int, gpu_label: str,
                       per_user: float, factor: float = CLAIMED_EFFICIENCY) -> Verdict:
    """(c) "5x more efficient": energy per output token of both sides sized for the same targets (same per-user
    speed, same total), with the range the two uncertainty bands allow; chips compared alongside."""
    claim = f"{fmt.ratio(factor)} more efficient than GPUs"
    ratio = gpu_joules / sn_joules
    best = gpu_joules_high / sn_joules_low
    worst = gpu_joules_low / sn_joules_high
    finding = (f"At {fmt.tokens_per_s(per_user)} per user and the same total output, SN40L uses "
               f"{fmt.joules_per_token(sn_joules)} and {gpu_label} {fmt.joules_per_token(gpu_joules)}: "
               f"{fmt.ratio(ratio)} (between {fmt.ratio(worst)} and {fmt.ratio(best)} across both uncertainty "
               f"bands). Chips: {fmt.chips(sn_chips)} vs {fmt.chips(gpu_chips)}.")
    hinges = ("Node power: nameplate x measured utilisation on both sides; the SambaRack's power is an assumption "
              "(no published spec).",
              "Equal per-user speed: both sides are sized for the same per-user and total targets.")
    if worst >= factor:
        return Verdict(claim, "Holds", "holds", finding, hinges)
    if ratio >= factor:
        return Verdict(claim, "Holds only at the model's central estimate", "conditional", finding, hinges)
    if best >= factor:
        return Verdict(claim, "Can't tell: only the favourable end of the uncertainty band reaches it", "unknown",
                       finding, hinges)
    return Verdict(claim, "Does not hold", "fails", finding, hinges)


def rack_throughput_verdict(*, per_user: float, best_at_target: float | None, batch_at_target: int | None,
                            chips_at_target: int | None = None, max_any: float | None,
                            per_user_at_goal: float | None, batch_at_goal: int | None,
                            chip_label: str, goal: float = CLAIMED_RACK_TOKENS_PER_S) -> Verdict:
    """(d) "20,000 tok/s per rack": the most output per rack the model finds at the per-user target, and the
    fastest per-user speed at which a rack reaches the goal at all (from the sweep)."""
    claim = f"{fmt.tokens_per_s(goal)} per rack (the year-end goal)"
    hinges = ("Batch: a rack only reaches high throughput by serving many users at once, which slows each of them.",
              f"Chip: the goal was for the end of 2025; the model checks it on {chip_label}.")
    if best_at_target is None:
        at_target = f"No configuration of {chip_label} reaches {fmt.tokens_per_s(per_user)} per user."
    else:
        at_target = (f"At {fmt.tokens_per_s(per_user)} per user the best is {fmt.tokens_per_s(best_at_target)} per "
                     f"rack (batch {batch_at_target} per replica"
                     + (f" of {fmt.chips(chips_at_target)}" if chips_at_target else "") + ").")
    if best_at_target is not None and best_at_target >= goal:
        return Verdict(claim, "Holds", "holds", at_target, hinges)
    if per_user_at_goal is not None:
        return Verdict(claim, f"Holds only at {fmt.tokens_per_s(per_user_at_goal)} per user or slower", "conditional",
                       at_target + f" A rack reaches {fmt.tokens_per_s(goal)} only at batch {batch_at_goal}, "
                                   f"where each user gets {fmt.tokens_per_s(per_user_at_goal)}.", hinges)
    return Verdict(claim, "Does not hold", "fails",
                   at_target + f" The most a rack reaches at any batch is {fmt.tokens_per_s(max_any)}.", hinges)


def forty_racks_verdict(*, gpu_racks: int | None, gpu_label: str, gpu_reason: str, h800_racks: int | None,
                        per_user: float, total: float, claimed: int = CLAIMED_GPU_RACKS) -> Verdict:
    """(e) "GPUs would need 40 racks": where the number comes from and what the model sizes for the same targets."""
    claim = f"GPUs would need {claimed} racks"
    origin = (f"The figure matches DeepSeek's own minimum decode unit: {DEEPSEEK_DECODE_NODES} nodes / "
              f"{DEEPSEEK_DECODE_GPUS} H800 (V3 report s3.4), chosen to maximise throughput across thousands of "
              f"users at {fmt.number(DEEPSEEK_PER_USER_LOW)}-{fmt.number(DEEPSEEK_PER_USER_HIGH)} tok/s each, "
              "not the least hardware one fast user needs.")
    hinges = ("The targets: the same per-user speed and total output on both sides (sidebar).",
              "Rack packing: each system's nodes per rack and rack power budget from the catalog.")
    if gpu_racks is None:
        return Verdict(claim, f"Can't tell: {gpu_label} cannot meet the targets", "unknown",
                       origin + f" The model: {gpu_reason}.", hinges)
    h800 = "" if h800_racks is None else f" H800 (the GPU of the story): {fmt.racks(h800_racks)}."
    finding = (origin + f" For {fmt.tokens_per_s(per_user)} per user and {fmt.tokens_per_s(total)} in total the "
               f"model sizes {gpu_label} at {fmt.racks(gpu_racks)}.{h800}")
    if gpu_racks >= claimed:
        return Verdict(claim, "Holds", "holds", finding, hinges)
    return Verdict(claim, f"Does not hold: {fmt.racks(gpu_racks)} of {gpu_label} for the same targets", "fails",
                   finding, hinges)


def summary_label(status: Status) -> str:
    """A one-word tag for a verdict's status (used as a badge)."""
    return {"holds": "Holds", "conditional": "Conditional", "fails": "Does not hold", "unknown": "Can't tell"}[status]
