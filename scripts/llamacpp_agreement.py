#!/usr/bin/env python3
"""qbench against llama.cpp itself, the reference for GGUF files.

  tokenize   reference ids from the built `llama-tokenize` for a set of long real texts (and one
             Unicode / special-token text written here) on every llama.cpp vocab test file
             (models/ggml-vocab-*.gguf) and the real models in ~/.cache/qbench/models; written
             as JSON to a cache directory outside the repository, where
             tests/tokenizer/gguf_tokenizer_llamacpp_test.cpp (ctest -L llamacpp) reads them.
             --fixtures also rewrites tests/fixtures/gguf/<vocab>.llamacpp.json: llama.cpp's ids
             for the case texts of the small committed GGUF vocabularies (unit tests).

Run with the project's venv: .venv/bin/python scripts/llamacpp_agreement.py tokenize
The llama.cpp root comes from --llama-cpp, else scripts/fetch_llamacpp (which builds the tools).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CACHE = Path(os.environ.get("QBENCH_LLAMACPP_REFS", Path.home() / ".cache/qbench/llamacpp_agreement"))
REAL_MODELS = Path.home() / ".cache/qbench/models"


def llama_cpp_root(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    out = subprocess.run([str(REPO / "scripts/fetch_llamacpp")], check=True, capture_output=True, text=True)
    return Path(out.stdout.strip().splitlines()[-1])


# ---- tokenize ----

# Written here: what the real texts lack. Unicode 14/15/15.1 characters (emoji, CJK Extension I),
# combining marks, scripts without spaces, digit runs of every length and script, whitespace runs
# of every kind, and the special-token spellings of the common vocabularies.
UNICODE_TEXT = (
    "Emoji 14-15: \U0001FAE0 \U0001FAF6\U0001F3FD \U0001FA77 \U0001FACE\U0001FACF \U0001F6DC \U0001FAAD, "
    "ZWJ \U0001F469\u200D\U0001F4BB and flags \U0001F1FA\U0001F1F8.\n"
    "CJK: 漢字かな交じり文、カタカナ，한국어 문장입니다。 Ext I: \U0002EBF0\U0002EBF1 \u2FFC\u31EF\n"
    "Marks: e\u0301te\u0301 n\u0303 a\u0308\u0304 \u0928\u092E\u0938\u094D\u0924\u0947 "
    "\u05E9\u05B8\u05C1\u05DC\u05D5\u05B9\u05DD \u0645\u064E\u0631\u0652\u062D\u064E\u0628\u064B\u0627 "
    "\u0E2A\u0E27\u0E31\u0E2A\u0E14\u0E35\u0E04\u0E23\u0E31\u0E1A \u1F00\u0345\n"
    "Digits: 1 12 123 1234 12345 123456 1234567 12345678901234567890 3.14159 1,000,000 "
    "\u0663\u0664\u0665 \uFF11\uFF12\uFF13 \u00B2\u00BD \u2167 0x1F\n"
    "Spaces:\t\ttab  two   three    four\u00A0nbsp\u3000ideo\u2028ls\u2009thin \u202F\n\n\n"
    "  \n \r\n\r\n   lead\n        deep indent\n"
    "Contractions: I'm you're we've they'd it'll DON'T WE'LL O'Neil\n"
    "Specials: <s> </s> <unk> <|endoftext|> <|im_start|>user\nhi<|im_end|> <start_of_turn>model "
    "<end_of_turn> [CLS] [SEP] [MASK] <mask> <|begin_of_text|> <|eot_id|> <pad> <eos> <bos>\n"
    "Mixed: naïve café — “quotes” ‘single’ … ½ ¼ © ® ™ € £ ¥ ∑∫√∞ ≤≥ ←→ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟙𝟚𝟛\n"
)


def texts(root: Path) -> list[tuple[str, bytes]]:
    """(name, bytes) of the texts; missing files are left out with a note."""
    site = REPO / ".venv/lib/python3.11/site-packages"
    files = {
        "gpl3": Path("/usr/share/common-licenses/GPL-3"),
        "py_typing_extensions": site / "typing_extensions.py",
        "py_six": site / "six.py",
        "llamacpp_build_md": root / "docs/build.md",
        "llamacpp_readme": root / "README.md",
    }
    out = []
    for name, path in files.items():
        if path.is_file():
            out.append((name, path.read_bytes()))
        else:
            print(f"note: {path} is absent, text '{name}' left out", file=sys.stderr)
    out.append(("unicode", UNICODE_TEXT.encode()))
    return out


def vocab_files(root: Path) -> list[Path]:
    files = sorted((root / "models").glob("ggml-vocab-*.gguf"))
    files += sorted(p for p in REAL_MODELS.glob("*.gguf")) if REAL_MODELS.is_dir() else []
    return files


def llama_tokenize(tool: Path, model: Path, text_file: Path, parse_special: bool, add_special: bool) -> dict:
    cmd = [str(tool), "-m", str(model), "-f", str(text_file), "--ids", "--no-escape", "--log-disable"]
    if not add_special:
        cmd.append("--no-bos")
    if not parse_special:  # llama-tokenize parses special tokens by default
        cmd.append("--no-parse-special")
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        tail = (run.stderr or run.stdout).strip().splitlines()[-3:]
        return {"error": " | ".join(tail) or f"exit {run.returncode}"}
    line = [ln for ln in run.stdout.splitlines() if ln.startswith("[")]
    if not line:
        return {"error": "no ids printed"}
    return {"ids": json.loads(line[-1])}


FIXTURE_VOCABS = ["tok_gpt2", "tok_gpt2_llama_bpe", "tok_llama_sp", "gemma3.q8"]


def write_fixture_refs(tool: Path) -> None:
    """tests/fixtures/gguf/<name>.llamacpp.json for the committed vocabularies: per case text of
    <name>.expected.json, llama-tokenize's ids without special parsing (without and with the
    model's BOS/EOS) and with special parsing."""
    fixtures = REPO / "tests/fixtures/gguf"
    for name in FIXTURE_VOCABS:
        model = fixtures / f"{name}.gguf"
        cases = json.loads((fixtures / f"{name}.expected.json").read_text())["cases"]
        out = []
        for c in cases:
            text_file = Path(os.environ.get("TMPDIR", "/tmp")) / f"qbench-llamacpp-{os.getpid()}.txt"
            text_file.write_bytes(c["text"].encode())
            refs = {key: llama_tokenize(tool, model, text_file, parse, add)
                    for key, parse, add in (("ids", False, False), ("ids_special", False, True),
                                            ("ids_parse_special", True, False))}
            text_file.unlink()
            bad = [k for k, r in refs.items() if "error" in r]
            if bad:
                raise RuntimeError(f"{model}: llama-tokenize failed on case {c['name']}: {refs[bad[0]]['error']}")
            out.append({"name": c["name"], "text": c["text"], **{k: r["ids"] for k, r in refs.items()}})
        dest = fixtures / f"{name}.llamacpp.json"
        source = "llama-tokenize (llama.cpp of llama-cpp-python 0.3.36): scripts/llamacpp_agreement.py tokenize --fixtures"
        lines = ",\n".join(json.dumps(c, ensure_ascii=False) for c in out)
        dest.write_text(f'{{"source": {json.dumps(source)},\n"cases": [\n{lines}\n]}}\n')
        print(f"wrote {dest} ({len(out)} cases)")


