#!/usr/bin/env python3
"""Reference evaluation of the shipped qbench-tiny: an independent float64 PyTorch/transformers
run on the float16 weights exactly as committed. Writes models/qbench-tiny/reference.json.

Perplexity (datasets/tinyworld/test.txt, read as UTF-8 bytes, nothing stripped; tokenized once
with the shipped tokenizer.json, add_special_tokens=False, no BOS):
  sliding  windows start every `stride` tokens and are `max_length` long; every token after the
           first is scored exactly once, in the first window that contains it, from the context
           inside that window; PPL = exp(total NLL / scored tokens).
  gptq     the text (whose documents are already joined by "\\n\\n") cut into n = len // seqlen
           disjoint segments, the tail dropped; tokens 1..seqlen-1 of each segment are scored.
Tasks (zero-shot, in the formats the model was trained on, float64, greedy):
  mc    "Question: {q}\\nAnswer:" + " {choice}"; the choice with the highest summed log-prob wins
        (acc), and per character of the choice (acc_norm, as lm-eval's ARC).
  gsm   greedy continuation of "Question: {q}\\nAnswer:", stopped at a blank line or after
        "#### N"; exact match of the integer after the first "####" with the gold one.
  code  greedy continuation of the prompt, stopped at "\\n\\n", "\\ndef", "\\nclass", "\\nif",
        "\\nprint" or "\\n#"; pass@1 = prompt + completion + test + check(entry_point) runs.

Usage: scripts/eval_tiny_model.py [--model models/qbench-tiny] [--threads N] [--skip-tasks]
"""
import argparse
import hashlib
import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import torch
from tokenizers import Tokenizer
from transformers import LlamaForCausalLM

ROOT = Path(__file__).resolve().parent.parent
Z95 = 1.959963984540054


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def wilson(k, n, z=Z95):
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (max(0.0, c - h), min(1.0, c + h))


@torch.no_grad()
def nll_of(model, ids, first_scored):
    """Sum of -log p(ids[t] | ids[:t]) for t in [first_scored, len(ids)) and the count."""
    x = torch.tensor([ids], dtype=torch.long)
    logits = model(input_ids=x).logits[0].to(torch.float64)
    logp = torch.log_softmax(logits[:-1], dim=-1)
    tgt = x[0, 1:]
    tok_nll = -logp.gather(1, tgt[:, None])[:, 0]
    part = tok_nll[first_scored - 1:]
    return part.sum().item(), part.numel()


def ppl_sliding(model, ids, max_length, stride):
    total, count, windows, prev_end = 0.0, 0, [], 0
    for begin in range(0, len(ids), stride):
        end = min(begin + max_length, len(ids))
        first = max(prev_end, 1) - begin  # first new token, as a position inside the window
        s, c = nll_of(model, ids[begin:end], first)
        windows.append({"begin": begin, "end": end, "nll_sum": s, "tokens_scored": c})
        total += s
        count += c
        prev_end = end
        if end == len(ids):
            break
    assert count == len(ids) - 1
    return total, count, windows


def ppl_gptq(model, ids, seqlen):
    n = len(ids) // seqlen
    total, count, windows = 0.0, 0, []
    for i in range(n):
        s, c = nll_of(model, ids[i * seqlen:(i + 1) * seqlen], 1)
        windows.append({"begin": i * seqlen, "end": (i + 1) * seqlen, "nll_sum": s,
                        "tokens_scored": c})
        total += s
        count += c
    return total, count, windows


def ppl_block(name, params, total, count, windows, text_tokens):
    return {"protocol": name, **params, "text_tokens": text_tokens, "tokens_scored": count,
            "windows": len(windows), "nll_sum": total, "mean_nll": total / count,
            "ppl": math.exp(total / count)}


