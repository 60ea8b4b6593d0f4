#!/usr/bin/env python3
"""Generates the golden model fixtures under tests/fixtures/models/.

For each architecture qbench supports, a tiny random checkpoint is built and saved with
`transformers` (float32 and bfloat16 safetensors), and reference numbers are computed by an
independent float64 NumPy implementation of the decoder (written here from the architecture
definitions, not from qbench):

  reference.safetensors   input_ids [2, T] (I64) and logits [2, T, V] (F64) of the float32
                          weights; logits_bf16w (F64) of the bfloat16-rounded weights; and
                          logits_hf_bf16 (F32): transformers' own bfloat16 forward
  perplexity.json         per protocol: nll_sum, tokens_scored, ppl and per-window blocks, over
                          tests/fixtures/models/data.jsonl (pre-tokenized documents)

and gemma3_f16_overflow/ (gen_overflow_fixture): a Gemma 3 whose float16 forward overflows.

The NumPy reference is checked against transformers' float32 forward before anything is written
(max |diff| < 1e-4), so the fixtures agree with both. Run from the repo root:

    .venv/bin/python scripts/gen_model_fixtures.py [FIXTURE ...]

(with names, only those fixtures are rewritten; the others' random draws are still taken, so
each fixture comes out the same either way)
"""
from __future__ import annotations

import copy
import json
import math
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import save_file
from transformers import (Gemma3ForCausalLM, Gemma3TextConfig, LlamaConfig, LlamaForCausalLM, MistralConfig,
                          MistralForCausalLM, Qwen2Config, Qwen2ForCausalLM, Qwen3Config, Qwen3ForCausalLM)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "models"
VOCAB = 96
BOS = 1

COMMON = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
              num_attention_heads=4, max_position_embeddings=128, rms_norm_eps=1e-5,
              bos_token_id=BOS, eos_token_id=2, pad_token_id=0)

FIXTURES = {
    # GQA, llama3 rope scaling, tied embeddings (transformers 5 `rope_parameters` form)
    "llama_gqa_llama3": (LlamaConfig, LlamaForCausalLM, dict(
        num_key_value_heads=2, tie_word_embeddings=True,
        rope_parameters=dict(rope_type="llama3", rope_theta=10000.0, factor=8.0, low_freq_factor=1.0,
                             high_freq_factor=4.0, original_max_position_embeddings=16))),
    # linear rope scaling, untied, attention and MLP biases; config rewritten in the older
    # rope_theta + rope_scaling form that most published checkpoints carry
    "llama_linear_bias": (LlamaConfig, LlamaForCausalLM, dict(
        num_key_value_heads=4, tie_word_embeddings=False, attention_bias=True, mlp_bias=True,
        rope_parameters=dict(rope_type="linear", rope_theta=500.0, factor=2.0))),
    # q/k/v biases; sliding window on layers >= max_window_layers
    "qwen2_bias_swa": (Qwen2Config, Qwen2ForCausalLM, dict(
        num_key_value_heads=2, tie_word_embeddings=False, use_sliding_window=True,
        sliding_window=6, max_window_layers=1, rope_parameters=dict(rope_type="default", rope_theta=1000.0))),
    # q/k RMSNorm, explicit head_dim (num_heads * head_dim != hidden_size), tied
    "qwen3_qknorm": (Qwen3Config, Qwen3ForCausalLM, dict(
        num_key_value_heads=2, head_dim=16, tie_word_embeddings=True,
        rope_parameters=dict(rope_type="default", rope_theta=10000.0))),
    # sliding window on every layer, GQA
    "mistral_swa": (MistralConfig, MistralForCausalLM, dict(
        num_key_value_heads=1, sliding_window=5, tie_word_embeddings=False,
        rope_parameters=dict(rope_type="default", rope_theta=10000.0))),
    # Gemma 3: (1 + w) RMSNorms, sandwich norms, q/k norm, scaled embeddings, GELU-tanh MLP,
    # sliding (window 5 < T) / global / sliding layers with their own RoPE (local base 100,
    # global base 10000 with linear scaling), query_pre_attn_scalar != head_dim, final logit
    # softcapping. Untied: tied, the scaled embedding dominates and the random model just
    # repeats its input token (the real Gemma 3 test covers tying). The bf16 config is rewritten
    # in the older rope_theta + rope_local_base_freq + rope_scaling + sliding_window_pattern form.
    "gemma3_swa": (Gemma3TextConfig, Gemma3ForCausalLM, dict(
        num_hidden_layers=3, num_key_value_heads=2, head_dim=16, tie_word_embeddings=False,
        sliding_window=5, layer_types=["sliding_attention", "full_attention", "sliding_attention"],
        query_pre_attn_scalar=24, final_logit_softcapping=30.0,
        rope_parameters=dict(full_attention=dict(rope_type="linear", rope_theta=10000.0, factor=2.0),
                             sliding_attention=dict(rope_type="default", rope_theta=100.0)))),
}