def cmd_tokenize(args: argparse.Namespace) -> int:
    root = llama_cpp_root(args.llama_cpp)
    tool = root / "build/bin/llama-tokenize"
    if not tool.is_file():
        print(f"{tool} is missing: run scripts/fetch_llamacpp first", file=sys.stderr)
        return 2
    if args.fixtures:
        write_fixture_refs(tool)
    out_dir = Path(args.out) / "tokenize"
    text_dir = out_dir / "texts"
    text_dir.mkdir(parents=True, exist_ok=True)
    text_paths = {}
    for name, data in texts(root):
        p = text_dir / f"{name}.txt"
        p.write_bytes(data)
        text_paths[name] = p
    vocabs = vocab_files(root)
    if args.vocab:
        vocabs = [v for v in vocabs if any(s in v.name for s in args.vocab)]
    jobs = []
    for v in vocabs:
        for name, p in text_paths.items():
            # add_special only changes where BOS/EOS/SEP go; once without special parsing is enough.
            for parse_special, add_special in ((False, False), (True, False), (False, True)):
                jobs.append((v, name, p, parse_special, add_special))

    def run(job):
        v, name, p, parse_special, add_special = job
        r = llama_tokenize(tool, v, p, parse_special, add_special)
        return {"vocab": str(v), "text": name, "text_file": str(p), "parse_special": parse_special,
                "add_special": add_special, **r}

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(run, jobs))
    by_vocab: dict[str, list] = {}
    for r in results:
        by_vocab.setdefault(r["vocab"], []).append(r)
    for v, cases in by_vocab.items():
        name = Path(v).name.removesuffix(".gguf")
        (out_dir / f"{name}.json").write_text(json.dumps({"vocab": v, "cases": cases}))
        n_err = sum("error" in c for c in cases)
        n_tok = sum(len(c.get("ids", [])) for c in cases)
        print(f"{name}: {len(cases) - n_err} cases ({n_tok} ids), {n_err} refused by llama-tokenize")
    stamp = hashlib.sha256("".join(sorted(str(v) for v in vocabs)).encode()).hexdigest()[:12]
    (out_dir / "README").write_text(
        f"llama-tokenize reference ids written by scripts/llamacpp_agreement.py tokenize\n"
        f"llama.cpp root: {root}\nvocab set: {stamp}\n")
    print(f"wrote {out_dir}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("tokenize", help="reference ids from llama-tokenize (see the module doc)")
    t.add_argument("--llama-cpp", help="llama.cpp root (default: scripts/fetch_llamacpp)")
    t.add_argument("--out", default=str(DEFAULT_CACHE), help=f"cache directory (default {DEFAULT_CACHE})")
    t.add_argument("--vocab", nargs="*", help="only vocab files whose name contains one of these")
    t.add_argument("--jobs", type=int, default=2)
    t.add_argument("--fixtures", action="store_true", help="also rewrite tests/fixtures/gguf/*.llamacpp.json")
    t.set_defaults(func=cmd_tokenize)
    args = ap.parse_args()
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
