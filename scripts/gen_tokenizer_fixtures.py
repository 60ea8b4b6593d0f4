#!/usr/bin/env python3
"""Reference fixtures for qbench's native tokenizers (tests/tokenizer), from HF `tokenizers`.

Writes under tests/fixtures/tokenizer/:
  corpus.json                 the test corpus, one hex-encoded byte string per case (some cases
                              hold invalid UTF-8, which JSON strings cannot)
  <name>.tokenizer.json       small tokenizers trained here in shapes the real ones do not cover
  sp_bpe.tokenizer.model      a small SentencePiece model (reference: the sentencepiece package)
  <name>.expected.json        reference ids and decodes for every corpus case ("decode_skip_special"
                              only where it differs from "decode"), for the small
                              tokenizers and for the real Llama-2 / Llama-3 / Qwen3 tokenizers in
                              ../shared/tokenizers (whose tokenizer files are not copied)

How the reference sees invalid UTF-8: HF's Python API takes str, so each case's bytes are decoded
with bytes.decode("utf-8", errors="replace"), which replaces each maximal invalid subpart with one
U+FFFD, exactly like Rust's String::from_utf8_lossy. qbench's C++ encode does the same.

Run:  .venv/bin/python scripts/gen_tokenizer_fixtures.py [--shared ../shared/tokenizers]
"""
import argparse
import io
import json
import pathlib
import random

import sentencepiece as spm

from tokenizers import (AddedToken, Regex, Tokenizer, decoders, models, normalizers,
                        pre_tokenizers, processors, trainers)

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "tokenizer"


def corpus():
    """The test corpus: (name, bytes). Written for this project."""
    cases = [
        ("empty", b""),
        ("ascii_prose", "The quick brown fox jumps over the lazy dog. It's 5 o'clock; we'll "
         "see -- won't we? THEY'RE here, I'M sure, YOU'VE seen it, she'D go."),
        ("code", "def square(x):\n    return x ** 2  # the square\n\tif (a && b) { c->d[i] = "
         "0x1F; }\n#include <vector>\nint main() { return 0; }\n"),
        ("cjk", "我爱自然语言处理。日本語のテキストと한국어 문장을 섞어서 씁니다。"),
        ("arabic", "مرحبا بالعالم، هذا اختبار للترميز. العدد ١٢٣٤٥."),
        ("devanagari", "नमस्ते दुनिया, यह एक परीक्षण है। संख्या १२३४५।"),
        ("emoji_zwj", "Family: 👨‍👩‍👧‍👦, skin: 👍🏽 👋🏿, flag: 🇩🇪, fire heart: ❤️‍🔥!"),
        ("combining", "e\u0301 vs \u00e9; Z\u0351\u0364a\u0303l\u0327g\u0316o; a\u0308\u0301"),
        ("nfc", "\u00c5ngstr\u00f6m caf\u00e9 na\u00efve \uac00"),
        ("nfd", "A\u030angstro\u0308m cafe\u0301 nai\u0308ve \u1100\u1161"),
        ("compat", "\ufb01nancial \u2460 x\u00b2 \uff21\uff22\uff23 \u2126 \u212b \u00bd"),
        ("invalid_utf8", b"abc\xff\xfe def \xc3\x28 \xe2\x82 \xf0\x9f\x98 end \xed\xa0\x80 "
         b"\xc0\xaf \x80tail"),
        ("spaces", " " * 40 + "x" + "\t" * 12 + "y" + "\n" * 20 + "z   \n\n  \r\n w  "),
        ("leading_trailing", "   leading and trailing   "),
        ("digits", "3141592653589793238462643383279502884197169399375105820974944592 and "
         "12 345 6789 1,000,000.50"),
        ("special_inline", "<s>Hello</s> <|begin_of_text|>hi<|end_of_text|> <|im_start|>user\n"
         "hi<|im_end|> <unk> [UNK] <bos>x<eos> <mask>"),
        ("added_inline", "Ask [name] about it: <mask>  and the  <mask>  tail, [name]x "
         "x[name] rstripme   now <|sys|> text wordtok wordtoken WORDTOK <pad>"),
        ("mixed_case", "UPPER lower MiXeD 'S 'LL 'Re \u0130stanbul \u03a3\u0391\u03a3 stra\u00dfe"),
        ("unicode_spaces", "a\u00a0b\u2003c\u3000d\u2028e\u0085f\u200bg"),
        ("punctuation", "Hello, world! (Really?) -- \"quoted\" 'single' \u00abguillemets\u00bb "
         "\u3001\u3002 \u00bf\u00a1 ... !!! ?!"),
        ("urls", "See https://example.org/path?q=1&r=two#frag or mail me@example.com."),
        ("mixed_scripts", "Grüße, Привет мир, Γειά σου, שלום, สวัสดี, ሰላም"),
        ("repeated", "ab" * 60 + " " + "\u00e9" * 30),
        ("newlines_only", "\n\n\n"),
        ("single_space", " "),
        ("lone_marks", "\u0301\u0302 \u200d\ufe0f"),
    ]
    cases = [(n, c if isinstance(c, bytes) else c.encode("utf-8")) for n, c in cases]
    return cases + fuzz_cases()