# Protocol settings used by the golden perplexity tests (small, so every code path is exercised:
# several windows per document, a short last window, a dropped tail).
PROTOCOLS = {
    "sliding": dict(max_length=16, stride=6),
    "gptq": dict(max_length=16),
    "llama.cpp": dict(max_length=16),
    "lm-eval-rolling": dict(max_length=16),
}


# --------------------------------------------------------------------------------------------
# Independent float64 reference decoder
# --------------------------------------------------------------------------------------------
def inv_freq_f64(cfg: dict, rp: dict | None = None) -> np.ndarray:
    head_dim = cfg["head_dim"]
    rp = rp or cfg["rope"]
    inv = 1.0 / (rp["rope_theta"] ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim))
    kind = rp.get("rope_type", "default")
    if kind == "linear":
        inv = inv / rp["factor"]
    elif kind == "llama3":
        factor, lo, hi = rp["factor"], rp["low_freq_factor"], rp["high_freq_factor"]
        old = rp["original_max_position_embeddings"]
        wavelen = 2 * math.pi / inv
        out = np.empty_like(inv)
        for i, (f, w) in enumerate(zip(inv, wavelen)):
            if w < old / hi:
                out[i] = f
            elif w > old / lo:
                out[i] = f / factor
            else:
                s = (old / w - lo) / (hi - lo)
                out[i] = (1 - s) * f / factor + s * f
        inv = out
    return inv


def rms(x: np.ndarray, w: np.ndarray, eps: float, gemma: bool = False) -> np.ndarray:
    """RMSNorm; Gemma scales by (1 + w)."""
    return ((1.0 + w) if gemma else w) * (x / np.sqrt((x * x).mean(-1, keepdims=True) + eps))


