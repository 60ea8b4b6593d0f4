#!/usr/bin/env python3
"""Generates the quantization fixtures under tests/fixtures/quant/.

Every fixture has an `expected.safetensors` with
  <module>.weight   F32 [N, K]   the dequantized weight of each quantized layer, computed here
                                 in float32 as float32(scale) * (code - zero)
  input_ids         I64 [2, T]
  logits            F64 [2, T, V] a float64 forward (gen_model_fixtures.reference_logits) of
                                 exactly those weights (activation quantization, where the scheme
                                 has it, emulated in float32 on each Linear's input)
  nll               F64 [2]      -sum log p(next token) per row, from `logits`

Checkpoints (one directory each, config.json + model.safetensors, non-quantized tensors in
float16) are written by independent packers that follow ../shared/reference/quant-formats.md
(AutoGPTQ's pack loop including its 3-bit word straddling, AutoAWQ's GEMM nibble order and GEMV
zero widths, compressed-tensors' offset bit packing, FP8 scales). GPTQ and AWQ producers need a
GPU; the compressed-tensors packing is cross-checked against the `compressed-tensors` package's
own pack_to_int32 when it is installed, and two more checkpoints (ct_producer_*) are written by
the package itself (ModelCompressor) with its own decompression as the expected weights.

rtn/<spec>.safetensors hold the same for run-time RTN quantization of
tests/fixtures/models/llama_linear_bias/f32, with RTN written here in NumPy from the rule in
include/qbench/quant/rtn.hpp (fp16 scales, round half to even).

Run from the repo root:  .venv/bin/python scripts/gen_quant_fixtures.py
"""
from __future__ import annotations

import json
import math
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load_file, save_file
from safetensors.torch import save_file as save_torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_model_fixtures as g  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "quant"
LINEARS = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
           "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]
F32 = np.float32