# Blocks the fuzz cases draw from (all assigned long ago, so Unicode versions agree).
FUZZ_RANGES = [
    (0x20, 0x7E), (0x20, 0x7E), (0x20, 0x7E), (0x30, 0x39), (0xA0, 0xFF), (0x100, 0x17F),
    (0x300, 0x36F), (0x391, 0x3C9), (0x410, 0x44F), (0x5D0, 0x5EA), (0x621, 0x64A),
    (0x660, 0x669), (0x905, 0x939), (0x93E, 0x94D), (0x966, 0x96F), (0xE01, 0xE3A),
    (0x1100, 0x1112), (0x1161, 0x1175), (0x2000, 0x200D), (0x2010, 0x2027), (0x2070, 0x209C),
    (0x2150, 0x218B), (0x2460, 0x24FF), (0x3000, 0x303F), (0x3041, 0x3096), (0x30A1, 0x30FA),
    (0x4E00, 0x9FA5), (0xAC00, 0xD7A3), (0xFB00, 0xFB06), (0xFF01, 0xFF5E), (0x1F300, 0x1F5FF),
    (0x1F600, 0x1F64F), (0x1F3FB, 0x1F3FF),
]
FUZZ_PIECES = ["\u200d", "\ufe0f", "\n", "\r\n", "\t", "  ", "   ", "'s", "'LL", "<s>", "</s>",
               "<|endoftext|>", "<|im_start|>", "<mask>", "[name]", "<unk>", "<0x41>", "##",
               "\u2581"]


def fuzz_cases(count=30, seed=20240611):
    """Seeded random strings over many scripts, with special-token strings and invalid bytes."""
    rng = random.Random(seed)
    cases = []
    for i in range(count):
        out = bytearray()
        for _ in range(rng.randint(5, 60)):
            r = rng.random()
            if r < 0.12:
                out += rng.choice(FUZZ_PIECES).encode()
            elif r < 0.14 and i % 4 == 3:
                out += bytes([rng.choice([0x80, 0xBF, 0xC3, 0xE2, 0xF0, 0xFF, 0xED])])
            else:
                lo, hi = rng.choice(FUZZ_RANGES)
                out += chr(rng.randint(lo, hi)).encode()
        cases.append((f"fuzz_{i:02d}", bytes(out)))
    return cases


def training_text():
    """A small self-written training corpus (repeated so BPE learns some merges)."""
    lines = [
        "The quick brown fox jumps over the lazy dog while the cat sleeps in the sun.",
        "Tokenizers split text into pieces; models learn from those pieces, one at a time.",
        "def add(a, b):\n    return a + b\n\nfor i in range(10):\n    print(add(i, 2))",
        "Numbers like 1234, 56.78 and 9,000,000 appear in reports and in tables.",
        "It's what they're doing: we'll see if you've got it, I'm sure he'd agree.",
        "Grüße aus München! Ça va très bien, merci. ¿Dónde está la estación?",
        "我们喜欢学习新的语言。東京は大きな都市です。",
        "Привет, как дела? Всё хорошо, спасибо.",
        "email: someone@example.com, url: https://example.com/a/b?c=d",
        "   indented line\n\ttabbed line\n\n\nblank lines above",
    ]
    return lines * 40


def train_gpt2_bytelevel():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(training_text(), trainer)
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=True),
        processors.TemplateProcessing(single="$A <|endoftext|>", pair="$A <|endoftext|> $B",
                                      special_tokens=[("<|endoftext|>", 0)]),
    ])
    return tok


def train_metaspace_fallback():
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.normalizer = normalizers.Sequence([normalizers.Strip(left=False, right=True),
                                           normalizers.NFKC()])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first",
                                                 split=True)
    tok.decoder = decoders.Sequence([decoders.ByteFallback(),
                                     decoders.Metaspace(replacement="\u2581",
                                                        prepend_scheme="first", split=True)])
    trainer = trainers.BpeTrainer(vocab_size=500, special_tokens=["<unk>", "<s>", "</s>"],
                                  limit_alphabet=60, show_progress=False)
    tok.train_from_iterator(training_text(), trainer)
    # Give the model the 256 <0xNN> byte tokens that byte_fallback needs (as SentencePiece
    # conversions do), appended after the trained vocabulary.
    spec = json.loads(tok.to_str())
    vocab = spec["model"]["vocab"]
    for b in range(256):
        vocab.setdefault(f"<0x{b:02X}>", len(vocab))
    tok = Tokenizer.from_str(json.dumps(spec))
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", 1)])
    return tok


