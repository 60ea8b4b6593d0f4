#!/usr/bin/env python3
"""Agreement of qbench's task scoring with lm-evaluation-harness (PyPI lm-eval 0.4.13, HF backend).

Builds a tiny random Llama with a small byte-level BPE tokenizer (tests/fixtures/tokenizer/
gpt2_bytelevel.tokenizer.json), writes two small task files — multiple choice (acc, acc_norm)
and generative (gsm8k-style strict/flexible exact_match) — as lm-eval YAMLs (local JSON data)
and as qbench YAMLs, runs both on CPU in float32, and compares:
  - per item and choice, the loglikelihoods: |qbench − lm-eval| <= 1e-4 nats (both float32; the
    batches differ, so the last bits may);
  - the final scores: equal.
Exit 0 when they agree, 1 otherwise; prints a JSON summary.

    .venv/bin/pip install lm-eval==0.4.13        (see scripts/requirements.txt)
    .venv/bin/python scripts/lm_eval_agreement.py --qbench build/qbench --work /tmp/agree
"""
import argparse
import json
import os
import random
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
TOL = 1e-4


def make_model(path):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
    tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(ROOT, "tests/fixtures/tokenizer/gpt2_bytelevel.tokenizer.json"),
                                  bos_token="<|endoftext|>", eos_token="<|endoftext|>")
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, tie_word_embeddings=False)
    model = LlamaForCausalLM(cfg).to(torch.float32)
    model.save_pretrained(path, safe_serialization=True)
    tok.save_pretrained(path)


def make_tasks(work):
    rnd = random.Random(7)
    words = "red green blue cat dog tree house river stone light dark apple".split()
    mc, gen = [], []
    for i in range(24):
        choices = rnd.sample(words, 4)
        mc.append({"question": f"Which word is number {i % 4} here: {' '.join(choices)}?", "choices": choices,
                   "gold": i % 4})
        a, b = rnd.randint(1, 9), rnd.randint(1, 9)
        gen.append({"question": f"What is {a} plus {b}?", "answer": f"{a} + {b} = {a + b}\n#### {a + b}"})
    data = os.path.join(work, "data")
    os.makedirs(data, exist_ok=True)
    for name, rows in (("mc", mc), ("gen", gen)):
        with open(os.path.join(data, f"{name}.jsonl"), "w") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
    lm = os.path.join(work, "lm_eval_tasks")
    os.makedirs(lm, exist_ok=True)
    with open(os.path.join(lm, "agree_mc.yaml"), "w") as f:
        f.write(f"""task: agree_mc
dataset_path: json
dataset_kwargs: {{data_files: {{test: {data}/mc.jsonl}}}}
test_split: test
fewshot_split: test
output_type: multiple_choice
num_fewshot: 2
fewshot_config: {{sampler: first_n}}
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_target: gold
doc_to_choice: "{{{{choices}}}}"
metric_list: [{{metric: acc}}, {{metric: acc_norm}}]
""")
    with open(os.path.join(lm, "agree_gen.yaml"), "w") as f:
        f.write(f"""task: agree_gen
dataset_path: json
dataset_kwargs: {{data_files: {{test: {data}/gen.jsonl}}}}
test_split: test
fewshot_split: test
output_type: generate_until
num_fewshot: 3
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_target: "{{{{answer}}}}"
generation_kwargs: {{until: ["Question:"], do_sample: false, temperature: 0.0, max_gen_toks: 24}}
filter_list:
  - name: strict-match
    filter: [{{function: regex, regex_pattern: "#### (\\\\-?[0-9\\\\.\\\\,]+)"}}, {{function: take_first}}]
  - name: flexible-extract
    filter: [{{function: regex, group_select: -1, regex_pattern: "(-?[$0-9.,]{{2,}})|(-?[0-9]+)"}}, {{function: take_first}}]
metric_list:
  - metric: exact_match
    aggregation: mean
    higher_is_better: true
    ignore_case: true
    ignore_punctuation: false
    regexes_to_ignore: [",", "\\\\$", "(?s).*#### ", "\\\\.$"]
""")
    qb = os.path.join(work, "qbench_tasks")
    os.makedirs(qb, exist_ok=True)
    with open(os.path.join(qb, "agree_mc.yaml"), "w") as f:
        f.write(f"""name: agree_mc
output_type: multiple_choice
data: {data}/mc.jsonl
num_fewshot: 2
fewshot_sampler: first_n
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_target: "{{{{gold}}}}"
doc_to_choice: "{{{{choices}}}}"
metrics: [{{name: acc}}, {{name: acc_norm}}]
""")
    with open(os.path.join(qb, "agree_gen.yaml"), "w") as f:
        f.write(f"""name: agree_gen
output_type: generate_until
data: {data}/gen.jsonl
num_fewshot: 3
fewshot_sampler: random
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_target: "{{{{answer}}}}"
generation: {{until: ["Question:"], max_gen_toks: 24}}
filters:
  - name: strict-match
    steps: [{{function: regex, pattern: "#### (\\\\-?[0-9\\\\.\\\\,]+)"}}, {{function: take_first}}]
  - name: flexible-extract
    steps: [{{function: regex, pattern: "(-?[$0-9.,]{{2,}})|(-?[0-9]+)", group_select: -1}}, {{function: take_first}}]
metrics:
  - name: exact_match
    ignore_case: true
    regexes_to_ignore: [",", "\\\\$", "(?s).*#### ", "\\\\.$"]
""")
    return lm, qb