# --------------------------------------------------------------------------------------------
# RTN (the rule of include/qbench/quant/rtn.hpp) and dequantization
def rtn(W: np.ndarray, bits: int, gs: int, sym: bool):
    """W f32 [N, K] -> codes u8 [N, K], scales f16 [N, G], zeros u8 [N, G]."""
    N, K = W.shape
    gs = K if gs <= 0 else gs
    G = -(-K // gs)
    Wp = np.zeros((N, G * gs), F32)
    Wp[:, :K] = W
    Wg = Wp.reshape(N, G, gs)
    maxq = F32(2 ** bits - 1)
    if sym:
        s = (np.abs(Wg).max(-1) * F32(2)) / maxq
        z = np.full((N, G), 2 ** (bits - 1), F32)
    else:
        lo = np.minimum(Wg.min(-1), F32(0))
        hi = np.maximum(Wg.max(-1), F32(0))
        s = (hi - lo) / maxq
    s16 = s.astype(np.float16)
    s16[s16 == 0] = 1
    sf = s16.astype(F32)
    if not sym:
        z = np.clip(np.rint(-lo / sf), 0, maxq).astype(F32)
    q = np.clip(np.rint(Wg / sf[..., None]) + z[..., None], 0, maxq)
    return q.reshape(N, G * gs)[:, :K].astype(np.uint8), s16, z.astype(np.uint8)


def dequant(codes, scales, zeros, g_idx):
    s = scales.astype(F32)[:, g_idx]
    z = zeros.astype(F32)[:, g_idx]
    return (s * (codes.astype(F32) - z)).astype(F32)


def trivial_gidx(K, gs):
    return np.arange(K) // (K if gs <= 0 else gs)


# --------------------------------------------------------------------------------------------
# Activation quantization (float32, as qbench's fake_quant_activation) and the reference forward
def fq_int8_token(v):
    x = torch.from_numpy(np.asarray(v, dtype=F32))
    s = x.abs().amax(-1, keepdim=True).clamp_min(1e-12) / 127.0
    return (torch.round(x / s).clamp(-127, 127) * s).double().numpy()


def fq_fp8(x, s):
    return ((x / s).clamp(-448, 448).to(torch.float8_e4m3fn).float() * s)


def fq_fp8_token(v):
    x = torch.from_numpy(np.asarray(v, dtype=F32))
    return fq_fp8(x, x.abs().amax(-1, keepdim=True).clamp_min(1e-12) / 448.0).double().numpy()


def fq_fp8_group128(v):
    x = torch.from_numpy(np.asarray(v, dtype=F32))
    K = x.shape[-1]
    G = -(-K // 128)
    xp = torch.nn.functional.pad(x, (0, G * 128 - K)).reshape(*x.shape[:-1], G, 128)
    q = fq_fp8(xp, xp.abs().amax(-1, keepdim=True).clamp_min(1e-12) / 448.0)
    return q.reshape(*x.shape[:-1], G * 128)[..., :K].double().numpy()


def fq_fp8_static(scale):
    def f(v):
        x = torch.from_numpy(np.asarray(v, dtype=F32))
        return fq_fp8(x, torch.tensor(scale, dtype=torch.float32)).double().numpy()
    return f


class ActQuantWeight:
    """W[name] stand-in: `v @ w.T` quantizes v first (reference_logits' lin() does v @ W.T)."""
    __array_ufunc__ = None

    def __init__(self, w, fq):
        self.T = _Transposed(w.T, fq)


class _Transposed:
    __array_ufunc__ = None

    def __init__(self, wt, fq):
        self.wt, self.fq = wt, fq

    def __rmatmul__(self, v):
        return self.fq(v) @ self.wt


def reference(W64: dict, rc: dict, ids: np.ndarray, act: dict | None = None):
    Wr = dict(W64)
    for name, fq in (act or {}).items():
        Wr[name + ".weight"] = ActQuantWeight(W64[name + ".weight"], fq)
    logits = np.stack([g.reference_logits(Wr, rc, row) for row in ids])
    lp = g.log_softmax(logits)
    nll = np.array([-lp[r, np.arange(ids.shape[1] - 1), ids[r, 1:]].sum() for r in range(ids.shape[0])])
    return logits, nll


def write_expected(path: Path, deq: dict, ids, logits, nll):
    t = {k + ".weight": np.ascontiguousarray(v, dtype=F32) for k, v in deq.items()}
    t.update(input_ids=ids.astype(np.int64), logits=logits.astype(np.float64), nll=nll.astype(np.float64))
    save_file(t, str(path))


# --------------------------------------------------------------------------------------------
# Packers, from quant-formats.md
def gptq_pack_rows(intweight: np.ndarray, bits: int) -> np.ndarray:
    """AutoGPTQ qlinear_cuda_old.pack(): intweight [K, N] -> int32 [K*bits/32, N] (along K)."""
    iw = intweight.astype(np.uint32)
    K, N = iw.shape
    q = np.zeros((K * bits // 32, N), np.uint32)
    i = row = 0
    while row < q.shape[0]:
        if bits in (2, 4, 8):
            for j in range(i, i + 32 // bits):
                q[row] |= iw[j] << np.uint32(bits * (j - i))
            i += 32 // bits
            row += 1
        else:  # 3 bits: 32 values in 3 words, straddling
            for j in range(i, i + 10):
                q[row] |= iw[j] << np.uint32(3 * (j - i))
            i += 10
            q[row] |= iw[i] << np.uint32(30)
            row += 1
            q[row] |= (iw[i] >> np.uint32(2)) & np.uint32(1)
            i += 1
            for j in range(i, i + 10):
                q[row] |= iw[j] << np.uint32(3 * (j - i) + 1)
            i += 10
            q[row] |= iw[i] << np.uint32(31)
            row += 1
            q[row] |= (iw[i] >> np.uint32(1)) & np.uint32(3)
            i += 1
            for j in range(i, i + 10):
                q[row] |= iw[j] << np.uint32(3 * (j - i) + 2)
            i += 10
            row += 1
    return q.view(np.int32)


def gptq_tensors(prefix, codes, scales, zeros, g_idx, bits, v1):
    zs = zeros.astype(np.int64)
    if v1:
        zs = (zs - 1) & (2 ** bits - 1)  # stored minus one, masked (GPTQModel v2 -> v1)
    return {
        prefix + ".qweight": gptq_pack_rows(codes.T, bits),
        # qzeros packs along N: the same loop on the transposed [N, G] zeros
        prefix + ".qzeros": np.ascontiguousarray(gptq_pack_rows(zs.astype(np.uint32), bits).T),
        prefix + ".scales": np.ascontiguousarray(scales.T).astype(np.float16),
        prefix + ".g_idx": g_idx.astype(np.int32),
    }


AWQ_ORDER = [0, 2, 4, 6, 1, 3, 5, 7]


def awq_gemm_pack(m: np.ndarray) -> np.ndarray:
    """[R, N] nibbles -> int32 [R, N/8]; nibble i of word c holds column c*8 + AWQ_ORDER[i]."""
    R, N = m.shape
    out = np.zeros((R, N // 8), np.uint32)
    for c in range(N // 8):
        for i in range(8):
            out[:, c] |= m[:, c * 8 + AWQ_ORDER[i]].astype(np.uint32) << np.uint32(4 * i)
    return out.view(np.int32)


def seq_pack4(m: np.ndarray) -> np.ndarray:
    R, L = m.shape
    out = np.zeros((R, L // 8), np.uint32)
    for c in range(L // 8):
        for i in range(8):
            out[:, c] |= m[:, c * 8 + i].astype(np.uint32) << np.uint32(4 * i)
    return out.view(np.int32)


def awq_zeros_width(K, gs):
    mult = 1 if gs >= 128 else {64: 2, 32: 4}[gs]
    base = math.ceil(K / gs / 8)
    return (base + mult - 1) // mult * mult


def ct_pack(values_unsigned: np.ndarray, bits: int) -> np.ndarray:
    """compressed-tensors pack along the last dim: offset values LSB-first, dense across words."""
    R, L = values_unsigned.shape
    words = -(-L * bits // 32)
    out = np.zeros((R, words), np.uint64)
    for i in range(L):
        bit = i * bits
        v = values_unsigned[:, i].astype(np.uint64) << np.uint64(bit % 32)
        out[:, bit // 32] |= v & np.uint64(0xFFFFFFFF)
        if bit % 32 + bits > 32:
            out[:, bit // 32 + 1] |= v >> np.uint64(32)
    return out.astype(np.uint32).view(np.int32)


def check_ct_pack(unsigned: np.ndarray, bits: int, packed: np.ndarray, dim: int):
    try:
        from compressed_tensors.compressors.pack_quantized.base import pack_to_int32
    except ImportError:
        return
    signed = torch.from_numpy(unsigned.astype(np.int32) - 2 ** (bits - 1)).to(torch.int8)
    ref = pack_to_int32(signed, bits, packed_dim=dim).numpy()
    assert np.array_equal(ref, packed), "compressed-tensors pack_to_int32 disagrees with the packer"


# --------------------------------------------------------------------------------------------
BASE_EXTRA = dict(num_key_value_heads=4, tie_word_embeddings=False,
                  rope_parameters=dict(rope_type="default", rope_theta=10000.0))


def base_model():
    from transformers import LlamaConfig, LlamaForCausalLM
    kw = dict(vocab_size=96, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
              num_attention_heads=4, max_position_embeddings=128, rms_norm_eps=1e-5,
              bos_token_id=1, eos_token_id=2, pad_token_id=0, **BASE_EXTRA)
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(**kw)).eval()
    g.randomize(model, 7)
    cfg = json.loads(model.config.to_json_string())
    cfg["architectures"] = ["LlamaForCausalLM"]
    cfg["torch_dtype"] = "float16"
    cfg.pop("dtype", None)
    sd = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    return model.config, cfg, sd


def save_ckpt(name, cfg, tensors, qc, qc_file=None):
    d = OUT / name
    d.mkdir(parents=True)
    c = dict(cfg)
    if qc_file is None:
        c["quantization_config"] = qc
    else:
        (d / qc_file).write_text(json.dumps(qc, indent=2))
    (d / "config.json").write_text(json.dumps(c, indent=2))
    np_t = {k: v for k, v in tensors.items() if isinstance(v, np.ndarray)}
    t_t = {k: v for k, v in tensors.items() if isinstance(v, torch.Tensor)}
    t_t.update({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in np_t.items()})
    save_torch(t_t, str(d / "model.safetensors"), metadata={"format": "pt"})
    return d


def main() -> int:
    if OUT.exists():
        shutil.rmtree(OUT)
    (OUT / "rtn").mkdir(parents=True)
    rng = np.random.default_rng(99)

    # --- run-time RTN on the float32 golden fixture ------------------------------------------
    name = "llama_linear_bias"
    sd = load_file(str(g.OUT / name / "f32" / "model.safetensors"))
    hf_cfg = json.loads((g.OUT / name / "f32" / "config.json").read_text())
    from transformers import LlamaConfig
    rc = g.ref_cfg(LlamaConfig(**hf_cfg), g.FIXTURES[name][2])
    ids = rng.integers(3, 96, size=(2, 16))
    for bits, gs, sym in [(8, -1, True), (4, 32, False), (4, -1, True), (3, 32, True), (2, -1, False)]:
        W = {k: v.astype(np.float64) for k, v in sd.items()}
        deq = {}
        for i in range(rc["layers"]):
            for lin in LINEARS:
                key = f"model.layers.{i}.{lin}"
                w = sd[key + ".weight"]
                c, s, z = rtn(w, bits, gs, sym)
                deq[key] = dequant(c, s, z, trivial_gidx(w.shape[1], gs))
                W[key + ".weight"] = deq[key].astype(np.float64)
        logits, nll = reference(W, rc, ids)
        spec = f"rtn:bits={bits},group_size={gs},sym={'true' if sym else 'false'}"
        tag = f"b{bits}_g{gs}_{'sym' if sym else 'asym'}"
        write_expected(OUT / "rtn" / f"{tag}.safetensors", deq, ids, logits, nll)
        print(f"rtn {spec}: ppl {math.exp(nll.sum() / (2 * 15)):.3f}")

    # --- checkpoint formats on a tiny Llama (hidden 32, intermediate 64, one layer) ------------
    hf, cfg, sd = base_model()
    rc = g.ref_cfg(hf, BASE_EXTRA)
    f16 = {k: v.astype(np.float16) for k, v in sd.items()}
    ids = rng.integers(3, 96, size=(2, 16))
    layer_names = [f"model.layers.0.{lin}" for lin in LINEARS]

    def build(name, qc, per_layer, qc_file=None, act=None):
        """per_layer(prefix, w_f32) -> (tensors, dequantized f32) or None to keep the layer float."""
        tensors = {k: v for k, v in f16.items()}
        W = {k: v.astype(np.float64) for k, v in f16.items()}
        deq = {}
        for p in layer_names:
            w = f16[p + ".weight"].astype(F32)
            out = per_layer(p, w)
            if out is None:
                continue
            t, d = out
            del tensors[p + ".weight"]
            tensors.update(t)
            deq[p] = d
            W[p + ".weight"] = d.astype(np.float64)
        save_ckpt(name, cfg, tensors, qc, qc_file)
        logits, nll = reference(W, rc, ids, {p: act for p in deq} if act else None)
        write_expected(OUT / name / "expected.safetensors", deq, ids, logits, nll)
        print(f"{name}: ppl {math.exp(nll.sum() / (2 * 15)):.3f}, {len(deq)} quantized layers")

    # GPTQ
    def gptq_layer(bits, gs, sym, v1, act_order):
        def f(p, w):
            N, K = w.shape
            if act_order:
                perm = rng.permutation(K)
                inv = np.argsort(perm)
                c, s, z = rtn(w[:, perm], bits, gs, sym)
                c = c[:, inv]
                gidx = trivial_gidx(K, gs)[inv]
            else:
                c, s, z = rtn(w, bits, gs, sym)
                gidx = trivial_gidx(K, gs)
            return gptq_tensors(p, c, s, z, gidx, bits, v1), dequant(c, s, z, gidx)
        return f

    def gptq_qc(bits, gs, sym, fmt, desc_act, **extra):
        return dict(quant_method="gptq", bits=bits, group_size=gs, sym=sym, desc_act=desc_act,
                    checkpoint_format=fmt, damp_percent=0.01, true_sequential=True, **extra)

    build("gptq_b4_g32_sym_v1", gptq_qc(4, 32, True, "gptq", False), gptq_layer(4, 32, True, True, False))
    build("gptq_b4_g32_asym_v2_actorder", gptq_qc(4, 32, False, "gptq_v2", True),
          gptq_layer(4, 32, False, False, True))
    build("gptq_b3_g32_asym_v1", gptq_qc(3, 32, False, "gptq", False), gptq_layer(3, 32, False, True, False))
    build("gptq_b2_gm1_sym_v2_quantize_config", dict(bits=2, group_size=-1, sym=True, desc_act=False,
                                                     checkpoint_format="gptq_v2"),
          gptq_layer(2, -1, True, False, False), qc_file="quantize_config.json")
    build("gptq_b8_g16_asym_v1_actorder", gptq_qc(8, 16, False, "gptq", True), gptq_layer(8, 16, False, True, True))

    def dynamic_layer(p, w):
        if p.endswith("down_proj"):
            return None
        if p.endswith("gate_proj"):
            return gptq_layer(8, 32, True, False, False)(p, w)
        return gptq_layer(4, 32, True, False, False)(p, w)

    build("gptq_b4_dynamic", gptq_qc(4, 32, True, "gptq_v2", False,
                                     dynamic={"-:.*down_proj": {}, "+:.*gate_proj": {"bits": 8}}),
          dynamic_layer)

    # AWQ
    def awq_layer(gs, gemv):
        def f(p, w):
            N, K = w.shape
            c, s, z = rtn(w, 4, gs, False)
            G = K // gs
            if not gemv:
                t = {p + ".qweight": awq_gemm_pack(c.T), p + ".qzeros": awq_gemm_pack(z.T),
                     p + ".scales": np.ascontiguousarray(s.T).astype(np.float16)}
            else:
                W8 = awq_zeros_width(K, gs) * 8
                zp = np.zeros((N, W8), np.uint8)
                zp[:, :G] = z
                sp = np.zeros((N, W8), np.float16)
                sp[:, :G] = s
                t = {p + ".qweight": seq_pack4(c), p + ".qzeros": seq_pack4(zp), p + ".scales": sp}
            return t, dequant(c, s, z, trivial_gidx(K, gs))
        return f

    awq_qc = lambda gs, v: dict(quant_method="awq", bits=4, group_size=gs, zero_point=True, version=v,
                                modules_to_not_convert=None)
    build("awq_gemm_g32", awq_qc(32, "gemm"), awq_layer(32, False))
    build("awq_gemv_g32", awq_qc(32, "gemv"), awq_layer(32, True))

    # compressed-tensors
    def ct_qc(fmt, weights, inputs=None, ignore=("lm_head",)):
        return {"quant_method": "compressed-tensors", "format": fmt, "version": "0.20.0",
                "quantization_status": "compressed", "global_compression_ratio": None,
                "ignore": list(ignore), "kv_cache_scheme": None, "sparsity_config": None,
                "config_groups": {"group_0": {"targets": ["Linear"], "weights": weights,
                                              "input_activations": inputs, "output_activations": None,
                                              "format": fmt}}}

    def int_args(bits, strategy, gs, sym, actorder=None):
        return {"num_bits": bits, "type": "int", "symmetric": sym, "strategy": strategy,
                "group_size": gs if strategy == "group" else None, "block_structure": None,
                "dynamic": False, "actorder": actorder, "observer": "minmax", "observer_kwargs": {}}

    def ct_int_layer(bits, gs, sym, packed, actorder=False):
        def f(p, w):
            N, K = w.shape
            if actorder:
                perm = rng.permutation(K)
                inv = np.argsort(perm)
                c, s, z = rtn(w[:, perm], bits, gs, sym)
                c = c[:, inv]
                gidx = trivial_gidx(K, gs)[inv]
            else:
                c, s, z = rtn(w, bits, gs, sym)
                gidx = trivial_gidx(K, gs)
            t = {p + ".weight_scale": s}
            if packed:
                t[p + ".weight_packed"] = ct_pack(c, bits)
                check_ct_pack(c, bits, t[p + ".weight_packed"], 1)
                t[p + ".weight_shape"] = np.array([N, K], np.int64)
                if not sym:
                    zp = np.ascontiguousarray(ct_pack(z.T, bits).T)
                    check_ct_pack(z, bits, zp, 0)
                    t[p + ".weight_zero_point"] = zp
            else:
                t[p + ".weight"] = (c.astype(np.int16) - 2 ** (bits - 1)).astype(np.int8)
                if not sym:
                    t[p + ".weight_zero_point"] = (z.astype(np.int16) - 2 ** (bits - 1)).astype(np.int8)
            if actorder:
                t[p + ".weight_g_idx"] = gidx.astype(np.int32)
            return t, dequant(c, s, z, gidx)
        return f

    build("ct_w4a16_group32_sym", ct_qc("pack-quantized", int_args(4, "group", 32, True)),
          ct_int_layer(4, 32, True, True))
    build("ct_w4a16_channel_asym_ignore_down",
          ct_qc("pack-quantized", int_args(4, "channel", None, False), ignore=("lm_head", "re:.*down_proj$")),
          lambda p, w: None if p.endswith("down_proj") else ct_int_layer(4, -1, False, True)(p, w))
    build("ct_w4a16_group32_asym_actorder", ct_qc("pack-quantized", int_args(4, "group", 32, False, "group")),
          ct_int_layer(4, 32, False, True, actorder=True))
    build("ct_w8a16_group16_asym_packed", ct_qc("pack-quantized", int_args(8, "group", 16, False)),
          ct_int_layer(8, 16, False, True))
    build("ct_w4a16_group32_asym_naive", ct_qc("naive-quantized", int_args(4, "group", 32, False)),
          ct_int_layer(4, 32, False, False))

    def int8_channel_layer(p, w):
        s = np.abs(w).max(1, keepdims=True) / F32(127)
        s = s.astype(np.float16)
        sf = s.astype(F32)
        q = np.clip(np.rint(w / sf), -127, 127).astype(np.int8)
        return {p + ".weight": q, p + ".weight_scale": s}, (sf * q.astype(F32)).astype(F32)

    tok = {"num_bits": 8, "type": "int", "symmetric": True, "strategy": "token", "dynamic": True}
    build("ct_w8a8_int_channel", ct_qc("int-quantized", int_args(8, "channel", None, True), tok),
          int8_channel_layer, act=fq_int8_token)

    def fp8_weight(w, scale_shape):
        wt = torch.from_numpy(w)
        N, K = w.shape
        if scale_shape == "tensor":
            s = (wt.abs().max() / 448.0).reshape(1)
            full = s.reshape(1, 1)
        elif scale_shape == "channel":
            s = wt.abs().amax(1, keepdim=True) / 448.0
            full = s
        else:
            bh, bw = scale_shape
            rows, cols = -(-N // bh), -(-K // bw)
            s = torch.zeros(rows, cols)
            for r in range(rows):
                for c in range(cols):
                    s[r, c] = wt[r * bh:(r + 1) * bh, c * bw:(c + 1) * bw].abs().max() / 448.0
            full = s.repeat_interleave(bh, 0).repeat_interleave(bw, 1)[:N, :K]
        q = (wt / full).clamp(-448, 448).to(torch.float8_e4m3fn)
        return q, s.float(), (q.float() * full).numpy().astype(F32)

    def fp8_args(strategy, block=None):
        return {"num_bits": 8, "type": "float", "symmetric": True, "strategy": strategy, "group_size": None,
                "block_structure": block, "dynamic": False, "actorder": None, "observer": "minmax"}

    static_scale = 4.0 / 448.0

    def ct_fp8_layer(kind, static=False):
        def f(p, w):
            q, s, d = fp8_weight(w, kind)
            t = {p + ".weight": q, p + ".weight_scale": s}
            if static:
                t[p + ".input_scale"] = torch.tensor([static_scale], dtype=torch.float32)
            return t, d
        return f

    build("ct_fp8_tensor_static",
          ct_qc("float-quantized", fp8_args("tensor"),
                {"num_bits": 8, "type": "float", "symmetric": True, "strategy": "tensor", "dynamic": False}),
          ct_fp8_layer("tensor", static=True), act=fq_fp8_static(static_scale))
    build("ct_fp8_channel_dynamic",
          ct_qc("float-quantized", fp8_args("channel"),
                {"num_bits": 8, "type": "float", "symmetric": True, "strategy": "token", "dynamic": True}),
          ct_fp8_layer("channel"), act=fq_fp8_token)
    build("ct_fp8_block_dynamic",
          ct_qc("float-quantized", fp8_args("block", [16, 16]),
                {"num_bits": 8, "type": "float", "symmetric": True, "strategy": "group", "group_size": 128,
                 "dynamic": True}),
          ct_fp8_layer((16, 16)), act=fq_fp8_group128)
    build("ct_fp8_channel_weight_only", ct_qc("float-quantized", fp8_args("channel")), ct_fp8_layer("channel"))

    # fp8: HF fine-grained blocks and AutoFP8 per-tensor static
    def hf_block_layer(p, w):
        q, s, d = fp8_weight(w, (16, 128))
        return {p + ".weight": q, p + ".weight_scale_inv": s}, d

    build("fp8_block_16x128", dict(quant_method="fp8", activation_scheme="dynamic", weight_block_size=[16, 128],
                                   modules_to_not_convert=["lm_head"]), hf_block_layer, act=fq_fp8_group128)

    def autofp8_layer(p, w):
        q, s, d = fp8_weight(w, "tensor")
        return {p + ".weight": q, p + ".weight_scale": s.reshape(()),
                p + ".input_scale": torch.tensor(static_scale, dtype=torch.float32)}, d

    build("fp8_tensor_static", dict(quant_method="fp8", activation_scheme="static", ignored_layers=["lm_head"]),
          autofp8_layer, act=fq_fp8_static(static_scale))

    producer_fixtures(hf, cfg, sd, rc, ids)
    return 0


def producer_fixtures(hf, cfg, sd, rc, ids):
    """compressed-tensors checkpoints written by the compressed-tensors package itself (it runs on a
    CPU): min/max qparams from its calculate_qparams, ModelCompressor.compress_model, then the
    package's own decompress_model gives the expected weights."""
    try:
        from compressed_tensors.compressors import ModelCompressor
        from compressed_tensors.quantization import (QuantizationArgs, QuantizationConfig, QuantizationScheme,
                                                     QuantizationStatus, apply_quantization_config)
        from compressed_tensors.quantization.utils import calculate_qparams
    except ImportError:
        print("compressed-tensors is not installed: producer fixtures skipped", file=sys.stderr)
        return
    from transformers import LlamaForCausalLM
    cases = {
        "ct_producer_w4a16_group32_asym": ("pack-quantized", QuantizationArgs(
            num_bits=4, type="int", symmetric=False, strategy="group", group_size=32), None),
        "ct_producer_w8a8_channel": ("int-quantized", QuantizationArgs(
            num_bits=8, type="int", symmetric=True, strategy="channel"), QuantizationArgs(
            num_bits=8, type="int", symmetric=True, strategy="token", dynamic=True)),
    }
    for name, (fmt, wargs, iargs) in cases.items():
        model = LlamaForCausalLM(hf).eval()
        model.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()}, strict=False)
        qc = QuantizationConfig(config_groups={"group_0": QuantizationScheme(
            targets=["Linear"], weights=wargs, input_activations=iargs)}, ignore=["lm_head"], format=fmt)
        apply_quantization_config(model, qc)
        with torch.no_grad():
            for mod in model.modules():
                if not hasattr(mod, "weight_scale"):
                    continue
                w = mod.weight
                N, K = w.shape
                gs = wargs.group_size if wargs.strategy == "group" else K
                grouped = w.reshape(N, K // gs, gs)
                scale, zp = calculate_qparams(grouped.amin(-1), grouped.amax(-1), wargs)
                mod.weight_scale.data.copy_(scale.reshape(mod.weight_scale.shape))
                if hasattr(mod, "weight_zero_point"):
                    mod.weight_zero_point.data.copy_(zp.reshape(mod.weight_zero_point.shape))
                mod.quantization_status = QuantizationStatus.FROZEN
        comp = ModelCompressor.from_pretrained_model(model, fmt)
        comp.compress_model(model)
        d = OUT / name
        model.save_pretrained(d)
        comp.update_config(str(d))
        for extra in d.iterdir():
            if extra.name not in ("config.json", "model.safetensors"):
                extra.unlink()
        comp.decompress_model(model)
        W = {k: v.astype(np.float64) for k, v in sd.items()}
        deq = {}
        for i in range(rc["layers"]):
            for lin in LINEARS:
                key = f"model.layers.{i}.{lin}"
                deq[key] = model.get_submodule(key).weight.detach().float().numpy()
                W[key + ".weight"] = deq[key].astype(np.float64)
        act = fq_int8_token if iargs is not None else None
        logits, nll = reference(W, rc, ids, {p: act for p in deq} if act else None)
        write_expected(d / "expected.safetensors", deq, ids, logits, nll)
        print(f"{name}: ppl {math.exp(nll.sum() / (2 * 15)):.3f} (written by compressed-tensors)")


if __name__ == "__main__":
    sys.exit(main())
