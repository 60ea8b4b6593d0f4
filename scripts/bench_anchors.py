#!/usr/bin/env python3
"""qbench's CPU speed side by side with HF transformers and llama.cpp on the same model and threads.

Models (--model): `llama-512x8` (default; a small Llama, hidden 512, 8 layers, vocab 32000, random
weights saved once as safetensors: fine for speed, never for quality), `tiny` (models/qbench-tiny,
4.0M parameters: per-op overhead dominates) or any HF Llama-family directory. Both sides run it in
float32 on the CPU with the same number of intra-op threads (interop threads play no part: no
parallel graph).

  prefill     qbench bench --prefill L            vs  transformers forward, no cache, logits of
                                                      the last token only (logits_to_keep=1)
  perplexity  qbench ppl (gptq protocol, L)       vs  transformers forward with labels over the
                                                      same disjoint windows (full logits + loss)
  decode      qbench bench --batch-sizes 1,8      vs  transformers generate (greedy, fixed length):
                                                      decode tokens/s = B * N /
                                                      (t(generate N + 1) - t(generate 1))

What each side's clock covers:
- prefill: one forward of L tokens and the LM head on the last position (qbench also writes its
  KV cache; transformers keeps none). Warm-up forwards first on both sides, then the median of
  --reps repetitions.
- perplexity: tokens/s over windows 2..W, i.e. (t(W windows) - t(1 window)) on both sides, so the
  first (cold: allocator, oneDNN/MKL set-up) window of a fresh `qbench ppl` process is excluded
  the same way as the warm-up transformers gets; each side scores (L - 1) tokens per window
  (qbench forwards L - 1 tokens, transformers L and drops the last logit).
- decode: qbench times its steps from a cache already holding --context slots, each step
  = forward of one token per row + LM head + argmax; transformers' difference of two `generate`
  calls removes its prefill and leaves N steps of forward + logits processing + argmax + its own
  bookkeeping (cache concatenation, mask growth), which is the cost of decoding with it.
- both sides run under inference mode (torch.inference_mode / c10::InferenceMode).

llama.cpp (`--llamacpp`, default: the tools `scripts/fetch_llamacpp` built, when it has; `none` to
leave it out): `llama-bench -p L -n 0` for prefill and `llama-bench -p 0 -n N -d CONTEXT` for decode
at batch 1 (it has no batched decode; tokens/s of its own timing, median of --reps repetitions),
on the same GGUF. For an HF directory the GGUF is its F32 conversion by llama.cpp's own
convert_hf_to_gguf.py (needs a tokenizer: the random llama-512x8 has none, so llama.cpp is left out
there); with `--model FILE.gguf` both run that file as its users run it (qbench with --dtype, default
its own default dtype; transformers is left out: it can only dequantize a GGUF).

The machine is shared, so the sides are interleaved in --pairs rounds (A/B then B/A, ...),
each round measuring every row on both sides; each row reports the median tokens/s of each side,
the median of the per-round ratios (qbench / transformers, > 1 = qbench faster), their spread
(min..max) and the 1-minute load average over the rounds. Several qbench binaries (--qbench
a,b: e.g. before and after a change) are measured in the same rounds, in alternating order; the
exit status judges the last one. Run from the repo root after building:

    .venv/bin/python scripts/bench_anchors.py [--threads 2] [--model tiny] [--pairs 5]
    .venv/bin/python scripts/bench_anchors.py --model ~/.cache/qbench/models/SmolLM2-135M-Instruct.Q4_1.gguf
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
from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM

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


class HF:
    def __init__(self, model_dir: Path, vocab: int, args):
        self.args = args
        self.model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
        self.model.generation_config.eos_token_id = None
        g = torch.Generator().manual_seed(1)
        self.ids = torch.randint(3, vocab, (1, args.prefill), generator=g)
        self.windows = torch.randint(3, vocab, (args.ppl_windows, args.prefill), generator=g)
        self.prompts = {b: torch.randint(3, vocab, (b, args.context), generator=g) for b in (1, 8)}

    def round(self, warmup: int) -> dict:
        a, model, out = self.args, self.model, {}
        with torch.inference_mode():
            t = median_time(lambda: model(self.ids, logits_to_keep=1, use_cache=False), warmup, a.reps)
            out["prefill"] = a.prefill / t

            def ppl(n):
                def run():
                    for w in self.windows[:n]:
                        model(w.unsqueeze(0), labels=w.unsqueeze(0), use_cache=False)
                return run

            t_all = median_time(ppl(a.ppl_windows), 1, max(1, a.reps // 2))
            t_one = median_time(ppl(1), 0, max(1, a.reps // 2))
            out["perplexity"] = (a.ppl_windows - 1) * (a.prefill - 1) / (t_all - t_one)
            for b, prompt in self.prompts.items():
                mask = torch.ones_like(prompt)

                def gen(n):
                    return lambda: model.generate(input_ids=prompt, attention_mask=mask, do_sample=False,
                                                  max_new_tokens=n, min_new_tokens=n, pad_token_id=0)

                t_n = median_time(gen(a.steps + 1), max(1, warmup), a.reps)
                t_1 = median_time(gen(1), 1, a.reps)
                out[f"decode_b{b}"] = b * a.steps / (t_n - t_1)
        return out


def qbench_round(binary: str, model_dir: Path, data: Path, args) -> dict:
    common = ["--threads", str(args.threads), "--json"] + (["--dtype", args.dtype] if args.dtype else [])
    bench = subprocess.run([binary, "-q", "bench", str(model_dir), "--batch-sizes", "1,8", "--context",
                            str(args.context), "--steps", str(args.steps), "--prefill", str(args.prefill),
                            "--warmup", str(args.warmup), "--repetitions", str(args.reps)] + common,
                           check=True, capture_output=True, text=True)
    t = json.loads(bench.stdout)["throughput"]
    out = {"prefill": statistics.median(
        [args.prefill / (ns * 1e-9) for ns in t["prefill"][0]["samples_ns"]])}
    for d in t["decode"]:
        out[f"decode_b{d['batch_size']}"] = statistics.median(d["repetition_tokens_per_s"])

    def ppl(limit: int) -> float:
        times = []
        for _ in range(max(1, args.reps // 2)):
            run = subprocess.run([binary, "-q", "ppl", str(model_dir), "--data", str(data), "--protocol",
                                  "gptq", "--max-length", str(args.prefill), "--limit", str(limit)] + common,
                                 check=True, capture_output=True, text=True)
            p = json.loads(run.stdout)
            assert p["tokens_scored"] == limit * (args.prefill - 1), p["tokens_scored"]
            times.append(p["seconds"])
        return statistics.median(times)

    t_all, t_one = ppl(args.ppl_windows), ppl(1)
    out["perplexity"] = (args.ppl_windows - 1) * (args.prefill - 1) / (t_all - t_one)
    return out


def llamacpp_tools(spec: str) -> Path | None:
    """The llama.cpp build/bin folder: `spec` a llama.cpp root, `auto` (the fetch_llamacpp cache when
    its tools are built) or `none`."""
    if spec == "none":
        return None
    if spec == "auto":
        cache = Path(os.environ.get("QBENCH_LLAMACPP_DIR", Path.home() / ".cache" / "qbench" / "llama.cpp"))
        roots = sorted(cache.glob("llama_cpp_python-*/vendor/llama.cpp"))
        if not roots:
            return None
        spec = str(roots[-1])
    tools = Path(spec) / "build" / "bin"
    return tools if (tools / "llama-bench").exists() else None


def llamacpp_gguf(tools: Path, model_dir: Path, work: Path) -> Path | None:
    """An F32 GGUF of an HF directory, converted once by llama.cpp's own converter."""
    out = work / f"{model_dir.name}.f32.gguf"
    if out.exists():
        return out
    convert = tools.parent.parent / "convert_hf_to_gguf.py"
    run = subprocess.run([sys.executable, str(convert), str(model_dir), "--outfile", str(out), "--outtype", "f32"],
                         capture_output=True, text=True)
    if run.returncode != 0:
        print(f"note: llama.cpp left out: {model_dir.name} does not convert to GGUF "
              f"({(run.stderr.strip().splitlines() or ['?'])[-1]})", file=sys.stderr)
        return None
    return out


