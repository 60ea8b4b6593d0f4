#!/usr/bin/env python3
"""Records transformers' greedy `generate` output for the model fixtures (generate.json).

For each fixture under tests/fixtures/models/*/f32, three prompts of different lengths (BOS
first, then random non-special ids) are generated greedily, `max_new_tokens` tokens each, with
EOS disabled so every row runs to the limit:

  generate.json   {"max_new_tokens": N, "prompts": [[ids]...],
                   "alone": [[ids]...],     each prompt generated on its own
                   "batched": [[ids]...]}   all prompts in one left-padded batch

qbench's generation tests check that its own greedy tokens equal these, alone and batched.
Run from the repo root after scripts/gen_model_fixtures.py:

    .venv/bin/python scripts/gen_generate_fixtures.py [FIXTURE ...]

(with names, only those are rewritten; the others' prompt draws are still taken)
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForCausalLM

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "tests" / "fixtures" / "models"
MAX_NEW_TOKENS = 16
PROMPT_LENGTHS = (7, 12, 3)
BOS = 1
PAD = 0


def greedy(model, rows: list[list[int]]) -> list[list[int]]:
    width = max(len(r) for r in rows)
    ids = torch.tensor([[PAD] * (width - len(r)) + r for r in rows])
    mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows])
    with torch.no_grad():
        out = model.generate(input_ids=ids, attention_mask=mask, do_sample=False,
                             max_new_tokens=MAX_NEW_TOKENS, eos_token_id=None, pad_token_id=PAD)
    return out[:, width:].tolist()


# The fixtures that existed when the prompts were first drawn, in their draw order; newer ones
# draw after them (sorted), so adding a fixture leaves the others' prompts as they were.
FIRST = ("llama_gqa_llama3", "llama_linear_bias", "mistral_swa", "qwen2_bias_swa", "qwen3_qknorm")


def main() -> int:
    rng = np.random.default_rng(4321)
    only = set(sys.argv[1:])  # fixture names to (re)write; all when empty
    found = sorted(p for p in MODELS.iterdir() if (p / "f32").is_dir())
    ordered = [p for n in FIRST for p in found if p.name == n] + [p for p in found if p.name not in FIRST]
    for base in ordered:
        if only and base.name not in only:
            cfg = json.loads((base / "f32" / "config.json").read_text())
            for n in PROMPT_LENGTHS:  # the draws its prompts take
                rng.integers(3, cfg["vocab_size"], size=n - 1)
            continue
        model = AutoModelForCausalLM.from_pretrained(base / "f32", dtype=torch.float32).eval()
        model.generation_config.eos_token_id = None
        prompts = [[BOS] + rng.integers(3, model.config.vocab_size, size=n - 1).tolist()
                   for n in PROMPT_LENGTHS]
        alone = [greedy(model, [p])[0] for p in prompts]
        batched = greedy(model, prompts)
        doc = {"max_new_tokens": MAX_NEW_TOKENS, "prompts": prompts, "alone": alone,
               "batched": batched}
        (base / "generate.json").write_text(json.dumps(doc) + "\n")
        same = sum(a == b for a, b in zip(alone, batched))
        print(f"{base.name}: {same}/{len(prompts)} batched rows equal the single-prompt rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
