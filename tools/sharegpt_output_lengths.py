"""Quantiles of ShareGPT's output lengths as ``vllm bench serve`` samples them (the catalog's ``datasets:`` entry
``sharegpt-vllm`` in hardware_catalog/validation_workloads.yaml was produced by this script).

vLLM's ``ShareGPTDataset`` (benchmarks/benchmark_dataset.py, vllm/benchmarks/datasets.py) keeps conversations of at
least two turns, takes the first turn as the prompt and the second as the completion, tokenizes both, and keeps a pair
when prompt >= 4 and completion >= 4 tokens, prompt <= 1024 and prompt + completion <= 2048 tokens
(``is_valid_sequence``); the completion's token count is the request's ``max_tokens``. This script applies the same
filter to every conversation of ``ShareGPT_V3_unfiltered_cleaned_split.json`` and prints the quantiles of the kept
completions' lengths as YAML rows.

Tokenizer: OpenAI's cl100k_base BPE, read from a local ``cl100k_base.tiktoken`` file checked against tiktoken's
published SHA-256 (the benchmarked models' own tokenizers are not available offline; English BPE vocabularies of
100K-200K entries count within about 10% of each other, and the model uses the table's *shape*, quantile / mean).

A truncated copy of the JSON (a prefix of the list) is read up to its last complete conversation.

Usage (outside the app's environment; needs ``tiktoken``):
    python tools/sharegpt_output_lengths.py SHAREGPT.json cl100k_base.tiktoken
"""

from __future__ import annotations

import json
import sys

import numpy as np

CL100K_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
CL100K_PATTERN = (r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|"""
                  r"""\s++$|\s*[\r\n]|\s+(?!\S)|\s""")
QUANTILES = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.998, 0.999, 1.0)


def conversations(path: str):
    """Every complete conversation of the JSON list at ``path`` (a truncated file up to its last complete one)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    decoder = json.JSONDecoder()
    i = text.index("[") + 1
    while True:
        while i < len(text) and text[i] in " \r\n\t,":
            i += 1
        if i >= len(text) or text[i] == "]":
            return
        try:
            item, i = decoder.raw_decode(text, i)
        except json.JSONDecodeError:
            return
        yield item


def main(dataset: str, bpe_file: str) -> None:
    import tiktoken
    from tiktoken.load import load_tiktoken_bpe

    enc = tiktoken.Encoding("cl100k_base", pat_str=CL100K_PATTERN,
                            mergeable_ranks=load_tiktoken_bpe(bpe_file, expected_hash=CL100K_SHA256),
                            special_tokens={})
    read = kept = 0
    prompts, outputs = [], []
    for conv in conversations(dataset):
        read += 1
        turns = conv.get("conversations", [])
        if len(turns) < 2:
            continue
        p = len(enc.encode_ordinary(turns[0]["value"]))
        o = len(enc.encode_ordinary(turns[1]["value"]))
        if p < 4 or o < 4 or p > 1024 or p + o > 2048:
            continue
        kept += 1
        prompts.append(p)
        outputs.append(o)
    out = np.array(outputs, dtype=float)
    print(f"# conversations read {read}, kept {kept}; prompt mean {np.mean(prompts):.1f}; "
          f"output mean {out.mean():.1f}, std {out.std():.1f}")
    for q in QUANTILES:
        print(f"      - [{q}, {np.quantile(out, q):.0f}]")


if __name__ == "__main__":
    main(*sys.argv[1:3])
