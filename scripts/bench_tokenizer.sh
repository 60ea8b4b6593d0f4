#!/usr/bin/env bash
# Encodes one >= 10 MB text with `qbench tokenize` and with HF `tokenizers` (the same tokenizer
# file, one encode call each, load time excluded), checks that the ids are identical, and prints
# both times and their ratio. Not part of the test run.
#
#   scripts/bench_tokenizer.sh [TOKENIZER.json ...]     (default: the three real tokenizers)
#   QBENCH_BENCH_MB=10   size of the generated text in MB
#   QBENCH_BINARY=build/qbench
set -euo pipefail
cd "$(dirname "$0")/.."
qbench=${QBENCH_BINARY:-build/qbench}
mb=${QBENCH_BENCH_MB:-10}
shared=${QBENCH_SHARED_DIR:-../shared}
if (($# == 0)); then
    set -- "$shared/tokenizers/llama2.tokenizer.json" "$shared/tokenizers/llama3.tokenizer.json" \
           "$shared/tokenizers/qwen3.tokenizer.json"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A deterministic, varied text: pseudo-words in several scripts, numbers, code and punctuation, so
# that the per-word caches of both implementations see realistic reuse, not one repeated line.
.venv/bin/python - "$work/text.txt" "$mb" <<'PY'
import random, sys
rng = random.Random(1234)
syllables = ["ka", "ri", "to", "men", "sol", "ath", "ve", "qu", "ing", "tion", "str", "ou", "ph",
             "ze", "lo", "ny", "ck", "ght"]
others = ["我们", "学习", "東京", "語", "привет", "мир", "γειά", "שלום", "नमस्ते", "مرحبا", "👍🏽",
          "👨‍👩‍👧", "café", "naïve", "Ångström"]
punct = [".", ",", ";", ":", "!", "?", " --", "'s", "'ll", "(", ")", "\"", "\n", "\n\n", "\t"]
target = int(float(sys.argv[2]) * 1_000_000)
parts, size = [], 0
while size < target:
    r = rng.random()
    if r < 0.80:
        w = "".join(rng.choice(syllables) for _ in range(rng.randint(1, 4)))
        if rng.random() < 0.1:
            w = w.capitalize()
    elif r < 0.88:
        w = str(rng.randint(0, 10 ** rng.randint(1, 9)))
    elif r < 0.95:
        w = rng.choice(others)
    else:
        w = "def f_%d(x):\n    return x * %d" % (rng.randint(0, 99), rng.randint(0, 999))
    w += rng.choice(punct) if rng.random() < 0.2 else ""
    w += " " * (1 if rng.random() < 0.97 else rng.randint(2, 6))
    parts.append(w)
    size += len(w.encode())
open(sys.argv[1], "w", encoding="utf-8").write("".join(parts))
PY
printf '%-28s %10s %12s %12s %8s %s\n' tokenizer tokens hf_ms qbench_ms ratio ids
for tok in "$@"; do
    "$qbench" -q tokenize "$tok" --text-file "$work/text.txt" --json >"$work/qbench.json"
    .venv/bin/python - "$tok" "$work/text.txt" "$work/qbench.json" <<'PY'
import json, sys, time
from tokenizers import Tokenizer
tok = Tokenizer.from_file(sys.argv[1])
text = open(sys.argv[2], "rb").read().decode("utf-8", errors="replace")
start = time.perf_counter()
ids = tok.encode(text, add_special_tokens=False).ids
hf_ms = (time.perf_counter() - start) * 1000
q = json.load(open(sys.argv[3]))
same = "identical" if q["ids"] == ids else "DIFFERENT"
name = sys.argv[1].rsplit("/", 1)[-1]
print(f"{name:<28} {len(ids):>10} {hf_ms:>12.1f} {q['encode_ms']:>12.1f} "
      f"{q['encode_ms'] / hf_ms:>8.2f} {same}")
PY
done
echo "ratio = qbench encode time / HF tokenizers encode time (one call on the whole text; < 1 is faster)"
