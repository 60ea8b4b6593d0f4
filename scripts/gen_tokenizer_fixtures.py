#!/usr/bin/env python3
"""Reference fixtures for qbench's native tokenizers (tests/tokenizer), from HF `tokenizers`.

Writes under tests/fixtures/tokenizer/:
  corpus.json                 the test corpus, one hex-encoded byte string per case (some cases
                              hold invalid UTF-8, which JSON strings cannot)
  <name>.tokenizer.json       small tokenizers trained here in shapes the real ones do not cover
  <name>.expected.json        reference ids and decodes for every corpus case, for the small
                              tokenizers and for the real Llama-2 / Llama-3 / Qwen3 tokenizers in
                              ../shared/tokenizers (whose tokenizer files are not copied)

How the reference sees invalid UTF-8: HF's Python API takes str, so each case's bytes are decoded
with bytes.decode("utf-8", errors="replace"), which replaces each maximal invalid subpart with one
U+FFFD, exactly like Rust's String::from_utf8_lossy. qbench's C++ encode does the same.

Run:  .venv/bin/python scripts/gen_tokenizer_fixtures.py [--shared ../shared/tokenizers]
"""
import argparse
import json
import pathlib

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
    return [(n, c if isinstance(c, bytes) else c.encode("utf-8")) for n, c in cases]


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
    return out


def write_json(path, obj, indent=None):
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=indent) + "\n", encoding="utf-8")


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
