#!/usr/bin/env python3
"""Generates the KLD fixtures under tests/fixtures/kld/.

The baseline is the golden float32 fixture tests/fixtures/models/llama_linear_bias/f32; the
variant is the same model with every weight perturbed by Gaussian noise (5 % of each tensor's
standard deviation, seed 7), saved as tests/fixtures/kld/perturbed/. Over the scored tokens of the
sliding (max_length 16, stride 6) and llama.cpp (n_ctx 16) protocols on
tests/fixtures/models/data.jsonl, both models run in float64 with transformers and the script
writes, per protocol (expected.json):

  tokens, windows            scored tokens and windows
  exact                      per-token KL(P_base || P_var) over the whole vocabulary: mean,
                             per-window sums, median, P90, P99, max
  top8                       the same with the base's top 8 tokens + one tail bucket (a lower
                             bound; the script checks it is <= the exact value for every token)
  same_top                   tokens whose argmax agrees
  delta_p_mean, delta_p_rms  of p_var(true token) - p_base(true token)

Windows are built by the reference loops of scripts/gen_model_fixtures.py. Run from the repo root:

    .venv/bin/python scripts/gen_kld_fixtures.py
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
from transformers import LlamaForCausalLM

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_model_fixtures import BOS, windows_llamacpp, windows_sliding  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BASE = ROOT / "tests" / "fixtures" / "models" / "llama_linear_bias" / "f32"
OUT = ROOT / "tests" / "fixtures" / "kld"
NOISE = 0.05
TOP_K = 8


def perturb(model: torch.nn.Module, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, p in model.named_parameters():
            p.add_(NOISE * p.std() * torch.randn(p.shape, generator=g, dtype=p.dtype))


def token_rows(model, windows):
    """Per window: float64 log-probs [T, V] of the scored positions and the targets [T]."""
    out = []
    with torch.no_grad():
        for seq, first in windows:
            ids = torch.tensor([seq[:-1]])
            logits = model(ids).logits[0].double()
            lp = torch.log_softmax(logits, -1)[first - 1:len(seq) - 1]
            out.append((lp.numpy(), np.array(seq[first:])))
    return out


def kl_topk(p_lp, q_lp, k):
    idx = np.argsort(-p_lp, kind="stable")[:k]
    p = np.exp(p_lp[idx])
    kl = float(np.sum(p * (p_lp[idx] - q_lp[idx])))
    rest = np.ones(p_lp.shape[0], dtype=bool)
    rest[idx] = False
    if rest.any():
        P = np.exp(p_lp[rest]).sum()
        Q = np.exp(q_lp[rest]).sum()
        kl += float(P * (np.log(P) - np.log(Q)))
    return kl


def summary(values, blocks):
    v = np.array(values)
    return {"mean": float(v.mean()), "block_sums": [float(sum(b)) for b in blocks],
            "median": float(np.percentile(v, 50)), "p90": float(np.percentile(v, 90)),
            "p99": float(np.percentile(v, 99)), "max": float(v.max())}


def main() -> int:
    docs = [json.loads(line)["input_ids"] for line in open(ROOT / "tests" / "fixtures" / "models" / "data.jsonl")]
    base = LlamaForCausalLM.from_pretrained(BASE, dtype=torch.float32).eval()
    var = LlamaForCausalLM.from_pretrained(BASE, dtype=torch.float32).eval()
    perturb(var, 7)
    d = OUT / "perturbed"
    if d.exists():
        shutil.rmtree(d)
    var.save_pretrained(d)
    for f in d.iterdir():
        if f.name != "model.safetensors":
            f.unlink()
    shutil.copy(BASE / "config.json", d / "config.json")  # the base's (old-style rope) config

    base = base.double()
    var = LlamaForCausalLM.from_pretrained(d, dtype=torch.float64).eval()
    expected = {"noise": NOISE, "top_k": TOP_K}
    for proto, wins in (("sliding", windows_sliding(docs, 16, 6)), ("llama.cpp", windows_llamacpp(docs, 16, BOS))):
        rb, rv = token_rows(base, wins), token_rows(var, wins)
        exact, top, same, dps = [], [], 0, []
        exact_blocks, top_blocks = [], []
        for (p_lp, tgt), (q_lp, _) in zip(rb, rv):
            eb, tb = [], []
            for t in range(p_lp.shape[0]):
                p = np.exp(p_lp[t])
                e = float(np.sum(p * (p_lp[t] - q_lp[t])))
                k = kl_topk(p_lp[t], q_lp[t], TOP_K)
                if k > e + 1e-12:
                    print(f"lower bound violated: {k} > {e}", file=sys.stderr)
                    return 1
                eb.append(e)
                tb.append(k)
                same += int(np.argmax(p_lp[t]) == np.argmax(q_lp[t]))
                dps.append(float(np.exp(q_lp[t][tgt[t]]) - np.exp(p_lp[t][tgt[t]])))
            exact += eb
            top += tb
            exact_blocks.append(eb)
            top_blocks.append(tb)
        dp = np.array(dps)
        expected[proto] = {"tokens": len(exact), "windows": len(wins), "exact": summary(exact, exact_blocks),
                           "top8": summary(top, top_blocks), "same_top": same,
                           "delta_p_mean": float(dp.mean()), "delta_p_rms": float(np.sqrt((dp ** 2).mean()))}
        print(f"{proto}: {len(exact)} tokens, KLD {expected[proto]['exact']['mean']:.6f} "
              f"(top-{TOP_K} {expected[proto]['top8']['mean']:.6f}), same top {same}/{len(exact)}")
    (OUT / "expected.json").write_text(json.dumps(expected, indent=1))
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