def gelu_tanh(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def reference_logits(W: dict, cfg: dict, ids: np.ndarray) -> np.ndarray:
    """ids [T] -> logits [T, V], float64, positions 0..T-1, causal (+ sliding window)."""
    T = len(ids)
    H, KV, D = cfg["heads"], cfg["kv_heads"], cfg["head_dim"]
    eps = cfg["eps"]
    gemma = cfg.get("gemma", False)
    x = W["model.embed_tokens.weight"][ids]
    if gemma:
        x = x * math.sqrt(cfg["hidden"])

    def tables(inv):
        ang = np.arange(T, dtype=np.float64)[:, None] * inv[None, :]
        return np.cos(np.concatenate([ang, ang], -1)), np.sin(np.concatenate([ang, ang], -1))

    rope_global = tables(inv_freq_f64(cfg))
    rope_local = tables(inv_freq_f64(cfg, cfg["rope_local"])) if gemma else rope_global

    def rope(v, cs):  # v [T, heads, D]
        cos, sin = cs
        half = D // 2
        rot = np.concatenate([-v[..., half:], v[..., :half]], -1)
        return v * cos[:, None, :] + rot * sin[:, None, :]

    def lin(name, v):
        y = v @ W[name + ".weight"].T
        if name + ".bias" in W:
            y = y + W[name + ".bias"]
        return y

    scale = cfg.get("query_pre_attn_scalar", D) ** -0.5
    for i in range(cfg["layers"]):
        p = f"model.layers.{i}."
        window = cfg["windows"][i]
        h = rms(x, W[p + "input_layernorm.weight"], eps, gemma)
        q = lin(p + "self_attn.q_proj", h).reshape(T, H, D)
        k = lin(p + "self_attn.k_proj", h).reshape(T, KV, D)
        v = lin(p + "self_attn.v_proj", h).reshape(T, KV, D)
        if cfg["qk_norm"]:
            q = rms(q, W[p + "self_attn.q_norm.weight"], eps, gemma)
            k = rms(k, W[p + "self_attn.k_norm.weight"], eps, gemma)
        cs = rope_local if window else rope_global
        q, k = rope(q, cs), rope(k, cs)
        att = np.zeros((T, H, D))
        for hh in range(H):
            kh = hh // (H // KV)
            s = (q[:, hh, :] @ k[:, kh, :].T) * scale
            qi = np.arange(T)[:, None]
            kj = np.arange(T)[None, :]
            allowed = kj <= qi
            if window:
                allowed &= kj > qi - window
            s = np.where(allowed, s, -np.inf)
            s = s - s.max(-1, keepdims=True)
            pr = np.exp(s)
            pr /= pr.sum(-1, keepdims=True)
            att[:, hh, :] = pr @ v[:, kh, :]
        o = lin(p + "self_attn.o_proj", att.reshape(T, H * D))
        if gemma:
            # sandwich norms around attention and the GELU-tanh gated MLP
            x = x + rms(o, W[p + "post_attention_layernorm.weight"], eps, True)
            h = rms(x, W[p + "pre_feedforward_layernorm.weight"], eps, True)
            m = lin(p + "mlp.down_proj", gelu_tanh(lin(p + "mlp.gate_proj", h)) * lin(p + "mlp.up_proj", h))
            x = x + rms(m, W[p + "post_feedforward_layernorm.weight"], eps, True)
            continue
        x = x + o
        h = rms(x, W[p + "post_attention_layernorm.weight"], eps)
        g = lin(p + "mlp.gate_proj", h)
        u = lin(p + "mlp.up_proj", h)
        x = x + lin(p + "mlp.down_proj", (g / (1 + np.exp(-g))) * u)
    x = rms(x, W["model.norm.weight"], eps, gemma)
    head = W.get("lm_head.weight", W["model.embed_tokens.weight"])
    logits = x @ head.T
    cap = cfg.get("final_logit_softcapping")
    if cap:
        logits = cap * np.tanh(logits / cap)
    return logits


def log_softmax(z: np.ndarray) -> np.ndarray:
    m = z.max(-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(-1, keepdims=True))


def score(W, cfg, seq: list[int], score_from: int) -> tuple[float, int]:
    """NLL of seq[t] for t in [score_from, len(seq)), each predicted from seq[:t]."""
    lp = log_softmax(reference_logits(W, cfg, np.array(seq[:-1], dtype=np.int64)))
    nll = 0.0
    for t in range(score_from, len(seq)):
        nll -= lp[t - 1, seq[t]]
    return nll, len(seq) - score_from


# --------------------------------------------------------------------------------------------
# Protocol windows, written from their public definitions
# --------------------------------------------------------------------------------------------
def windows_sliding(docs, max_length, stride):
    """HF perplexity guide loop per document, scoring each target exactly once."""
    out = []
    for doc in docs:
        seq_len = len(doc)
        prev_end = 0
        for begin in range(0, seq_len, stride):
            end = min(begin + max_length, seq_len)
            trg_len = end - prev_end
            chunk = doc[begin:end]
            first = max(1, len(chunk) - trg_len)
            if first < len(chunk):
                out.append((chunk, first))
            prev_end = end
            if end == seq_len:
                break
    return out


def windows_gptq(docs, seqlen):
    stream = [t for d in docs for t in d]
    n = len(stream) // seqlen
    return [(stream[i * seqlen:(i + 1) * seqlen], 1) for i in range(n)]


def windows_llamacpp(docs, n_ctx, bos):
    stream = [t for d in docs for t in d]
    n_chunk = len(stream) // n_ctx
    first = n_ctx // 2
    out = []
    for i in range(n_chunk):
        chunk = list(stream[i * n_ctx:(i + 1) * n_ctx])
        chunk[0] = bos
        out.append((chunk, first + 1))
    return out


def get_rolling_token_windows(token_list, prefix_token, max_seq_len, context_len):
    """lm-eval-harness utils.get_rolling_token_windows, as documented."""
    assert 1 <= context_len <= max_seq_len
    if not token_list:
        return
    pred_len = max_seq_len - context_len + 1
    predicted = 0
    first_seq_len = min(max_seq_len, len(token_list))
    yield [prefix_token] + token_list[:first_seq_len - 1], token_list[:first_seq_len]
    predicted += first_seq_len
    while predicted < len(token_list):
        window_pred_len = min(len(token_list) - predicted, pred_len)
        window_end = predicted + window_pred_len
        yield (token_list[window_end - max_seq_len - 1:window_end - 1],
               token_list[window_end - window_pred_len:window_end])
        predicted += window_pred_len


def windows_lmeval(docs, max_length, prefix):
    out = []
    for d, doc in enumerate(docs):
        for ctx, cont in get_rolling_token_windows(list(doc), prefix, max_length, 1):
            ctx = ctx[:len(ctx) - (len(cont) - 1)]  # make_disjoint_window
            seq = ctx + cont
            seq = seq[-(max_length + 1):]
            out.append((seq, len(seq) - len(cont), d))
    return out


# --------------------------------------------------------------------------------------------
def randomize(model: torch.nn.Module, seed: int, norm_center: float = 1.0) -> None:
    """Larger-than-default random weights, so the model's predictions are far from uniform.
    Norm weights scatter around norm_center (0 for Gemma, whose norms scale by 1 + w)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and "norm" in name:
                p.copy_(norm_center + 0.2 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1:
                p.copy_(0.3 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) * (1.5 / math.sqrt(p.shape[-1])))


def ref_cfg(hf_cfg, fixture_kwargs) -> dict:
    d = hf_cfg.to_dict()
    layers = d["num_hidden_layers"]
    heads = d["num_attention_heads"]
    head_dim = d.get("head_dim") or d["hidden_size"] // heads
    windows = [0] * layers
    lt = d.get("layer_types")
    sw = d.get("sliding_window")
    if lt:
        windows = [sw if t == "sliding_attention" else 0 for t in lt]
    elif sw:
        windows = [sw] * layers
    out = dict(heads=heads, kv_heads=d["num_key_value_heads"], head_dim=head_dim, hidden=d["hidden_size"],
               layers=layers, eps=d["rms_norm_eps"], rope=fixture_kwargs["rope_parameters"],
               qk_norm=isinstance(hf_cfg, (Qwen3Config, Gemma3TextConfig)), windows=windows)
    if isinstance(hf_cfg, Gemma3TextConfig):
        rp = fixture_kwargs["rope_parameters"]
        out.update(gemma=True, rope=rp["full_attention"], rope_local=rp["sliding_attention"],
                   query_pre_attn_scalar=d["query_pre_attn_scalar"],
                   final_logit_softcapping=d["final_logit_softcapping"])
    return out


def make_data(rng: np.random.Generator) -> list[list[int]]:
    lengths = [70, 41, 23, 9, 1]
    return [rng.integers(3, VOCAB, size=n).tolist() for n in lengths]


def main() -> int:
    torch.manual_seed(0)
    rng = np.random.default_rng(1234)
    OUT.mkdir(parents=True, exist_ok=True)
    docs = make_data(rng)
    with open(OUT / "data.jsonl", "w") as f:
        for d in docs:
            f.write(json.dumps({"input_ids": d}) + "\n")

    only = set(sys.argv[1:])  # fixture names to (re)write; all when empty
    for seed, (name, (Cfg, Model, extra)) in enumerate(FIXTURES.items()):
        if only and name not in only:
            rng.integers(3, VOCAB, size=(2, 24))  # the draw its input ids take, so the others keep theirs
            continue
        kwargs = dict(COMMON)
        kwargs.update(extra)
        cfg = Cfg(**kwargs)
        model = Model(cfg).eval()
        randomize(model, 100 + seed, 0.0 if Cfg is Gemma3TextConfig else 1.0)
        rc = ref_cfg(model.config, extra)

        base = OUT / name
        if base.exists():
            shutil.rmtree(base)
        for dtype_name, dtype in (("f32", torch.float32), ("bf16", torch.bfloat16)):
            d = base / dtype_name
            # A copy: Module.to() would also round the rotary inv_freq buffer of `model`.
            copy.deepcopy(model).to(dtype).save_pretrained(d)
            if name == "llama_linear_bias":
                c = json.loads((d / "config.json").read_text())
                rp = c.pop("rope_parameters")
                c["rope_theta"] = rp["rope_theta"]
                c["rope_scaling"] = {"type": "linear", "factor": rp["factor"]}
                (d / "config.json").write_text(json.dumps(c, indent=2))
            if name == "gemma3_swa" and dtype_name == "bf16":
                c = json.loads((d / "config.json").read_text())
                rp = c.pop("rope_parameters")
                c["rope_theta"] = rp["full_attention"]["rope_theta"]
                c["rope_scaling"] = {"rope_type": "linear", "factor": rp["full_attention"]["factor"]}
                c["rope_local_base_freq"] = rp["sliding_attention"]["rope_theta"]
                c.pop("layer_types")
                c["sliding_window_pattern"] = 2  # sliding, full, sliding
                (d / "config.json").write_text(json.dumps(c, indent=2))
            for extra_file in d.iterdir():
                if extra_file.name not in ("config.json", "model.safetensors"):
                    extra_file.unlink()

        W32 = {k: v.detach().double().numpy() for k, v in model.state_dict().items()}
        if model.config.tie_word_embeddings:
            W32.pop("lm_head.weight", None)
        Wbf = {k: torch.from_numpy(v).to(torch.bfloat16).double().numpy() for k, v in W32.items()}

        T = 24
        ids = rng.integers(3, VOCAB, size=(2, T))
        logits = np.stack([reference_logits(W32, rc, row) for row in ids])
        logits_bf = np.stack([reference_logits(Wbf, rc, row) for row in ids])
        with torch.no_grad():
            hf32 = model(torch.from_numpy(ids)).logits.double().numpy()
            # transformers' bfloat16 forward, loaded the way users load it
            mbf = Model.from_pretrained(base / "bf16", dtype=torch.bfloat16).eval()
            for key in ("layer_types", "rope_parameters") if name == "gemma3_swa" else ():
                # the rewritten config means the same
                if getattr(mbf.config, key, None) != getattr(model.config, key, None):
                    print(f"{name}: bf16 config {key} {getattr(mbf.config, key)} != "
                          f"{getattr(model.config, key)}", file=sys.stderr)
                    return 1
            hfbf = mbf(torch.from_numpy(ids)).logits.float().numpy()
        diff = np.abs(hf32 - logits).max()
        print(f"{name}: max |transformers f32 - reference f64| = {diff:.2e}")
        if diff > 1e-4:
            print(f"{name}: reference disagrees with transformers", file=sys.stderr)
            return 1
        save_file({"input_ids": ids.astype(np.int64), "logits": logits, "logits_bf16w": logits_bf,
                   "logits_hf_bf16": hfbf.astype(np.float32)}, str(base / "reference.safetensors"))

        ppl = {}
        for proto, params in PROTOCOLS.items():
            L = params["max_length"]
            if proto == "sliding":
                wins = [(s, f, None) for s, f in windows_sliding(docs, L, params["stride"])]
            elif proto == "gptq":
                wins = [(s, f, None) for s, f in windows_gptq(docs, L)]
            elif proto == "llama.cpp":
                wins = [(s, f, None) for s, f in windows_llamacpp(docs, L, BOS)]
            else:
                wins = windows_lmeval(docs, L, BOS)
            blocks = []
            for seq, first, doc in wins:
                nll, n = score(W32, rc, seq, first)
                if proto == "lm-eval-rolling" and blocks and blocks[-1]["doc"] == doc:
                    blocks[-1]["nll_sum"] += nll
                    blocks[-1]["tokens"] += n
                else:
                    blocks.append({"nll_sum": nll, "tokens": n, "doc": doc})
            for b in blocks:
                b.pop("doc")
            nll_sum = sum(b["nll_sum"] for b in blocks)
            tokens = sum(b["tokens"] for b in blocks)
            ppl[proto] = dict(params, nll_sum=nll_sum, tokens_scored=tokens,
                              ppl=math.exp(nll_sum / tokens), blocks=blocks)
        (base / "perplexity.json").write_text(json.dumps(ppl, indent=1))
    if not only or OVERFLOW in only:
        if gen_overflow_fixture(docs) != 0:
            return 1
    print(f"wrote {OUT}")
    return 0


# --------------------------------------------------------------------------------------------
# A Gemma 3 whose float16 forward overflows
# --------------------------------------------------------------------------------------------
OVERFLOW = "gemma3_f16_overflow"
OVERFLOW_LAYER = 1     # the layer whose post-feedforward norm is huge
OVERFLOW_NORM = 1.0e5  # its weights: (1 + w) x a unit-RMS MLP output passes 65504 in float16


def hf_sliding_nll(model, docs, dtype, max_length, stride) -> dict:
    """Sliding-window perplexity from transformers' own forward in `dtype` (logits upcast to
    float64 before log_softmax), per window, as qbench's sliding protocol scores it."""
    m = copy.deepcopy(model).to(dtype).eval()
    blocks = []
    with torch.no_grad():
        for seq, first in windows_sliding(docs, max_length, stride):
            logits = m(torch.tensor([seq[:-1]])).logits[0].double().numpy()
            lp = log_softmax(logits)
            nll = -sum(lp[t - 1, seq[t]] for t in range(first, len(seq)))
            blocks.append({"nll_sum": float(nll), "tokens": len(seq) - first})
    nll_sum = sum(b["nll_sum"] for b in blocks)
    tokens = sum(b["tokens"] for b in blocks)
    return dict(max_length=max_length, stride=stride, nll_sum=nll_sum, tokens_scored=tokens,
                ppl=math.exp(nll_sum / tokens), blocks=blocks)