@torch.no_grad()
def rtn_(model, bits, group_size, sym):
    """Round-to-nearest fake quantization, in place, of every Linear weight in the decoder layers
    (q/k/v/o and the MLP; not the embeddings, not lm_head), by groups of group_size input
    columns of each output row (group_size -1: the whole row). sym: q in [-2^(b-1), 2^(b-1)-1],
    scale = max|w| / (2^(b-1)-1); asym: q in [0, 2^b-1], scale = (max - min) / (2^b-1),
    zero = round(-min / scale). The dequantized weight is rounded to float16."""
    for layer in model.model.layers:
        for lin in [m for m in layer.modules() if isinstance(m, torch.nn.Linear)]:
            w = lin.weight.data.to(torch.float32)
            rows, cols = w.shape
            g = cols if group_size == -1 else group_size
            wg = w.reshape(rows, cols // g, g)
            if sym:
                qmax = 2 ** (bits - 1) - 1
                scale = (wg.abs().amax(-1, keepdim=True) / qmax).clamp_min(1e-12)
                deq = (wg / scale).round().clamp(-qmax - 1, qmax) * scale
            else:
                qmax = 2 ** bits - 1
                lo, hi = wg.amin(-1, keepdim=True), wg.amax(-1, keepdim=True)
                scale = ((hi - lo) / qmax).clamp_min(1e-12)
                zero = (-lo / scale).round()
                deq = ((wg / scale).round() + zero).clamp(0, qmax).sub(zero) * scale
            lin.weight.data = deq.reshape(rows, cols).to(torch.float16).to(lin.weight.dtype)


RTN_VARIANTS = [("rtn-int8", 8, -1, True), ("rtn-int4-g32", 4, 32, False),
                ("rtn-int3-g32", 3, 32, False)]


@torch.no_grad()
def loglik(model, ctx, cont):
    ids = ctx + cont
    x = torch.tensor([ids], dtype=torch.long)
    logp = torch.log_softmax(model(input_ids=x).logits[0].to(torch.float64), dim=-1)
    return sum(logp[len(ctx) + i - 1, t].item() for i, t in enumerate(cont))


@torch.no_grad()
def greedy(model, tok, prompt_ids, max_new, stop):
    """Greedy decoding with a KV cache until stop(text) returns the text to keep (or None)."""
    out = model(input_ids=torch.tensor([prompt_ids]), use_cache=True)
    new = []
    for _ in range(max_new):
        nxt = int(out.logits[0, -1].argmax())
        new.append(nxt)
        text = tok.decode(new, skip_special_tokens=False)
        kept = stop(text)
        if kept is not None:
            return kept
        out = model(input_ids=torch.tensor([[nxt]]), cache=out.cache, use_cache=True)
    return tok.decode(new, skip_special_tokens=False)


def read_jsonl(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def score(k, n):
    lo, hi = wilson(k, n)
    return {"correct": k, "n": n, "accuracy": k / n, "wilson95": [lo, hi]}


def eval_mc(model, tok, items):
    k = k_norm = 0
    by_kind = {}
    for it in items:
        ctx = tok.encode(f"Question: {it['question']}\nAnswer:", add_special_tokens=False).ids
        lls = [loglik(model, ctx, tok.encode(" " + c, add_special_tokens=False).ids)
               for c in it["choices"]]
        ok = int(max(range(len(lls)), key=lambda i: lls[i]) == it["answer"])
        k += ok
        kind = by_kind.setdefault(it["key"].split(":")[0], [0, 0])
        kind[0] += ok
        kind[1] += 1
        norm = [ll / len(c) for ll, c in zip(lls, it["choices"])]
        k_norm += int(max(range(len(norm)), key=lambda i: norm[i]) == it["answer"])
    n = len(items)
    return {"metric": "acc", **score(k, n), "chance": 0.25, "acc_norm": score(k_norm, n),
            "acc_by_kind": {kd: {"correct": c, "n": m} for kd, (c, m) in sorted(by_kind.items())}}


def gsm_stop(text):
    m = re.search(r"####\s*(-?\d+)\s", text)
    if m:
        return text[:m.end()]
    if "\n\n" in text:
        return text[:text.index("\n\n")]
    return None


def eval_gsm(model, tok, items):
    k, samples = 0, []
    for it in items:
        ids = tok.encode(f"Question: {it['question']}\nAnswer:", add_special_tokens=False).ids
        gen = greedy(model, tok, ids, 64, gsm_stop)
        m = re.search(r"####\s*(-?\d+)", gen)
        gold = it["answer"].split("####")[-1].strip()
        ok = bool(m) and m.group(1) == gold
        k += ok
        if len(samples) < 5:
            samples.append({"id": it["id"], "generation": gen, "correct": ok})
    return {"metric": "exact_match", **score(k, len(items)), "chance": 0.0, "samples": samples}


CODE_STOPS = ["\n\n", "\ndef", "\nclass", "\nif", "\nprint", "\n#"]


def code_stop(text):
    cut = [text.index(s) for s in CODE_STOPS if s in text]
    return text[:min(cut)] + "\n" if cut else None


def run_test(program, timeout_s=10):
    try:
        r = subprocess.run([sys.executable, "-I", "-c", program], capture_output=True,
                           timeout=timeout_s)
        return r.returncode == 0
    except subprocess.TimeoutExpired:
        return False


def eval_code(model, tok, items):
    k, samples = 0, []
    for it in items:
        ids = tok.encode(it["prompt"], add_special_tokens=False).ids
        gen = greedy(model, tok, ids, 32, code_stop)
        ok = run_test(it["prompt"] + gen + "\n" + it["test"] + f"\ncheck({it['entry_point']})\n")
        k += ok
        if len(samples) < 5:
            samples.append({"task_id": it["task_id"], "completion": gen, "passed": ok})
    return {"metric": "pass@1 (greedy)", **score(k, len(items)), "chance": 0.0,
            "samples": samples}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="models/qbench-tiny")
    ap.add_argument("--data", default="datasets/tinyworld/test.txt")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--skip-tasks", action="store_true")
    ap.add_argument("--compare-dtypes", nargs="*", default=["float32", "bfloat16", "float16"],
                    help="also compute the sliding PPL with these compute dtypes")
    ap.add_argument("--no-rtn", dest="rtn", action="store_false",
                    help="skip the informative RTN int8/int4/int3 perplexities")
    ap.add_argument("--limit", type=int, default=None, help="first N items of each task only")
    ap.add_argument("--out", default=None, help="default: MODEL/reference.json")
    args = ap.parse_args()
    os.chdir(ROOT)
    torch.set_num_threads(args.threads)
    mdir = Path(args.model)
    t0 = time.time()

    tok = Tokenizer.from_file(str(mdir / "tokenizer.json"))
    text = Path(args.data).read_bytes().decode("utf-8")
    ids = tok.encode(text, add_special_tokens=False).ids
    model = LlamaForCausalLM.from_pretrained(mdir, dtype=torch.float64,
                                             attn_implementation="eager").eval()

    ref = {
        "model": mdir.name,
        "files": {f: {"sha256": sha256(mdir / f), "bytes": (mdir / f).stat().st_size}
                  for f in ["model.safetensors", "config.json", "tokenizer.json"]},
        "parameters": sum(p.numel() for p in model.parameters()),
        "evaluator": {"script": "scripts/eval_tiny_model.py", "compute_dtype": "float64",
                      "weights_dtype": "float16", "attn_implementation": "eager",
                      "torch": torch.__version__,
                      "transformers": __import__("transformers").__version__},
        "perplexity": {
            "data": args.data, "data_sha256": sha256(args.data),
            "data_bytes": len(text.encode("utf-8")),
            "tokenization": "tokenizer.json on the whole file (UTF-8, nothing stripped), "
                            "add_special_tokens=false, no BOS",
            "text_tokens": len(ids),
        },
    }
    s = ppl_sliding(model, ids, 256, 128)
    ref["perplexity"]["sliding"] = ppl_block("sliding", {"max_length": 256, "stride": 128},
                                             s[0], s[1], s[2], len(ids))
    g = ppl_gptq(model, ids, 256)
    ref["perplexity"]["gptq"] = ppl_block("gptq", {"seqlen": 256}, g[0], g[1], g[2], len(ids))
    for p in ("sliding", "gptq"):
        b = ref["perplexity"][p]
        print(f"{p}: ppl {b['ppl']:.6f} nll_sum {b['nll_sum']:.6f} tokens {b['tokens_scored']} "
              f"windows {b['windows']}", flush=True)
    ref["perplexity"]["sliding_windows"] = [[w["begin"], w["end"], w["tokens_scored"],
                                             round(w["nll_sum"], 9)] for w in s[2]]
    ref["perplexity"]["windows_format"] = "[begin, end, tokens_scored, nll_sum] per window"
    # The same sliding figure computed in lower precision, to size a comparison tolerance.
    other = {}
    for name in args.compare_dtypes:
        m = LlamaForCausalLM.from_pretrained(mdir, dtype=getattr(torch, name),
                                             attn_implementation="eager").eval()
        t, c, _ = ppl_sliding(m, ids, 256, 128)
        other[name] = {"ppl": math.exp(t / c), "nll_sum": t, "tokens_scored": c,
                       "rel_diff_ppl": math.exp(t / c) / ref["perplexity"]["sliding"]["ppl"] - 1}
        print(f"sliding in {name}: ppl {other[name]['ppl']:.6f} "
              f"(rel. diff {other[name]['rel_diff_ppl']:+.2e})", flush=True)
    if other:
        ref["perplexity"]["sliding_other_compute_dtypes"] = other
    if args.rtn:
        rtn = {"note": "informative only: Python fake quantization (see rtn_ in the script), "
                       "float32 compute; another RTN implementation may differ in details"}
        for name, bits, gs, sym in RTN_VARIANTS:
            m = LlamaForCausalLM.from_pretrained(mdir, dtype=torch.float32,
                                                 attn_implementation="eager").eval()
            rtn_(m, bits, gs, sym)
            t, c, _ = ppl_sliding(m, ids, 256, 128)
            rtn[name] = {"bits": bits, "group_size": gs, "sym": sym, "ppl": math.exp(t / c),
                         "nll_sum": t, "tokens_scored": c}
            print(f"sliding {name}: ppl {math.exp(t / c):.6f}", flush=True)
        ref["perplexity"]["sliding_rtn_informative"] = rtn

    if not args.skip_tasks:
        ref["tasks"] = {}
        for name, path, fn in [("tinyworld-mc", "datasets/tinyworld-mc/test.jsonl", eval_mc),
                               ("tinyworld-gsm", "datasets/tinyworld-gsm/test.jsonl", eval_gsm),
                               ("tinyworld-code", "datasets/tinyworld-code/test.jsonl",
                                eval_code)]:
            r = fn(model, tok, read_jsonl(path)[:args.limit])
            ref["tasks"][name] = {"data": path, "data_sha256": sha256(path), **r}
            lo, hi = r["wilson95"]
            print(f"{name}: {r['metric']} {r['correct']}/{r['n']} = {r['accuracy']:.3f} "
                  f"[{lo:.3f}, {hi:.3f}] (chance {r['chance']})", flush=True)
    ref["evaluator"]["seconds"] = round(time.time() - t0, 1)
    out = Path(args.out) if args.out else mdir / "reference.json"
    out.write_text(json.dumps(ref, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