def llamacpp_round(tools: Path, gguf: Path, args) -> dict:
    def bench(extra: list[str]) -> float:
        run = subprocess.run([str(tools / "llama-bench"), "-m", str(gguf), "-t", str(args.threads),
                              "-r", str(args.reps), "-o", "json"] + extra, check=True, capture_output=True, text=True)
        rows = json.loads(run.stdout)
        return statistics.median(rows[0]["samples_ts"])

    return {"prefill": bench(["-p", str(args.prefill), "-n", "0"]),
            "decode_b1": bench(["-p", "0", "-n", str(args.steps), "-d", str(args.context)])}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--model", default="llama-512x8",
                    help="llama-512x8 (random weights, made once), tiny (models/qbench-tiny) or an HF directory")
    ap.add_argument("--qbench", default=str(ROOT / "build" / "qbench"),
                    help="qbench binary; several, comma-separated (e.g. a build before and after a change), "
                         "are each measured in every round against the same transformers numbers")
    ap.add_argument("--work", default=str(ROOT / "out" / "anchors"))
    ap.add_argument("--prefill", type=int, default=512)
    ap.add_argument("--context", type=int, default=128)
    ap.add_argument("--steps", type=int, default=32)
    ap.add_argument("--ppl-windows", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--reps", type=int, default=5, help="repetitions per round (medians within a round)")
    ap.add_argument("--pairs", type=int, default=5, help="interleaved rounds (qbench, the anchors)")
    ap.add_argument("--llamacpp", default="auto", help="llama.cpp root (tools in build/bin), auto or none")
    ap.add_argument("--dtype", default=None,
                    help="qbench's compute dtype (default: float32 for an HF model, as transformers runs it; "
                         "qbench's own default for a .gguf)")
    args = ap.parse_args()
    if args.ppl_windows < 2:
        ap.error("--ppl-windows must be at least 2 (the first window is excluded)")
    torch.set_num_threads(args.threads)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    if args.model == "llama-512x8":
        model_dir = work / "llama-512x8"
        make_model(model_dir)
    elif args.model == "tiny":
        model_dir = ROOT / "models" / "qbench-tiny"
    else:
        model_dir = Path(args.model).expanduser()
    is_gguf = model_dir.suffix == ".gguf"
    if is_gguf:
        import gguf

        reader = gguf.GGUFReader(str(model_dir))
        vocab = int(reader.get_tensor(
            [t.name for t in reader.tensors].index("token_embd.weight")).shape[-1])
    else:
        if args.dtype is None:
            args.dtype = "float32"
        cfg = json.loads((model_dir / "config.json").read_text())
        vocab = cfg["vocab_size"]
        if args.prefill > cfg.get("max_position_embeddings", args.prefill):
            print(f"note: prefill {args.prefill} exceeds max_position_embeddings {cfg['max_position_embeddings']}")
    tools = llamacpp_tools(args.llamacpp)
    gguf_file = (model_dir if is_gguf else llamacpp_gguf(tools, model_dir, work)) if tools else None
    g = torch.Generator().manual_seed(2)
    data = work / f"ppl_tokens_{vocab}_{args.prefill}_{args.ppl_windows}.jsonl"
    data.write_text(json.dumps({"input_ids": torch.randint(3, vocab, (args.ppl_windows * args.prefill,),
                                                           generator=g).tolist()}) + "\n")

    binaries = args.qbench.split(",")
    hf = None if is_gguf else HF(model_dir, vocab, args)
    anchors = {}  # name -> function(round index) -> {row: tokens/s}
    if hf:
        anchors["transformers"] = lambda i: hf.round(args.warmup if i == 0 else 1)
    if gguf_file:
        anchors["llama.cpp"] = lambda i: llamacpp_round(tools, gguf_file, args)
    if not anchors:
        ap.error("no anchor to compare with: a .gguf model needs llama.cpp's tools (scripts/fetch_llamacpp)")
    rounds = []  # ({binary: qbench numbers}, {anchor: numbers}, load average)
    for i in range(args.pairs):
        load = os.getloadavg()[0]
        q, a = {}, {}
        # A/B then B/A: qbench first in even rounds, the anchors first in odd ones.
        for side in (["qbench", "anchors"] if i % 2 == 0 else ["anchors", "qbench"]):
            if side == "qbench":
                for b in (binaries if i % 2 == 0 else binaries[::-1]):
                    q[b] = qbench_round(b, model_dir, data, args)
            else:
                for name, measure in anchors.items():
                    a[name] = measure(i)
        load = max(load, os.getloadavg()[0])
        rounds.append((q, a, load))
        for b in binaries:
            print(f"round {i + 1}/{args.pairs} (load {load:.1f}) {b}: " + "; ".join(
                f"{k} {q[b][k]:.1f}/{v[k]:.1f} {name} = {q[b][k] / v[k]:.2f}"
                for name, v in a.items() for k in v), file=sys.stderr, flush=True)

    params = (f"{sum(p.numel() for p in hf.model.parameters()) / 1e6:.2f}M parameters, float32" if hf
              else f"qbench dtype {args.dtype or 'default'}")
    print(f"model: {model_dir.name} ({params}), CPU, {args.threads} threads, {args.pairs} interleaved rounds x "
          f"{args.reps} repetitions (torch {torch.__version__})")
    names = {"prefill": f"prefill {args.prefill}", "perplexity": f"perplexity (windows of {args.prefill})",
             "decode_b1": f"decode b1 @ {args.context}", "decode_b8": f"decode b8 @ {args.context}"}
    loads = [r[2] for r in rounds]
    ok = True
    for b in binaries:
        print(f"qbench: {b}")
        print(f"{'test':<28} {'qbench tok/s':>13} {'anchor':>13} {'anchor tok/s':>13} {'ratio':>7} {'spread':>12} "
              f"{'load':>10}")
        for key, label in names.items():
            qs = [r[0][b][key] for r in rounds]
            for name in anchors:
                if key not in rounds[0][1][name]:
                    continue
                hs = [r[1][name][key] for r in rounds]
                ratios = [x / y for x, y in zip(qs, hs)]
                ratio = statistics.median(ratios)
                print(f"{label:<28} {statistics.median(qs):>13.1f} {name:>13} {statistics.median(hs):>13.1f} "
                      f"{ratio:>6.2f}x {min(ratios):>5.2f}..{max(ratios):<5.2f} {min(loads):>4.1f}..{max(loads):<4.1f}")
                if b == binaries[-1]:
                    ok = ok and (ratio > 1.0 if key.startswith("decode") else ratio >= 1.0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
