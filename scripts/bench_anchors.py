#!/usr/bin/env python3
"""qbench's CPU speed side by side with HF transformers on the same model and thread count.

A small Llama (hidden 512, 8 layers, vocab 32000, float32, random weights: fine for speed, never
for quality) is saved once as safetensors; then, with the same threads on both sides:

  prefill     qbench bench --prefill L            vs  transformers forward (logits of the last token)
  perplexity  qbench ppl (gptq protocol, L)       vs  transformers forward with labels over the
                                                      same disjoint windows (full logits + loss)
  decode      qbench bench --batch-sizes 1,8      vs  transformers generate (greedy, fixed length):
                                                      decode tokens/s = B * (N - 1) /
                                                      (t(generate N) - t(generate 1))

Each side warms up, then takes the median of repetitions. Prints a table with ratios
(qbench / transformers; > 1 means qbench is faster). Run from the repo root after building:

    .venv/bin/python scripts/bench_anchors.py [--threads 2] [--qbench build/qbench]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM

ROOT = Path(__file__).resolve().parent.parent


def make_model(out: Path) -> None:
    if (out / "model.safetensors").exists():
        return
    cfg = LlamaConfig(vocab_size=32000, hidden_size=512, intermediate_size=1376, num_hidden_layers=8,
                      num_attention_heads=8, num_key_value_heads=8, max_position_embeddings=4096,
                      rms_norm_eps=1e-5, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2)
    torch.manual_seed(0)
    model = LlamaForCausalLM(cfg).to(torch.float32)
    model.save_pretrained(out)
    for f in out.iterdir():
        if f.name not in ("config.json", "model.safetensors"):
            f.unlink()


def median_time(fn, warmup: int, reps: int) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def hf_numbers(model_dir: Path, args) -> dict:
    model = LlamaForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    model.generation_config.eos_token_id = None
    g = torch.Generator().manual_seed(1)
    out = {}
    with torch.inference_mode():
        ids = torch.randint(3, 32000, (1, args.prefill), generator=g)
        t = median_time(lambda: model(ids, logits_to_keep=1, use_cache=False), args.warmup, args.reps)
        out["prefill"] = args.prefill / t
        windows = torch.randint(3, 32000, (args.ppl_windows, args.prefill), generator=g)

        def ppl():
            for w in windows:
                model(w.unsqueeze(0), labels=w.unsqueeze(0), use_cache=False)

        t = median_time(ppl, 1, max(1, args.reps // 2))
        out["perplexity"] = args.ppl_windows * (args.prefill - 1) / t
        for b in (1, 8):
            prompt = torch.randint(3, 32000, (b, args.context), generator=g)
            mask = torch.ones_like(prompt)

            def gen(n):
                return lambda: model.generate(input_ids=prompt, attention_mask=mask, do_sample=False,
                                              max_new_tokens=n, min_new_tokens=n, pad_token_id=0)

            t_n = median_time(gen(args.steps + 1), 2, args.reps)
            t_1 = median_time(gen(1), 2, args.reps)
            out[f"decode_b{b}"] = b * args.steps / (t_n - t_1)
    return out


def qbench_numbers(model_dir: Path, data: Path, args) -> dict:
    common = ["--threads", str(args.threads), "--dtype", "float32", "--json"]
    bench = subprocess.run([args.qbench, "-q", "bench", str(model_dir), "--batch-sizes", "1,8", "--context",
                            str(args.context), "--steps", str(args.steps), "--prefill", str(args.prefill),
                            "--warmup", str(args.warmup), "--repetitions", str(args.reps)] + common,
                           check=True, capture_output=True, text=True)
    t = json.loads(bench.stdout)["throughput"]
    out = {"prefill": statistics.median(
        [args.prefill / (ns * 1e-9) for ns in t["prefill"][0]["samples_ns"]])}
    for d in t["decode"]:
        out[f"decode_b{d['batch_size']}"] = statistics.median(d["repetition_tokens_per_s"])
    runs = []
    for _ in range(max(1, args.reps // 2)):
        ppl = subprocess.run([args.qbench, "-q", "ppl", str(model_dir), "--data", str(data), "--protocol", "gptq",
                              "--max-length", str(args.prefill)] + common,
                             check=True, capture_output=True, text=True)
        p = json.loads(ppl.stdout)
        runs.append(p["tokens_scored"] / p["seconds"])
    out["perplexity"] = statistics.median(runs)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--qbench", default=str(ROOT / "build" / "qbench"))
    ap.add_argument("--work", default=str(ROOT / "out" / "anchors"))
    ap.add_argument("--prefill", type=int, default=512)
    ap.add_argument("--context", type=int, default=128)
    ap.add_argument("--steps", type=int, default=32)
    ap.add_argument("--ppl-windows", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    work = Path(args.work)
    model_dir = work / "llama-512x8"
    work.mkdir(parents=True, exist_ok=True)
    make_model(model_dir)
    g = torch.Generator().manual_seed(2)
    data = work / "ppl_tokens.jsonl"
    data.write_text(json.dumps({"input_ids": torch.randint(3, 32000, (args.ppl_windows * args.prefill,),
                                                           generator=g).tolist()}) + "\n")

    q = qbench_numbers(model_dir, data, args)
    h = hf_numbers(model_dir, args)
    print(f"model: Llama hidden 512 x 8 layers, vocab 32000, float32, CPU, {args.threads} threads "
          f"(torch {torch.__version__})")
    print(f"{'test':<28} {'qbench tok/s':>14} {'transformers tok/s':>20} {'ratio':>8}")
    names = {"prefill": f"prefill {args.prefill}", "perplexity": f"perplexity (windows of {args.prefill})",
             "decode_b1": f"decode b1 @ {args.context}", "decode_b8": f"decode b8 @ {args.context}"}
    ok = True
    for key, label in names.items():
        ratio = q[key] / h[key]
        print(f"{label:<28} {q[key]:>14.1f} {h[key]:>20.1f} {ratio:>7.2f}x")
        ok = ok and (ratio > 1.0 if key.startswith("decode") else ratio >= 1.0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
