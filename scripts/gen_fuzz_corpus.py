#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/) from the repo's own
fixtures, configs and data, plus a few small files made here with the formats' reference
packages (safetensors, gguf). Seeds are kept small (libFuzzer's input size limit defaults to the
largest seed). Byte-reproducible. Run from the repo root:

    .venv/bin/python scripts/gen_fuzz_corpus.py
"""
from __future__ import annotations

import json
import random
import shutil
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fuzz" / "corpus"


def put(target: str, name: str, data: bytes) -> None:
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def copy(target: str, src: Path, name: str | None = None) -> None:
    put(target, name or src.name, src.read_bytes())


def tiny_safetensors() -> bytes:
    from safetensors.numpy import save

    return save({"a.weight": np.arange(4, dtype=np.float32).reshape(2, 2),
                 "b.bias": np.ones(3, dtype=np.float16)}, metadata={"format": "pt"})


def tiny_gguf() -> bytes:
    import gguf

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tiny.gguf"
        w = gguf.GGUFWriter(str(path), "llama")
        w.add_uint8("t.u8", 7)
        w.add_int16("t.i16", -3)
        w.add_uint32("t.u32", 32)
        w.add_int64("t.i64", -64)
        w.add_float32("t.f32", 0.5)
        w.add_float64("t.f64", 2.25)
        w.add_bool("t.bool", True)
        w.add_string("t.str", "hi")
        w.add_array("t.arr", [1, 2, 3])
        w.add_array("t.sarr", ["a", "bc"])
        w.add_tensor("w.f32", np.arange(8, dtype=np.float32).reshape(2, 4))
        q8 = gguf.quants.quantize(np.linspace(-1, 1, 64, dtype=np.float32).reshape(2, 32),
                                  gguf.GGMLQuantizationType.Q8_0)
        w.add_tensor("w.q8", q8, raw_shape=q8.shape, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        return path.read_bytes()


def dequant_seeds() -> None:
    # (index in the target's type list, block bytes) for F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0
    # Q2_K Q3_K Q4_K Q5_K Q6_K; two blocks of random bytes with small finite fp16 scales.
    sizes = [4, 2, 2, 18, 20, 22, 24, 34, 84, 110, 144, 176, 210]
    rng = random.Random(1234)
    for i, size in enumerate(sizes):
        body = bytearray(rng.getrandbits(8) for _ in range(2 * size))
        put("gguf_dequant", f"type{i:02d}", bytes([i]) + bytes(body))


def main() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    fx = ROOT / "tests" / "fixtures"

    put("safetensors", "tiny.safetensors", tiny_safetensors())
    copy("safetensors", fx / "gguf" / "llama_gqa_llama3.q4_0.reference.safetensors")

    shard = "model-00001-of-00001.safetensors"
    put("safetensors_index", "index.json", json.dumps(
        {"metadata": {"total_size": 22}, "weight_map": {"a.weight": shard, "b.bias": shard}}).encode())

    put("gguf", "tiny.gguf", tiny_gguf())
    copy("gguf", fx / "gguf" / "llama_gqa_llama3.q4_0.gguf")
    dequant_seeds()

    for name in ["tok_gpt2.gguf", "tok_gpt2_llama_bpe.gguf", "tok_llama_sp.gguf"]:
        copy("gguf_tokenizer", fx / "gguf" / name)

    text = "Hello world! 123 4567\n\n  0. it's   done\t caf\u00e9 \u65e5\u672c".encode()
    for p in sorted((fx / "tokenizer").glob("*.tokenizer.json")):
        put("tokenizer_json", p.name, p.read_bytes() + b"\0" + text)
    copy("sentencepiece", fx / "tokenizer" / "sp_bpe.tokenizer.model")

    for p in sorted((ROOT / "configs").glob("*.yaml")):
        copy("run_config", p)
    for p in sorted((ROOT / "tasks").glob("*.yaml")):
        copy("task_yaml", p)
    for p in sorted(ROOT.glob("datasets/*/*.jsonl")):
        head = b"".join(p.read_bytes().splitlines(keepends=True)[:3])
        put("jsonl", f"{p.parent.name}.{p.name}", head)
    for p in sorted((fx / "models").glob("*/*/config.json")):
        put("model_config", f"{p.parent.parent.name}.{p.parent.name}.json", p.read_bytes())

    # A streamed completion as vLLM sends it (text chunks, a usage chunk, [DONE]), a chat one,
    # and an error event; the first byte picks where the stream is split in two.
    def event(obj) -> bytes:
        return b"data: " + (obj if isinstance(obj, bytes) else json.dumps(obj).encode()) + b"\n\n"
    chunk = lambda text, fin=None: {"id": "cmpl-1", "object": "text_completion", "model": "m",
                                    "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": fin}]}
    usage = {"id": "cmpl-1", "choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}}
    put("sse_stream", "completion.sse", b"\x17" + event(chunk(" a")) + event(chunk(" b")) +
        event(chunk(" c", "length")) + event(usage) + event(b"[DONE]"))
    chat = {"id": "c", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "hi"},
                                                                        "finish_reason": "stop"}]}
    put("sse_stream", "chat.sse", b"\x05: keep-alive\r\n\r\n" + event(chat).replace(b"\n", b"\r\n") + event(b"[DONE]"))
    put("sse_stream", "error.sse", b"\x00event: error\ndata: {\"error\": {\"message\": \"overloaded\"}}\n\n")
    # A vLLM echo answer for a prompt of 4 tokens (first byte: 3 -> n = 4).
    echo = {"id": "cmpl-2", "object": "text_completion", "model": "m", "choices": [{
        "index": 0, "text": "x", "finish_reason": "length", "logprobs": {
            "tokens": ["token_id:1", "token_id:5", "token_id:9", "token_id:2", "token_id:7"],
            "token_logprobs": [None, -1.5, -0.25, -3.0, -0.5],
            "top_logprobs": [None, {"token_id:5": -1.5, "token_id:0": -0.5}, {"token_id:9": -0.25},
                             {"token_id:2": -3.0, "token_id:4": -0.1}, {"token_id:7": -0.5}],
            "text_offset": [0, 1, 2, 3, 4]}}]}
    put("served_logprobs", "echo.json", b"\x03" + json.dumps(echo).encode())


if __name__ == "__main__":
    main()
