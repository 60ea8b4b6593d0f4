#!/usr/bin/env python3
"""Train qbench-tiny: a small Llama-architecture model on datasets/tinyworld/train.txt, on a CPU.

Steps: train a byte-level BPE tokenizer (HF `tokenizers`) on the training text; train a
LlamaForCausalLM from a fixed seed with AdamW and a cosine schedule on random windows of the
tokenized text; save config.json, model.safetensors (float16), tokenizer.json and
tokenizer_config.json; write training_log.json (command, threads, time, losses) and
loss_curve.png.

Determinism: the tokenizer and the data order depend only on --seed. The weights are bitwise
reproducible for the same --seed, --threads, torch version and CPU kind; a different thread count
changes the order of floating-point reductions and so the last bits of the weights.

Usage: scripts/train_tiny_model.py [--threads N] [--steps N] [--out models/qbench-tiny]
Evaluation and the reference numbers: scripts/eval_tiny_model.py.
"""
import argparse
import json
import math
import os
import platform
import random
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM

ROOT = Path(__file__).resolve().parent.parent
SPECIAL_TOKENS = ["<|bos|>", "<|eos|>", "<|pad|>"]


def train_tokenizer(docs, vocab_size):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2,
                                  special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(docs, trainer=trainer)
    return tok


def model_config(vocab_size, args):
    return LlamaConfig(
        vocab_size=vocab_size, hidden_size=args.hidden, intermediate_size=args.intermediate,
        num_hidden_layers=args.layers, num_attention_heads=args.heads,
        num_key_value_heads=args.kv_heads, max_position_embeddings=512, rms_norm_eps=1e-5,
        rope_theta=10000.0, hidden_act="silu", tie_word_embeddings=False,
        bos_token_id=0, eos_token_id=1, pad_token_id=2, attention_bias=False, mlp_bias=False)


def lr_at(step, args):
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    t = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))


@torch.no_grad()
def heldout_loss(model, ids, seq):
    """Mean next-token loss over disjoint seq-token windows of the held-out text (monitor only)."""
    model.eval()
    n = len(ids) // seq
    x = torch.tensor(ids[: n * seq], dtype=torch.long).view(n, seq)
    total, count = 0.0, 0
    for i in range(0, n, 16):
        out = model(input_ids=x[i:i + 16], labels=x[i:i + 16])
        k = x[i:i + 16].shape[0] * (seq - 1)
        total += out.loss.item() * k
        count += k
    model.train()
    return total / count


def save_model(model, tok, out):
    out.mkdir(parents=True, exist_ok=True)
    half = LlamaForCausalLM(model.config)
    half.load_state_dict(model.state_dict())
    half = half.to(torch.float16)
    half.config.dtype = torch.float16
    half.save_pretrained(out, safe_serialization=True)
    cfg = json.loads((out / "config.json").read_text())
    # Also the pre-5.x keys, which most readers (and older transformers) look for.
    cfg["torch_dtype"] = "float16"
    cfg["rope_theta"] = cfg.get("rope_parameters", {}).get("rope_theta", 10000.0)
    cfg.pop("transformers_version", None)
    (out / "config.json").write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")
    gen = out / "generation_config.json"
    if gen.exists():
        gen.unlink()
    tok.save(str(out / "tokenizer.json"))
    tcfg = {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<|bos|>",
            "eos_token": "<|eos|>", "pad_token": "<|pad|>", "add_bos_token": False,
            "add_eos_token": False, "model_max_length": 512, "clean_up_tokenization_spaces": False}
    (out / "tokenizer_config.json").write_text(json.dumps(tcfg, indent=2) + "\n")


