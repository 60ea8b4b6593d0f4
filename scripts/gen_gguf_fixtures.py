#!/usr/bin/env python3
"""Generates the GGUF fixtures under tests/fixtures/gguf/ with the `gguf` package (llama.cpp's
gguf-py) and the reference numbers with gguf-py and transformers, never with qbench:

  quant_types.gguf                   one tensor per ggml type qbench dequantizes (F32 F16 BF16 Q4_0
                                     Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K Q4_K Q5_K Q6_K), every metadata
                                     value type, general.alignment = 64
  quant_types.expected.safetensors   gguf.quants.dequantize of each tensor (float32)
  <model>.f32.gguf                   tests/fixtures/models/<model>/f32 converted as llama.cpp's
                                     convert_hf_to_gguf.py does (names, Q/K row permutation,
                                     llama3 rope factors as rope_freqs.weight)
  <model>.mixed.gguf                 the same with the 2-D weights in Q8_0 / Q4_0 / Q4_1 / Q5_0 /
                                     Q5_1 where rows allow, F16 elsewhere
  <model>.mixed.reference.safetensors  logits of the transformers model with the weights that
                                     gguf-py dequantizes from that GGUF
  gemma3.q8.gguf                     a tiny random Gemma 3 converted as Gemma3Model does (norms
                                     + 1, no permutation, Q8_0 matrices) with a Gemma-shaped
                                     vocabulary; gemma3.q8.reference.safetensors: transformers'
                                     GGUF-loading logits; gemma3.q8.expected.json: its tokenizer ids
  <model>.q8_0.gguf, <model>.q4_0.gguf  every 2-D weight whose rows allow in Q8_0 / Q4_0 (token
                                     embeddings included; ffn_down, 48 columns, stays F16): the
                                     types qbench keeps low-bit
  <model>.<kind>.reference.safetensors  logits of the transformers model with the weights that
                                     gguf-py dequantizes from that GGUF (kind: mixed, q8_0, q4_0)
  tok_<name>.gguf                    tokenizer-only files (gpt2 byte-level with two pre-tokenizers,
                                     llama sentencepiece), and tok_<name>.expected.json: the ids of
                                     the tokenizer corpus from transformers' GGUF tokenizer

Quantizers exist in gguf-py only for the legacy types; the K-quant tensors are random blocks with
finite fp16 scales, which is enough to test decoding. Run from the repo root:

    .venv/bin/python scripts/gen_gguf_fixtures.py [gemma3]
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import gguf
import numpy as np
import torch
from gguf import GGMLQuantizationType as T
from safetensors.numpy import save_file
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "gguf"
MODELS = ROOT / "tests" / "fixtures" / "models"
TOKENIZERS = ROOT / "tests" / "fixtures" / "tokenizer"

LEGACY = [T.F32, T.F16, T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0]
KQUANTS = [T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K]
# Byte offsets of the fp16 scale fields inside each K-quant block.
K_HALVES = {T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208]}


def quant_types() -> None:
    rng = np.random.default_rng(9)
    w = gguf.GGUFWriter(str(OUT / "quant_types.gguf"), "llama")
    w.add_custom_alignment(64)
    # One key per value type (the reader test checks them).
    w.add_uint8("test.u8", 200)
    w.add_int8("test.i8", -100)
    w.add_uint16("test.u16", 60000)
    w.add_int16("test.i16", -30000)
    w.add_uint32("test.u32", 4000000000)
    w.add_int32("test.i32", -2000000000)
    w.add_float32("test.f32", 0.25)
    w.add_bool("test.bool", True)
    w.add_string("test.string", "h\u00e9llo")
    w.add_uint64("test.u64", 2**63 + 5)
    w.add_int64("test.i64", -(2**40))
    w.add_float64("test.f64", 1e-300)
    w.add_array("test.array_str", ["a", "", "\u2581b"])
    w.add_array("test.array_i32", [1, -2, 3])
    w.add_array("test.array_f32", [0.5, -1.5])
    expected = {}
    rows, cols = 3, 512
    for t in LEGACY:
        x = (rng.standard_normal((rows, cols)) * 0.1).astype(np.float32)
        x[0, :32] = 0.0  # an all-zero block
        q = gguf.quants.quantize(x, t)
        w.add_tensor(f"t.{t.name}", q, raw_dtype=t)
        expected[f"t.{t.name}"] = gguf.quants.dequantize(q, t).astype(np.float32).reshape(rows, cols)
    for t in KQUANTS:
        block, size = gguf.GGML_QUANT_SIZES[t]
        q = rng.integers(0, 256, size=(rows, cols // block, size), dtype=np.uint8)
        for off in K_HALVES[t]:
            scale = (rng.standard_normal((rows, cols // block)) * 0.01).astype(np.float16)
            q[:, :, off:off + 2] = scale.view(np.uint8).reshape(rows, cols // block, 2)
        q = q.reshape(rows, -1)
        w.add_tensor(f"t.{t.name}", q, raw_dtype=t)
        expected[f"t.{t.name}"] = gguf.quants.dequantize(q, t).astype(np.float32).reshape(rows, cols)
    # A 3-D tensor: dims are written innermost first.
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    w.add_tensor("t.F32_3d", x)
    expected["t.F32_3d"] = x
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    save_file(expected, str(OUT / "quant_types.expected.safetensors"))


# ---------------------------------------------------------------------------------------------
# Tiny Llama models, converted the way convert_hf_to_gguf.py does.

HF_TO_GGUF = {
    "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down", "input_layernorm": "attn_norm",
    "post_attention_layernorm": "ffn_norm",
}


def gguf_name(hf: str) -> str:
    if hf == "model.embed_tokens.weight":
        return "token_embd.weight"
    if hf == "model.norm.weight":
        return "output_norm.weight"
    if hf == "lm_head.weight":
        return "output.weight"
    parts = hf.split(".")  # model.layers.N.<module>.<sub>.weight
    n = parts[2]
    module = ".".join(parts[3:-1])
    return f"blk.{n}.{HF_TO_GGUF[module]}.{parts[-1]}"


def permute(w: np.ndarray, n_head: int) -> np.ndarray:
    # LlamaModel.permute: rotate-half rows -> interleaved pairs
    return (w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
            .swapaxes(1, 2).reshape(w.shape))


def llama3_rope_factors(rp: dict, head_dim: int) -> np.ndarray:
    # LlamaModel.generate_extra_tensors
    base = rp["rope_theta"]
    freqs = 1.0 / (base ** (np.arange(0, head_dim, 2, dtype=np.float32) / head_dim))
    factor, lo, hi = rp["factor"], rp["low_freq_factor"], rp["high_freq_factor"]
    old = rp["original_max_position_embeddings"]
    low_wl, high_wl = old / lo, old / hi
    out = []
    for f in freqs:
        wl = 2 * np.pi / f
        if wl < high_wl:
            out.append(1.0)
        elif wl > low_wl:
            out.append(factor)
        else:
            smooth = (old / wl - lo) / (hi - lo)
            out.append(1 / ((1 - smooth) / factor + smooth))
    return np.array(out, dtype=np.float32)


def mixed_type(name: str, shape: tuple, index: int) -> T:
    kinds = [T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1]
    if len(shape) == 2 and shape[1] % 32 == 0 and "token_embd" not in name:
        return kinds[index % len(kinds)]
    return T.F16 if len(shape) == 2 else T.F32


def uniform_type(kind: T):
    def pick(name: str, shape: tuple, index: int) -> T:
        if len(shape) == 2 and shape[1] % 32 == 0:
            return kind
        return T.F16 if len(shape) == 2 else T.F32
    return pick


KINDS = {"f32": None, "mixed": mixed_type, "q8_0": uniform_type(T.Q8_0), "q4_0": uniform_type(T.Q4_0)}
FILE_TYPES = {"f32": gguf.LlamaFileType.ALL_F32, "mixed": gguf.LlamaFileType.MOSTLY_Q8_0,
              "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0, "q4_0": gguf.LlamaFileType.MOSTLY_Q4_0}


def write_model(model: str, kind: str) -> Path:
    src = MODELS / model / "f32"
    cfg = json.loads((src / "config.json").read_text())
    weights = {k: v.numpy() for k, v in load_file(str(src / "model.safetensors")).items()}
    n_head, n_kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    head_dim = cfg.get("head_dim") or cfg["hidden_size"] // n_head
    path = OUT / f"{model}.{kind}.gguf"
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name(model)
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(n_head)
    w.add_head_count_kv(n_kv)
    w.add_rope_dimension_count(head_dim)
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    w.add_vocab_size(cfg["vocab_size"])
    w.add_file_type(FILE_TYPES[kind])
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    w.add_bos_token_id(cfg["bos_token_id"])
    w.add_eos_token_id(cfg["eos_token_id"])
    rp = cfg.get("rope_parameters") or {}
    rs = cfg.get("rope_scaling") or {}
    w.add_rope_freq_base(rp.get("rope_theta", cfg.get("rope_theta", 10000.0)))
    rtype = rp.get("rope_type", rs.get("type", rs.get("rope_type", "default")))
    if rtype == "linear":
        w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        w.add_rope_scaling_factor(rp.get("factor", rs.get("factor")))
    elif rtype == "llama3":
        w.add_tensor("rope_freqs.weight", llama3_rope_factors(rp, head_dim))
    for i, (hf, x) in enumerate(sorted(weights.items())):
        name = gguf_name(hf)
        if ".attn_q." in name:
            x = permute(x, n_head)
        elif ".attn_k." in name:
            x = permute(x, n_kv)
        x = np.ascontiguousarray(x)
        t = KINDS[kind](name, x.shape, i) if KINDS[kind] else T.F32
        if t == T.F32:
            w.add_tensor(name, x.astype(np.float32))
        elif t == T.F16:
            w.add_tensor(name, x.astype(np.float16))
        else:
            w.add_tensor(name, gguf.quants.quantize(x, t), raw_dtype=t)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def hf_reference(model: str, path: Path, kind: str) -> None:
    """Logits of the transformers model of tests/fixtures/models/<model>/f32 with its weights
    replaced by gguf-py's dequantization of `path` (Q/K rows un-permuted as transformers'
    GGUF loader does). transformers' own GGUF loading is printed for comparison: it ignores
    rope scaling (llama3 rope_freqs and linear rope.scaling.*), so it differs on these fixtures."""
    from transformers import AutoConfig, AutoModelForCausalLM

    ref = load_file(str(MODELS / model / "reference.safetensors"))
    ids = ref["input_ids"]
    cfg = AutoConfig.from_pretrained(str(MODELS / model / "f32"))
    n_head, n_kv = cfg.num_attention_heads, cfg.num_key_value_heads
    reader = gguf.GGUFReader(str(path))
    inverse = {gguf_name(k): k for k in load_file(str(MODELS / model / "f32" / "model.safetensors"))}
    state = {}
    for t in reader.tensors:
        if t.name not in inverse:
            continue
        x = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
        x = x.reshape([int(d) for d in reversed(t.shape)])
        if ".attn_q." in t.name or ".attn_k." in t.name:
            h = n_head if ".attn_q." in t.name else n_kv
            x = x.reshape(h, x.shape[0] // h // 2, 2, *x.shape[1:]).swapaxes(1, 2).reshape(x.shape)
        state[inverse[t.name]] = torch.from_numpy(np.ascontiguousarray(x))
    m = AutoModelForCausalLM.from_pretrained(str(MODELS / model / "f32"), dtype=torch.float32)
    missing, unexpected = m.load_state_dict(state, strict=False)
    assert not unexpected and all("lm_head" in k for k in missing), (missing, unexpected)
    m.tie_weights()
    m.eval()
    with torch.no_grad():
        logits = m(ids).logits.float()
        hf = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
        hf_logits = hf(ids).logits.float()
    print(f"{path.name}: max |reference - transformers GGUF loading| = "
          f"{(logits - hf_logits).abs().max().item():.3g}")
    save_file({"input_ids": ids.numpy(), "logits": logits.numpy()},
              str(OUT / f"{model}.{kind}.reference.safetensors"))


# ---------------------------------------------------------------------------------------------
# A tiny Gemma 3, converted the way convert_hf_to_gguf.py's Gemma3Model does: gguf-py's GEMMA3
# tensor names, every *norm.weight stored + 1, no Q/K permutation, gemma3.* metadata. llama.cpp
# and transformers' GGUF loading both take what the metadata lacks from fixed values (global
# every 6th layer, local RoPE base 10000, attention scale 1/sqrt(256) here), so the model has 6
# layers and head_dim 256. Its vocabulary is a Gemma-shaped SentencePiece one (whitespace tokens
# spelled with real spaces, scores not in merge order) so the tokenizer is checked too.

GEMMA3_VOCAB = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "<start_of_turn>", "<end_of_turn>"]


def gemma3_vocab() -> tuple[list[str], list[float], list[int]]:
    """Special tokens, byte tokens, then pieces over a few letters; scores deliberately not in
    file order; runs of 2-4 spaces and a newline+space token stored with real spaces."""
    tokens = list(GEMMA3_VOCAB)
    types = [3, 3, 3, 2, 3, 3, 3]  # control except unk
    tokens += [f"<0x{b:02X}>" for b in range(256)]
    types += [6] * 256
    pieces = ["\n", "\n\n", "  ", "   ", "    ", " \n", "▁", "a", "b", "c", "d", "e", "h", "l", "o", "t",
              "▁t", "▁a", "he", "▁the", "ll", "llo", "▁he", "▁hello", "ab", "▁ab", "cd", "▁abcd", "ee",
              "▁▁", "lo", "▁lo", "to", "▁to", "ot", "▁hot", "▁ee"]
    tokens += pieces
    types += [1] * len(pieces)
    rng = np.random.default_rng(77)
    scores = [0.0] * len(tokens)
    for i in range(len(GEMMA3_VOCAB) + 256, len(tokens)):
        scores[i] = float(-rng.integers(0, 1000))
    return tokens, scores, types


def gemma3_gguf() -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer, Gemma3ForCausalLM, Gemma3TextConfig

    tokens, scores, types = gemma3_vocab()
    cfg = Gemma3TextConfig(vocab_size=len(tokens), hidden_size=32, intermediate_size=48, num_hidden_layers=6,
                           num_attention_heads=1, num_key_value_heads=1, head_dim=256, query_pre_attn_scalar=256,
                           sliding_window=5, max_position_embeddings=128, rms_norm_eps=1e-6,
                           rope_parameters=dict(full_attention=dict(rope_type="default", rope_theta=1000000.0),
                                                sliding_attention=dict(rope_type="default", rope_theta=10000.0)),
                           tie_word_embeddings=True, bos_token_id=2, eos_token_id=1, pad_token_id=0)
    torch.manual_seed(5)
    model = Gemma3ForCausalLM(cfg).eval()
    g = torch.Generator().manual_seed(55)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(0.2 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) * (1.5 / np.sqrt(p.shape[-1])))
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.GEMMA3, cfg.num_hidden_layers)
    path = OUT / "gemma3.q8.gguf"
    w = gguf.GGUFWriter(str(path), "gemma3")
    w.add_name("gemma3 fixture")
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_block_count(cfg.num_hidden_layers)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    w.add_key_length(cfg.head_dim)
    w.add_value_length(cfg.head_dim)
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    w.add_rope_freq_base(1000000.0)
    w.add_sliding_window(cfg.sliding_window)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0)
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(2)
    w.add_eos_token_id(1)
    w.add_unk_token_id(3)
    w.add_pad_token_id(0)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    for hf, x in model.state_dict().items():
        if hf == "lm_head.weight":
            continue  # tied
        name = names.get_name(hf.removesuffix(".weight")) + ".weight"
        x = x.numpy().astype(np.float32)
        if name.endswith("norm.weight"):
            w.add_tensor(name, x + 1.0)  # Gemma3Model.modify_tensors: norm_shift
        elif x.ndim == 2 and x.shape[1] % 32 == 0:
            w.add_tensor(name, gguf.quants.quantize(x, T.Q8_0), raw_dtype=T.Q8_0)
        else:
            w.add_tensor(name, x)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    # The reference: transformers' own GGUF loading of the file (model and tokenizer).
    hf = AutoModelForCausalLM.from_pretrained(str(OUT), gguf_file=path.name, dtype=torch.float32).eval()
    tok = AutoTokenizer.from_pretrained(str(OUT), gguf_file=path.name)
    assert hf.config.layer_types == cfg.layer_types, hf.config.layer_types
    texts = ["hello the hot abcd", "  hello\n\n  to   the    lot \n ee", "ab cd\tlo\u00e9", ""]
    ids = tok(texts[0] + " " + texts[1], add_special_tokens=True)["input_ids"]
    ids = (ids * 4)[:24]
    x = torch.tensor([ids])
    with torch.no_grad():
        logits = hf(x).logits.float()
        own = model(x).logits.float()
    # Q8_0 weights vs the float32 originals: only a sanity bound.
    print(f"{path.name}: max |transformers GGUF - float32 model| = {(logits - own).abs().max().item():.3g}")
    save_file({"input_ids": x.numpy(), "logits": logits.numpy()}, str(OUT / "gemma3.q8.reference.safetensors"))
    cases = [{"name": f"text{i}", "text": t, "ids": tok.encode(t, add_special_tokens=False),
              "ids_special": tok.encode(t, add_special_tokens=True)} for i, t in enumerate(texts)]
    out = {"bos": tok.bos_token_id, "eos": tok.eos_token_id, "vocab_size": len(tok), "cases": cases}
    (OUT / "gemma3.q8.expected.json").write_text(json.dumps(out, ensure_ascii=False, indent=0) + "\n")


# ---------------------------------------------------------------------------------------------
# Tokenizer-only GGUF files (a 1-layer llama header so that transformers accepts them).

def tok_header(path: Path, vocab: int) -> gguf.GGUFWriter:
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_context_length(64)
    w.add_embedding_length(8)
    w.add_block_count(1)
    w.add_feed_forward_length(16)
    w.add_head_count(2)
    w.add_head_count_kv(2)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(vocab)
    return w


def tok_gpt2(name: str, pre: str) -> Path:
    spec = json.loads((TOKENIZERS / "gpt2_bytelevel.tokenizer.json").read_text())
    vocab = dict(spec["model"]["vocab"])
    special = set()
    for a in spec["added_tokens"]:
        vocab[a["content"]] = a["id"]
        if a["special"]:
            special.add(a["id"])
    tokens = [None] * (max(vocab.values()) + 1)
    for t, i in vocab.items():
        tokens[i] = t
    merges = [m if isinstance(m, str) else " ".join(m) for m in spec["model"]["merges"]]
    path = OUT / f"tok_{name}.gguf"
    w = tok_header(path, len(tokens))
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre)
    w.add_token_list(tokens)
    w.add_token_types([3 if i in special else 1 for i in range(len(tokens))])
    w.add_token_merges(merges)
    eos = next(iter(special))
    w.add_bos_token_id(eos)
    w.add_eos_token_id(eos)
    w.add_add_bos_token(False)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def tok_llama(name: str) -> Path:
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(TOKENIZERS / "sp_bpe.tokenizer.model"))
    tokens, scores, types = [], [], []
    for i in range(sp.vocab_size()):  # llama.cpp's _set_vocab_sentencepiece
        tokens.append(sp.id_to_piece(i))
        scores.append(sp.get_score(i))
        types.append(2 if sp.is_unknown(i) else 3 if sp.is_control(i) else 5 if sp.is_unused(i)
                     else 6 if sp.is_byte(i) else 1)
    path = OUT / f"tok_{name}.gguf"
    w = tok_header(path, len(tokens))
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(sp.bos_id())
    w.add_eos_token_id(sp.eos_id())
    w.add_unk_token_id(sp.unk_id())
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def tok_expected(path: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    corpus = json.loads((TOKENIZERS / "corpus.json").read_text())
    cases = []
    for case in corpus["cases"]:
        # HF takes str: invalid UTF-8 is replaced first (qbench's encode does the same).
        text = bytes.fromhex(case["hex"]).decode("utf-8", errors="replace")
        cases.append({"name": case["name"], "text": text,
                      "ids": tok.encode(text, add_special_tokens=False),
                      "ids_special": tok.encode(text, add_special_tokens=True)})
    out = {"bos": tok.bos_token_id, "eos": tok.eos_token_id, "vocab_size": len(tok),
           "backend": json.loads(tok.backend_tokenizer.to_str()) if "--dump" in sys.argv else None,
           "cases": cases}
    path.with_suffix(".expected.json").write_text(json.dumps(out, ensure_ascii=False, indent=0) + "\n")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    if sys.argv[1:] == ["gemma3"]:  # only the Gemma 3 files
        gemma3_gguf()
        return
    gemma3_gguf()
    quant_types()
    for model in ["llama_gqa_llama3", "llama_linear_bias"]:
        write_model(model, "f32")
        for kind in ["mixed", "q8_0", "q4_0"]:
            hf_reference(model, write_model(model, kind), kind)
    tok_expected(tok_gpt2("gpt2", "gpt-2"))
    tok_expected(tok_gpt2("gpt2_llama_bpe", "llama-bpe"))
    tok_expected(tok_llama("llama_sp"))


if __name__ == "__main__":
    main()