def run_lm_eval(model, lm_tasks):
    import lm_eval
    from lm_eval.tasks import TaskManager
    res = lm_eval.simple_evaluate(model="hf", model_args=f"pretrained={model},dtype=float32", tasks=["agree_mc", "agree_gen"],
                                  task_manager=TaskManager(include_path=lm_tasks), batch_size=1, device="cpu",
                                  log_samples=True, bootstrap_iters=0)
    return res


def run_qbench(binary, model, qb_tasks, work):
    cfg = os.path.join(work, "agree.yaml")
    with open(cfg, "w") as f:
        f.write(f"""name: agree
dtype: float32
variants: [{{name: base, model: {model}}}]
tasks: {{names: [agree_mc, agree_gen], task_dirs: [{qb_tasks}], batch_size: 4}}
""")
    out = os.path.join(work, "qbench_out")
    subprocess.run([binary, "run", cfg, "--out", out], check=True)
    samples = {}
    for t in ("agree_mc", "agree_gen"):
        with open(os.path.join(out, "samples", "base", f"{t}.jsonl")) as f:
            samples[t] = [json.loads(l) for l in f]
    with open(os.path.join(out, "report.json")) as f:
        rep = json.load(f)
    return rep, samples


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--qbench", default=os.path.join(ROOT, "build", "qbench"))
    p.add_argument("--work", default="/tmp/qbench-lm-eval-agreement")
    a = p.parse_args()
    os.makedirs(a.work, exist_ok=True)
    model = os.path.join(a.work, "model")
    make_model(model)
    lm_tasks, qb_tasks = make_tasks(a.work)
    ref = run_lm_eval(model, lm_tasks)
    rep, samples = run_qbench(a.qbench, model, qb_tasks, a.work)

    max_diff, n_ll = 0.0, 0
    ref_mc = sorted(ref["samples"]["agree_mc"], key=lambda s: s["doc_id"])
    for r, q in zip(ref_mc, samples["agree_mc"]):
        for resp, ll in zip(r["resps"], q["loglikelihoods"]):
            max_diff = max(max_diff, abs(float(resp[0][0]) - ll))
            n_ll += 1
    scores = {}
    variant = rep["variants"][0]
    for t in variant["tasks"]:
        for m in t["metrics"]:
            scores[(t["name"], m["name"])] = m["value"]
    mismatches = []
    for task, res in ref["results"].items():
        for key, value in res.items():
            if "stderr" in key or not isinstance(value, float):
                continue
            metric, filt = key.split(",")
            qkey = metric if filt == "none" else f"{metric},{filt}"
            if abs(scores.get((task, qkey), float("nan")) - value) > 1e-12:
                mismatches.append({"task": task, "metric": qkey, "lm_eval": value, "qbench": scores.get((task, qkey))})
    summary = {"loglikelihoods_compared": n_ll, "max_abs_diff_nats": max_diff, "tolerance_nats": TOL,
               "score_mismatches": mismatches,
               "scores": {f"{k[0]}/{k[1]}": v for k, v in scores.items()}}
    print(json.dumps(summary, indent=2))
    return 0 if max_diff <= TOL and not mismatches else 1


if __name__ == "__main__":
    sys.exit(main())
