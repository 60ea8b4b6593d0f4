#!/usr/bin/env python3
"""qbench against llama.cpp itself, the reference for GGUF files.

  tokenize   reference ids from the built `llama-tokenize` for a set of long real texts (and one
             Unicode / special-token text written here) on every llama.cpp vocab test file
             (models/ggml-vocab-*.gguf) and the real models in ~/.cache/qbench/models; written
             as JSON to a cache directory outside the repository, where
             tests/tokenizer/gguf_tokenizer_llamacpp_test.cpp (ctest -L llamacpp) reads them.
             --fixtures also rewrites tests/fixtures/gguf/<vocab>.llamacpp.json: llama.cpp's ids
             for the case texts of the small committed GGUF vocabularies (unit tests).
  ppl        `llama-perplexity -c N_CTX` and `qbench ppl --protocol llama.cpp --max-length N_CTX`
             on the real models and GPL-3 text (/usr/share/common-licenses/GPL-3): chunks, scored
             tokens, final PPL ± stderr and the running estimates side by side; llama.cpp's
             numbers are written to <cache>/ppl/<model>.json (read by
             tests/eval/llamacpp_ppl_real_test.cpp, ctest -L real).
  kld        SmolLM2 Q4_1 against its Q4_0 requantization (`llama-quantize --allow-requantize`):
             `llama-perplexity --kl-divergence-base` from Q4_1, `--kl-divergence` on Q4_0, and
             `qbench ppl Q4_0 --kld BASE` on llama.cpp's own base file; mean KLD, same top, the
             KLD and Δp percentiles side by side; llama.cpp's to <cache>/kld/<model>.json.

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


# ---- ppl / kld ----

GPL3 = Path("/usr/share/common-licenses/GPL-3")
PPL_MODELS = {"smollm2": "SmolLM2-135M-Instruct.Q4_1.gguf", "gemma3": "gemma-3-270m-q4_k_m.gguf"}


def text_copy(out_dir: Path) -> Path:
    """GPL-3 as a .txt file (qbench reads text input by its extension)."""
    dest = out_dir / "gpl3.txt"
    dest.write_bytes(GPL3.read_bytes())
    return dest


def qbench_binary() -> Path:
    return Path(os.environ.get("QBENCH_BIN", REPO / "build/qbench"))


def run_llama_perplexity(tool: Path, model: Path, text: Path, n_ctx: int, chunks: int, extra: list[str]) -> str:
    cmd = [str(tool), "-m", str(model), "-f", str(text), "-c", str(n_ctx), "-b", str(n_ctx),
           "--chunks", str(chunks), "-t", str(os.cpu_count() or 1), *extra]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {(run.stderr or run.stdout).strip().splitlines()[-3:]}")
    return run.stdout + run.stderr


def parse_ppl(log: str) -> dict:
    import re
    running = [float(x) for _, x in re.findall(r"\[(\d+)\]([0-9.]+|nan|inf),", log)]
    final = re.search(r"Final estimate: PPL = ([0-9.]+) \+/- ([0-9.]+)", log)
    chunks = re.search(r"calculating perplexity over (\d+) chunks, n_ctx=(\d+)", log)
    if not final or not chunks:
        raise RuntimeError("llama-perplexity printed no final estimate:\n" + log[-2000:])
    n_chunk, n_ctx = int(chunks.group(1)), int(chunks.group(2))
    return {"chunks": n_chunk, "n_ctx": n_ctx, "tokens_scored": n_chunk * (n_ctx - 1 - n_ctx // 2),
            "running_ppl": running, "ppl": float(final.group(1)), "ppl_stderr": float(final.group(2))}


def parse_kld(log: str) -> dict:
    import re
    def num(pattern):
        m = re.search(pattern, log)
        if not m:
            raise RuntimeError(f"llama-perplexity --kl-divergence printed no '{pattern}':\n" + log[-2000:])
        return float(m.group(1))
    names = {"Maximum": 1.0, "99.9%": 0.999, "99.0%": 0.99, "95.0%": 0.95, "90.0%": 0.9, "75.0%": 0.75,
             "Median": 0.5, "25.0%": 0.25, "10.0%": 0.1, " 5.0%": 0.05, " 1.0%": 0.01, " 0.1%": 0.001,
             "Minimum": 0.0}
    kld_pct, dp_pct = {}, {}
    for name, q in names.items():
        m = re.search(rf"^{re.escape(name)}\s+KLD:\s+(-?[0-9.]+)", log, re.M)
        if m:
            kld_pct[str(q)] = float(m.group(1))
        m = re.search(rf"^{re.escape(name)}\s+Δp:\s+(-?[0-9.]+)%", log, re.M)
        if m:
            dp_pct[str(q)] = float(m.group(1)) / 100
    return {"kld_mean": num(r"Mean\s+KLD:\s+([0-9.]+)"), "kld_mean_unc": num(r"Mean\s+KLD:\s+[0-9.]+\s*±\s*([0-9.]+)"),
            "same_top": num(r"Same top p:\s+([0-9.]+)") / 100, "delta_p_mean": num(r"Mean\s+Δp:\s+(-?[0-9.]+)") / 100,
            "delta_p_rms": num(r"RMS Δp\s+:\s+([0-9.]+)") / 100, "ppl": num(r"Mean PPL\(Q\)\s+:\s+([0-9.]+)"),
            "ppl_base": num(r"Mean PPL\(base\)\s+:\s+([0-9.]+)"), "kld_percentiles": kld_pct,
            "delta_p_percentiles": dp_pct}


def run_qbench_ppl(model: Path, text: Path, n_ctx: int, chunks: int, dtype: str, extra: list[str]) -> dict:
    cmd = [str(qbench_binary()), "ppl", str(model), "--data", str(text), "--protocol", "llama.cpp",
           "--max-length", str(n_ctx), "--limit", str(chunks), "--dtype", dtype, "--json", *extra]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {run.stderr.strip()[-500:]}")
    return json.loads(run.stdout)


def rel(a: float, b: float) -> str:
    return f"{100 * (a - b) / b:+.3f}%" if b else "-"


def cmd_ppl(args: argparse.Namespace) -> int:
    root = llama_cpp_root(args.llama_cpp)
    tool = root / "build/bin/llama-perplexity"
    out_dir = Path(args.out) / "ppl"
    out_dir.mkdir(parents=True, exist_ok=True)
    text = text_copy(out_dir)
    for key in args.models:
        model = REAL_MODELS / PPL_MODELS[key]
        ref = parse_ppl(run_llama_perplexity(tool, model, text, args.n_ctx, args.chunks, []))
        ref.update({"model": str(model), "text": str(text), "llama_cpp_root": str(root)})
        (out_dir / f"{key}.json").write_text(json.dumps(ref, indent=1))
        if args.reference_only:
            print(f"wrote {out_dir / (key + '.json')}")
            continue
        q = run_qbench_ppl(model, text, args.n_ctx, args.chunks, args.dtype, [])
        print(f"\n{key} ({model.name}), n_ctx {args.n_ctx}, qbench --dtype {args.dtype}")
        print(f"{'':14}{'llama.cpp':>14}{'qbench':>14}{'rel':>10}")
        print(f"{'chunks':14}{ref['chunks']:>14}{len(q['blocks']):>14}")
        print(f"{'tokens':14}{ref['tokens_scored']:>14}{q['tokens_scored']:>14}")
        print(f"{'ppl':14}{ref['ppl']:>14.4f}{q['ppl']:>14.4f}{rel(q['ppl'], ref['ppl']):>10}")
        print(f"{'stderr':14}{ref['ppl_stderr']:>14.5f}{q.get('ppl_stderr', float('nan')):>14.5f}"
              f"{rel(q.get('ppl_stderr', 0), ref['ppl_stderr']):>10}")
        for i in sorted({0, 1, 4, 9, len(ref['running_ppl']) - 1}):
            if i < len(ref["running_ppl"]) and i < len(q.get("running_ppl", [])):
                a, b = ref["running_ppl"][i], q["running_ppl"][i]
                print(f"{'[' + str(i + 1) + ']':14}{a:>14.4f}{b:>14.4f}{rel(b, a):>10}")
    print(f"wrote {out_dir}")
    return 0


def cmd_kld(args: argparse.Namespace) -> int:
    root = llama_cpp_root(args.llama_cpp)
    tool = root / "build/bin/llama-perplexity"
    out_dir = Path(args.out) / "kld"
    out_dir.mkdir(parents=True, exist_ok=True)
    text = text_copy(out_dir)
    base_model = REAL_MODELS / PPL_MODELS["smollm2"]
    variant = out_dir / "SmolLM2-135M-Instruct.Q4_0-requant.gguf"
    if not variant.is_file():
        subprocess.run([str(root / "build/bin/llama-quantize"), "--allow-requantize", str(base_model), str(variant),
                        "Q4_0"], check=True, capture_output=True)
    base_file = out_dir / "smollm2-q4_1.kld"
    run_llama_perplexity(tool, base_model, text, args.n_ctx, args.chunks, ["--kl-divergence-base", str(base_file)])
    log = run_llama_perplexity(tool, variant, text, args.n_ctx, args.chunks,
                               ["--kl-divergence-base", str(base_file), "--kl-divergence"])
    (out_dir / "llama-perplexity-kld.log").write_text(log)
    ref = parse_kld(log)
    import re
    chunks = re.search(r"computing over (\d+) chunks", log)
    ref.update({"base_model": str(base_model), "variant": str(variant), "base_file": str(base_file),
                "text": str(text), "n_ctx": args.n_ctx, "chunks": int(chunks.group(1)) if chunks else args.chunks,
                "llama_cpp_root": str(root)})
    (out_dir / "smollm2.json").write_text(json.dumps(ref, indent=1))
    if args.reference_only:
        print(f"wrote {out_dir / 'smollm2.json'}")
        return 0
    q = run_qbench_ppl(variant, text, args.n_ctx, args.chunks, args.dtype, ["--kld", str(base_file)])["kld"]
    pct = lambda xs: {str(p["q"]): p["value"] for p in xs}
    print(f"\nSmolLM2 Q4_1 (base) vs Q4_0 requantized, n_ctx {args.n_ctx}, {args.chunks} chunks, "
          f"qbench --dtype {args.dtype} on llama.cpp's base file")
    print(f"{'':14}{'llama.cpp':>14}{'qbench':>14}{'rel':>10}")
    print(f"{'KLD mean':14}{ref['kld_mean']:>14.6f}{q['kld_mean']:>14.6f}{rel(q['kld_mean'], ref['kld_mean']):>10}")
    print(f"{'same top':14}{100 * ref['same_top']:>13.3f}%{100 * q['same_top']:>13.3f}%"
          f"{100 * (q['same_top'] - ref['same_top']):>+9.3f}pt")
    print(f"{'mean dp':14}{100 * ref['delta_p_mean']:>13.3f}%{100 * q['delta_p_mean']:>13.3f}%")
    print(f"{'RMS dp':14}{100 * ref['delta_p_rms']:>13.3f}%{100 * q['delta_p_rms']:>13.3f}%")
    qk, qd = pct(q["kld_percentiles"]), pct(q["delta_p_percentiles"])
    for name, key in (("KLD", "kld_percentiles"), ("dp", "delta_p_percentiles")):
        mine = qk if name == "KLD" else qd
        for k, v in ref[key].items():
            if k in mine:
                print(f"{name + ' q' + k:14}{v:>14.6f}{mine[k]:>14.6f}")
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
    for name, func, help_ in (("ppl", cmd_ppl, "llama-perplexity vs qbench ppl --protocol llama.cpp"),
                              ("kld", cmd_kld, "llama-perplexity --kl-divergence vs qbench ppl --kld")):
        c = sub.add_parser(name, help=help_)
        c.add_argument("--llama-cpp", help="llama.cpp root (default: scripts/fetch_llamacpp)")
        c.add_argument("--out", default=str(DEFAULT_CACHE), help=f"cache directory (default {DEFAULT_CACHE})")
        c.add_argument("--n-ctx", type=int, default=256)
        c.add_argument("--chunks", type=int, default=30)
        c.add_argument("--dtype", default="float32", help="qbench's compute dtype")
        c.add_argument("--reference-only", action="store_true", help="write llama.cpp's numbers, run no qbench")
        if name == "ppl":
            c.add_argument("--models", nargs="*", default=list(PPL_MODELS), choices=list(PPL_MODELS))
        c.set_defaults(func=func)
    args = ap.parse_args()
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