def gen_overflow_fixture(docs) -> int:
    """tests/fixtures/models/gemma3_f16_overflow: the gemma3_swa shape with layer 1's
    post_feedforward_layernorm weights at 1e5, saved in float32. Its residual stream passes
    float16's largest value (65504) after layer 1's MLP block: transformers' float16 forward gives
    inf there and NaN logits (checked here, so the fixture is a real overflow), while float32 and
    bfloat16 stay finite. overflow.json holds the first non-finite layer of transformers' float16
    forward and transformers' float32 / bfloat16 sliding(16/6) perplexity over data.jsonl (float32
    checked against the float64 NumPy reference)."""
    extra = FIXTURES["gemma3_swa"][2]
    kwargs = dict(COMMON)
    kwargs.update(extra)
    cfg = Gemma3TextConfig(**kwargs)
    model = Gemma3ForCausalLM(cfg).eval()
    randomize(model, 200, 0.0)
    with torch.no_grad():
        model.model.layers[OVERFLOW_LAYER].post_feedforward_layernorm.weight.fill_(OVERFLOW_NORM)
    base = OUT / OVERFLOW
    if base.exists():
        shutil.rmtree(base)
    model.save_pretrained(base / "f32")
    for extra_file in (base / "f32").iterdir():
        if extra_file.name not in ("config.json", "model.safetensors"):
            extra_file.unlink()

    # transformers' float16 forward: the first layer whose output holds inf/NaN, and the logits.
    seq = docs[0][:16]
    with torch.no_grad():
        out16 = copy.deepcopy(model).to(torch.float16)(torch.tensor([seq]), output_hidden_states=True)
    logits16 = out16.logits.float()
    if torch.isfinite(logits16).all():
        print(f"{OVERFLOW}: transformers' float16 logits are finite: no overflow", file=sys.stderr)
        return 1
    # hidden_states[0] is the embedding output, hidden_states[i + 1] layer i's (the last one after
    # the final norm)
    bad = [i - 1 for i, h in enumerate(out16.hidden_states) if not torch.isfinite(h).all()]
    first_bad = bad[0]
    if first_bad != OVERFLOW_LAYER:
        print(f"{OVERFLOW}: float16 overflows first in layer {first_bad}, not {OVERFLOW_LAYER}", file=sys.stderr)
        return 1
    first_bad_position = int((~torch.isfinite(logits16[0]).all(-1)).nonzero()[0, 0])

    rc = ref_cfg(model.config, extra)
    W32 = {k: v.detach().double().numpy() for k, v in model.state_dict().items()}
    params = PROTOCOLS["sliding"]
    L, stride = params["max_length"], params["stride"]
    ref = []
    for s_, first in windows_sliding(docs, L, stride):
        ref.append(score(W32, rc, s_, first))
    ref_ppl = math.exp(sum(n for n, _ in ref) / sum(t for _, t in ref))
    f32 = hf_sliding_nll(model, docs, torch.float32, L, stride)
    bf16 = hf_sliding_nll(model, docs, torch.bfloat16, L, stride)
    rel = abs(f32["ppl"] / ref_ppl - 1)
    print(f"{OVERFLOW}: float16 inf/NaN from layer {first_bad} (logits position {first_bad_position}); "
          f"ppl float32 {f32['ppl']:.6f} (float64 reference {ref_ppl:.6f}, rel {rel:.1e}), "
          f"bfloat16 {bf16['ppl']:.6f}")
    if rel > 1e-5:
        print(f"{OVERFLOW}: transformers' float32 ppl disagrees with the float64 reference", file=sys.stderr)
        return 1
    (base / "overflow.json").write_text(json.dumps(dict(
        overflow_layer=OVERFLOW_LAYER, overflow_norm=OVERFLOW_NORM,
        hf_float16=dict(input_ids=seq, first_nonfinite_layer=first_bad,
                        first_nonfinite_logits_position=first_bad_position),
        sliding=dict(float32=f32, bfloat16=bf16, float64_reference_ppl=ref_ppl)), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