def plot(log, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    steps = [r["step"] for r in log["train"]]
    loss = [r["loss"] for r in log["train"]]
    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=100)
    ax.plot(steps, loss, lw=0.8, color="#4477aa", label="train (mean of 10 steps)")
    ax.plot([r["step"] for r in log["heldout"]], [r["loss"] for r in log["heldout"]], "o-",
            ms=3, color="#cc3311", label="held-out test.txt")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy (nats/token)")
    ax.set_yscale("log")
    ax.set_title("qbench-tiny training loss")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="datasets/tinyworld/train.txt")
    ap.add_argument("--heldout", default="datasets/tinyworld/test.txt")
    ap.add_argument("--out", default="models/qbench-tiny")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--vocab", type=int, default=2048)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--intermediate", type=int, default=704)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--kv-heads", type=int, default=4)
    ap.add_argument("--steps", type=int, default=2400)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=60)
    ap.add_argument("--eval-every", type=int, default=100)
    args = ap.parse_args()
    os.chdir(ROOT)
    out = Path(args.out)

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    t_start = time.time()

    text = Path(args.data).read_text(encoding="utf-8")
    docs = text.split("\n\n")
    tok = train_tokenizer(docs, args.vocab)
    ids = np.array(tok.encode(text, add_special_tokens=False).ids, dtype=np.int64)
    held = tok.encode(Path(args.heldout).read_text(encoding="utf-8"),
                      add_special_tokens=False).ids
    print(f"tokenizer: vocab {tok.get_vocab_size()}, train tokens {len(ids)}, "
          f"held-out tokens {len(held)}", flush=True)

    model = LlamaForCausalLM(model_config(tok.get_vocab_size(), args)).float()
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {n_params} parameters", flush=True)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8)
    gen = torch.Generator().manual_seed(args.seed)
    span = args.seq
    log = {"train": [], "heldout": []}
    window = []
    t_train = time.time()
    model.train()
    for step in range(args.steps):
        starts = torch.randint(0, len(ids) - span, (args.batch,), generator=gen).numpy()
        x = torch.from_numpy(np.stack([ids[s:s + span] for s in starts]))
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args)
        loss = model(input_ids=x, labels=x).loss  # HF shifts the labels inside
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        window.append(loss.item())
        if (step + 1) % 10 == 0:
            log["train"].append({"step": step + 1, "loss": sum(window) / len(window)})
            window = []
            el = time.time() - t_train
            print(f"step {step + 1}/{args.steps} loss {log['train'][-1]['loss']:.4f} "
                  f"lr {lr_at(step, args):.2e} {el:.0f}s "
                  f"eta {el / (step + 1) * (args.steps - step - 1):.0f}s", flush=True)
        if (step + 1) % args.eval_every == 0 or step + 1 == args.steps:
            hl = heldout_loss(model, held, args.seq)
            log["heldout"].append({"step": step + 1, "loss": hl})
            print(f"  held-out loss {hl:.4f} (ppl {math.exp(hl):.3f})", flush=True)
    train_s = time.time() - t_train

    save_model(model, tok, out)
    total_s = time.time() - t_start
    record = {
        "command": "scripts/train_tiny_model.py " + " ".join(shlex.quote(a) for a in
                                                             sys.argv[1:]),
        "args": vars(args), "threads": args.threads, "cpu_count": os.cpu_count(),
        "platform": platform.platform(), "processor": platform.processor(),
        "python": platform.python_version(), "torch": torch.__version__,
        "parameters": n_params, "vocab_size": tok.get_vocab_size(),
        "train_tokens": int(len(ids)), "heldout_tokens": len(held),
        "tokens_seen": args.steps * args.batch * args.seq,
        "train_seconds": round(train_s, 1), "total_seconds": round(total_s, 1),
        "final_train_loss": log["train"][-1]["loss"],
        "final_heldout_loss": log["heldout"][-1]["loss"],
        "note": "losses are float32 training-time values; the reference numbers of the shipped "
                "float16 weights are in reference.json",
        "log": log,
    }
    (out / "training_log.json").write_text(json.dumps(record, indent=2) + "\n")
    plot(log, out / "loss_curve.png")
    print(f"done in {total_s:.0f}s; wrote {out}", flush=True)


if __name__ == "__main__":
    main()