def train_digits_punct():
    tok = Tokenizer(models.BPE(unk_token="[UNK]", continuing_subword_prefix="##",
                               end_of_word_suffix="</w>"))
    tok.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.Lowercase(),
                                           normalizers.Replace(Regex(r"\s{3,}"), "  ")])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Whitespace(),
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.Punctuation(behavior="contiguous"),
        pre_tokenizers.Split(Regex(r"[aeiou]"), behavior="merged_with_previous"),
        pre_tokenizers.Split("-", behavior="removed"),
        pre_tokenizers.Split(Regex(r"[a-z]+"), behavior="merged_with_next", invert=True),
    ])
    tok.decoder = decoders.Sequence([decoders.Replace("</w>", " "), decoders.Replace("##", ""),
                                     decoders.Strip(" ", 0, 1)])
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["[UNK]", "[CLS]", "[SEP]"],
                                  continuing_subword_prefix="##", end_of_word_suffix="</w>",
                                  limit_alphabet=80, show_progress=False)
    tok.train_from_iterator(training_text(), trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", 1), ("[SEP]", 2)])
    return tok


def train_added_tokens():
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Lowercase(),
                                           normalizers.Prepend("^")])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"(?i:'s|'ll)| ?\p{L}+| ?\p{N}{1,2}| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"),
                             behavior="isolated"),
        pre_tokenizers.Split(Regex(r"\s"), behavior="contiguous", invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=500, special_tokens=["<bos>", "<eos>", "<pad>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(training_text(), trainer)
    tok.add_special_tokens([
        AddedToken("<mask>", lstrip=True, rstrip=True, special=True, normalized=False),
        AddedToken("<|sys|>", lstrip=True, special=True, normalized=False),
    ])
    tok.add_tokens([
        AddedToken("[name]", single_word=True, normalized=True),
        AddedToken("wordtok", single_word=True, normalized=True),
        AddedToken("rstripme", rstrip=True, normalized=False),
    ])
    tok.post_processor = processors.TemplateProcessing(
        single="<bos> $A <eos>", pair="<bos> $A <eos> $B <eos>",
        special_tokens=[("<bos>", 0), ("<eos>", 1)])
    return tok


def train_sentencepiece(path):
    lines = [part for line in training_text() for part in line.split("\n") if part]
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=model,
                                   model_type="bpe", vocab_size=700, byte_fallback=True,
                                   hard_vocab_limit=False, character_coverage=0.99,
                                   normalization_rule_name="identity",
                                   minloglevel=2)
    path.write_bytes(model.getvalue())
    return spm.SentencePieceProcessor(model_proto=model.getvalue())


def expected_sentencepiece(sp, cases):
    """tokenizer.model semantics: BOS first with special tokens; control tokens decode to ''."""
    out = []
    for name, raw in cases:
        ids = sp.encode(raw.decode("utf-8", errors="replace"))
        ids_special = [sp.bos_id()] + ids
        text = sp.decode(ids_special)
        out.append({"name": name, "ids": ids, "ids_special": ids_special, "decode": text})
    return out


SMALL = {
    "gpt2_bytelevel": train_gpt2_bytelevel,
    "metaspace_fallback": train_metaspace_fallback,
    "digits_punct": train_digits_punct,
    "added_tokens": train_added_tokens,
}
REAL = ["llama2", "llama3", "qwen3"]


def expected(tok, cases):
    out = []
    for name, raw in cases:
        text = raw.decode("utf-8", errors="replace")
        ids = tok.encode(text, add_special_tokens=False).ids
        ids_special = tok.encode(text, add_special_tokens=True).ids
        out.append({
            "name": name,
            "ids": ids,
            "ids_special": ids_special,
            "decode": tok.decode(ids_special, skip_special_tokens=False),
            "decode_skip_special": tok.decode(ids_special, skip_special_tokens=True),
        })
        if out[-1]["decode_skip_special"] == out[-1]["decode"]:
            del out[-1]["decode_skip_special"]
    return out


def write_json(path, obj, indent=None):
    separators = None if indent else (",", ":")
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=indent, separators=separators) + "\n",
                    encoding="utf-8")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=pathlib.Path, default=ROOT.parent / "shared" / "tokenizers",
                    help="folder with the real tokenizers (default: ../shared/tokenizers)")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    cases = corpus()
    write_json(OUT / "corpus.json",
               {"cases": [{"name": n, "hex": raw.hex()} for n, raw in cases]}, indent=1)
    for name, make in SMALL.items():
        tok = make()
        tok.save(str(OUT / f"{name}.tokenizer.json"), pretty=False)
        tok = Tokenizer.from_file(str(OUT / f"{name}.tokenizer.json"))
        write_json(OUT / f"{name}.expected.json", {"tokenizer": name, "cases": expected(tok, cases)})
    sp = train_sentencepiece(OUT / "sp_bpe.tokenizer.model")
    write_json(OUT / "sp_bpe.expected.json",
               {"tokenizer": "sp_bpe", "cases": expected_sentencepiece(sp, cases)})
    for name in REAL:
        path = args.shared / f"{name}.tokenizer.json"
        if not path.exists():
            print(f"skipping {name}: {path} not found")
            continue
        tok = Tokenizer.from_file(str(path))
        write_json(OUT / f"{name}.expected.json", {"tokenizer": name, "cases": expected(tok, cases)})
    print(f"wrote fixtures for {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
