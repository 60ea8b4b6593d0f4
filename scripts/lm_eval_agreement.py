#!/usr/bin/env python3
"""Agreement of qbench's task scoring with lm-evaluation-harness (PyPI lm-eval 0.4.13, HF backend).

Runs lm-eval (`simple_evaluate`, model "hf", CPU, float32, batch size 1) and `qbench run` on the
same model (default: the demo model models/qbench-tiny) and the same small task files, written
here from the repository's datasets as lm-eval YAMLs (local JSON data) and as qbench YAMLs:
  agree_mc       multiple choice (acc, acc_norm), 2-shot drawn by lm-eval's random sampler
  agree_gen      generative, greedy until "Question:" / "\\n\\n", gsm8k's strict-match and
                 flexible-extract filters and exact_match options
  agree_rolling  loglikelihood_rolling (word_perplexity, byte_perplexity, bits_per_byte), which
                 qbench runs as its lm-eval-rolling perplexity protocol
and a second pass at a short max_length (agree_mc and agree_rolling again) so that lm-eval's left
truncation and the rolling windows are exercised too. It compares, per item:
  - every loglikelihood (MC choices, rolling documents): |qbench - lm-eval| <= --tol nats
    (default 1e-4; both sides compute in float32 on the CPU but with different kernels and
    batch shapes, so the last bits of a ~10-100 token sum may differ; 1e-4 is ~1000x the float32
    rounding of such sums and ~100x below any difference that could flip acc on these tasks,
    where the closest pair of choices is reported as min_choice_gap);
  - is_greedy per choice, the generated text and the filtered answers: equal;
and the final scores: acc / acc_norm / exact_match equal exactly, the perplexities within a
relative 1e-6 (they are exp of a sum of the per-item loglikelihoods).
Exit 0 when everything agrees, 1 otherwise, 2 when the Python side is missing (lm_eval not
importable); prints a JSON summary (also written to --json-out).

lm-eval never reaches the HF hub: HF_HUB_OFFLINE / HF_DATASETS_OFFLINE / TRANSFORMERS_OFFLINE are
set, the data are local JSON files and the datasets cache lives under --work.

    .venv/bin/python scripts/lm_eval_agreement.py --qbench build/qbench --work /tmp/agree

Through a server (--server URL --server-model NAME, e.g. scripts/vllm-server's): lm-eval's
`local-completions` model (token-id requests with the model's HF tokenizer, echo + logprobs) and
a qbench run whose variant is that server (`server:` + `tokenizer:`) score the same items through
the same server, so the comparison is of the two clients' request building and log-prob
parsing. The server computes both (vLLM: bfloat16); its results vary in the last bits with how
it batches, so --tol defaults to 1e-3 nats there. The short (truncation) pass is skipped.

    .venv/bin/python scripts/lm_eval_agreement.py --server http://127.0.0.1:18000/v1 --server-model qbench-tiny
"""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def read_jsonl(path, n=None):
    rows = []
    with open(path) as f:
        for line in f:
            if line.strip():
                rows.append(json.loads(line))
            if n is not None and len(rows) == n:
                break
    return rows


def write_jsonl(path, rows):
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


def paragraphs(path, n):
    with open(path) as f:
        docs = [p.strip() for p in f.read().split("\n\n") if p.strip()]
    return docs[:n]


def make_tasks(work, n_mc, n_gen, n_roll):
    data = os.path.join(work, "data")
    os.makedirs(data, exist_ok=True)
    write_jsonl(os.path.join(data, "mc_test.jsonl"), read_jsonl(os.path.join(ROOT, "datasets/tinyworld-mc/test.jsonl"), n_mc))
    write_jsonl(os.path.join(data, "mc_train.jsonl"), read_jsonl(os.path.join(ROOT, "datasets/tinyworld-mc/train.jsonl")))
    write_jsonl(os.path.join(data, "gen_test.jsonl"), read_jsonl(os.path.join(ROOT, "datasets/tinyworld-gsm/test.jsonl"), n_gen))
    write_jsonl(os.path.join(data, "roll_test.jsonl"),
                [{"text": t} for t in paragraphs(os.path.join(ROOT, "datasets/tinyworld/test.txt"), n_roll)])

    lm = os.path.join(work, "lm_eval_tasks")
    os.makedirs(lm, exist_ok=True)
    with open(os.path.join(lm, "agree_mc.yaml"), "w") as f:
        f.write(f"""task: agree_mc
dataset_path: json
dataset_kwargs: {{data_files: {{test: {data}/mc_test.jsonl, train: {data}/mc_train.jsonl}}}}
test_split: test
fewshot_split: train
output_type: multiple_choice
num_fewshot: 2
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_target: answer
doc_to_choice: "{{{{choices}}}}"
metric_list: [{{metric: acc}}, {{metric: acc_norm}}]
""")
    with open(os.path.join(lm, "agree_gen.yaml"), "w") as f:
        f.write(f"""task: agree_gen
dataset_path: json
dataset_kwargs: {{data_files: {{test: {data}/gen_test.jsonl}}}}
test_split: test
output_type: generate_until
num_fewshot: 0
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_target: "{{{{answer}}}}"
generation_kwargs: {{until: ["Question:", "\\n\\n"], do_sample: false, temperature: 0.0, max_gen_toks: 48}}
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
    with open(os.path.join(lm, "agree_rolling.yaml"), "w") as f:
        f.write(f"""task: agree_rolling
dataset_path: json
dataset_kwargs: {{data_files: {{test: {data}/roll_test.jsonl}}}}
test_split: test
output_type: loglikelihood_rolling
doc_to_text: ""
doc_to_target: "{{{{text}}}}"
metric_list: [{{metric: word_perplexity}}, {{metric: byte_perplexity}}, {{metric: bits_per_byte}}]
""")

    qb = os.path.join(work, "qbench_tasks")
    os.makedirs(qb, exist_ok=True)
    with open(os.path.join(qb, "agree_mc.yaml"), "w") as f:
        f.write(f"""name: agree_mc
output_type: multiple_choice
data: {data}/mc_test.jsonl
fewshot_data: {data}/mc_train.jsonl
num_fewshot: 2
fewshot_sampler: random
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_target: "{{{{answer}}}}"
doc_to_choice: "{{{{choices}}}}"
metrics: [{{name: acc}}, {{name: acc_norm}}]
""")
    with open(os.path.join(qb, "agree_gen.yaml"), "w") as f:
        f.write(f"""name: agree_gen
output_type: generate_until
data: {data}/gen_test.jsonl
num_fewshot: 0
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_target: "{{{{answer}}}}"
generation: {{until: ["Question:", "\\n\\n"], max_gen_toks: 48}}
filters:
  - name: strict-match
    steps: [{{function: regex, pattern: "#### (\\\\-?[0-9\\\\.\\\\,]+)"}}, {{function: take_first}}]
  - name: flexible-extract
    steps: [{{function: regex, pattern: "(-?[$0-9.,]{{2,}})|(-?[0-9]+)", group_select: -1}}, {{function: take_first}}]
metrics:
  - name: exact_match
    ignore_case: true
    ignore_punctuation: false
    regexes_to_ignore: [",", "\\\\$", "(?s).*#### ", "\\\\.$"]
""")
    return lm, qb, os.path.join(data, "roll_test.jsonl")


def run_lm_eval(model, lm_tasks, tasks, max_length, server=None):
    import lm_eval
    from lm_eval.tasks import TaskManager
    if server:
        url, name = server
        args = (f"base_url={url}/completions,model={name},tokenizer={model},tokenizer_backend=huggingface,"
                f"tokenized_requests=True,num_concurrent=1,max_retries=3")
        if max_length:
            args += f",max_length={max_length}"
        return lm_eval.simple_evaluate(model="local-completions", model_args=args, tasks=tasks,
                                       task_manager=TaskManager(include_path=lm_tasks), batch_size=1,
                                       log_samples=True, bootstrap_iters=0)
    args = f"pretrained={model},dtype=float32"
    if max_length:
        args += f",max_length={max_length}"
    return lm_eval.simple_evaluate(model="hf", model_args=args, tasks=tasks, task_manager=TaskManager(include_path=lm_tasks),
                                   batch_size=1, device="cpu", log_samples=True, bootstrap_iters=0)


def run_qbench(binary, model, qb_tasks, roll_data, tasks, max_length, batch_size, out, server=None):
    cfg = out + ".yaml"
    variant = f"{{name: base, model: {model}, baseline: true}}"
    if server:
        variant = f"{{name: base, server: {{url: '{server[0]}', model: {server[1]}}}, tokenizer: {model}, baseline: true}}"
    with open(cfg, "w") as f:
        f.write(f"""name: agree
device: cpu
dtype: float32
seed: 1234
variants: [{variant}]
perplexity: {{data: {roll_data}, protocols: [lm-eval-rolling], max_length: {max_length}, batch_size: {batch_size}}}
tasks: {{names: {json.dumps(tasks)}, task_dirs: [{qb_tasks}], batch_size: {batch_size}, max_length: {max_length}}}
""")
    subprocess.run([binary, "run", cfg, "--out", out], check=True, stdout=subprocess.DEVNULL)
    samples = {}
    for t in tasks:
        samples[t] = read_jsonl(os.path.join(out, "samples", "base", f"{t}.jsonl"))
    with open(os.path.join(out, "report.json")) as f:
        rep = json.load(f)
    return rep, samples


def context_of(sample):
    """The context of a sample's first request (a list of argument tuples in memory, a dict of
    gen_args_i in the logged JSONL)."""
    args = sample["arguments"]
    if isinstance(args, dict):
        return args["gen_args_0"]["arg_0"]
    return args[0][0]


def compare(ref, rep, samples, roll_docs, tol, label):
    """Returns the per-pass summary and a list of disagreements."""
    bad = []
    diffs = {"mc": 0.0, "rolling": 0.0}
    counts = {"mc": 0, "rolling": 0, "gen": 0}
    min_gap = math.inf
    if "agree_mc" in ref["samples"]:
        ref_mc = sorted(ref["samples"]["agree_mc"], key=lambda s: s["doc_id"])
        if len(ref_mc) != len(samples["agree_mc"]):
            bad.append(f"{label} agree_mc: {len(ref_mc)} lm-eval items vs {len(samples['agree_mc'])} qbench items")
        for r, q in zip(ref_mc, samples["agree_mc"]):
            if context_of(r) != q["prompt"]:
                bad.append(f"{label} agree_mc doc {r['doc_id']}: prompts differ")
            lls = [float(resp[0][0]) for resp in r["resps"]]
            greedy = [resp[0][1] in (True, "True") for resp in r["resps"]]
            srt = sorted(lls)
            if len(srt) > 1:
                min_gap = min(min_gap, srt[-1] - srt[-2])
            for c, (ll, g, qll, qg) in enumerate(zip(lls, greedy, q["loglikelihoods"], q["is_greedy"])):
                d = abs(ll - qll)
                diffs["mc"] = max(diffs["mc"], d)
                counts["mc"] += 1
                if d > tol:
                    bad.append(f"{label} agree_mc doc {r['doc_id']} choice {c}: lm-eval {ll!r} qbench {qll!r}")
                if g != qg:
                    bad.append(f"{label} agree_mc doc {r['doc_id']} choice {c}: is_greedy lm-eval {g} qbench {qg}")
    if "agree_gen" in ref["samples"]:
        by_filter = {}
        for s in ref["samples"]["agree_gen"]:
            by_filter.setdefault(s["doc_id"], {})[s["filter"]] = s
        for q in samples["agree_gen"]:
            r = by_filter.get(q["doc_id"], {})
            any_r = next(iter(r.values()), None)
            if any_r is None:
                bad.append(f"{label} agree_gen doc {q['doc_id']}: missing on the lm-eval side")
                continue
            counts["gen"] += 1
            if context_of(any_r) != q["prompt"]:
                bad.append(f"{label} agree_gen doc {q['doc_id']}: prompts differ")
            if any_r["resps"][0][0] != q["responses"][0]:
                bad.append(f"{label} agree_gen doc {q['doc_id']}: generations differ: lm-eval {any_r['resps'][0][0]!r} "
                           f"qbench {q['responses'][0]!r}")
            for name, s in r.items():
                if s["filtered_resps"][0] != q["filtered"].get(name):
                    bad.append(f"{label} agree_gen doc {q['doc_id']} {name}: lm-eval {s['filtered_resps'][0]!r} "
                               f"qbench {q['filtered'].get(name)!r}")
    if "agree_rolling" in ref["samples"]:
        ref_roll = sorted(ref["samples"]["agree_rolling"], key=lambda s: s["doc_id"])
        blocks = next(p for p in rep["variants"][0]["perplexity"] if p["protocol"] == "lm-eval-rolling")["blocks"]
        if len(ref_roll) != len(blocks) or len(blocks) != roll_docs:
            bad.append(f"{label} agree_rolling: {len(ref_roll)} lm-eval documents vs {len(blocks)} qbench blocks")
        for r, b in zip(ref_roll, blocks):
            ll = float(r["resps"][0][0])
            d = abs(ll - (-b["nll_sum"]))
            diffs["rolling"] = max(diffs["rolling"], d)
            counts["rolling"] += 1
            if d > tol:
                bad.append(f"{label} agree_rolling doc {r['doc_id']}: lm-eval {ll!r} qbench {-b['nll_sum']!r}")

    # Final scores.
    variant = rep["variants"][0]
    q_scores = {}
    for t in variant["tasks"]:
        for m in t["metrics"]:
            q_scores[(t["name"], m["name"])] = m["value"]
    for p in variant["perplexity"]:
        if p["protocol"] == "lm-eval-rolling":
            for k in ("word_perplexity", "byte_perplexity", "bits_per_byte"):
                q_scores[("agree_rolling", k)] = p[k]
    scores = {}
    for task, res in ref["results"].items():
        for key, value in res.items():
            if "stderr" in key or "," not in key or not isinstance(value, (int, float)):
                continue
            metric, filt = key.split(",")
            qkey = metric if filt == "none" else f"{metric},{filt}"
            qv = q_scores.get((task, qkey))
            scores[f"{task}/{qkey}"] = {"lm_eval": value, "qbench": qv}
            if qv is None:
                bad.append(f"{label} {task} {qkey}: qbench has no such score")
            elif task == "agree_rolling":
                if abs(qv - value) > 1e-6 * abs(value):
                    bad.append(f"{label} {task} {qkey}: lm-eval {value!r} qbench {qv!r}")
            elif qv != value:
                bad.append(f"{label} {task} {qkey}: lm-eval {value!r} qbench {qv!r}")
    return {"max_abs_ll_diff_nats": diffs, "compared": counts,
            "min_choice_gap_nats": None if math.isinf(min_gap) else min_gap, "scores": scores}, bad


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--qbench", default=os.path.join(ROOT, "build", "qbench"))
    p.add_argument("--model", default=os.path.join(ROOT, "models", "qbench-tiny"))
    p.add_argument("--work", default="/tmp/qbench-lm-eval-agreement")
    p.add_argument("--mc", type=int, default=40, help="multiple-choice items")
    p.add_argument("--gen", type=int, default=12, help="generative items")
    p.add_argument("--rolling", type=int, default=12, help="rolling-loglikelihood documents")
    p.add_argument("--short-length", type=int, default=40, help="max_length of the truncation pass (0: skip it)")
    p.add_argument("--batch-size", type=int, default=4, help="qbench's batch size (lm-eval runs at 1)")
    p.add_argument("--tol", type=float, default=None,
                   help="per-item loglikelihood tolerance, nats (default 1e-4; 1e-3 through a server)")
    p.add_argument("--server", default="", help="an OpenAI-compatible base URL (.../v1): compare through it")
    p.add_argument("--server-model", default="", help="the served model's name")
    p.add_argument("--json-out", default="")
    a = p.parse_args()
    server = (a.server.rstrip("/"), a.server_model) if a.server else None
    if a.tol is None:
        a.tol = 1e-3 if server else 1e-4
    if server:
        a.short_length = 0

    os.makedirs(a.work, exist_ok=True)
    for k, v in {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                 "HF_HOME": os.path.join(a.work, "hf_home"), "HF_DATASETS_CACHE": os.path.join(a.work, "hf_datasets"),
                 "TOKENIZERS_PARALLELISM": "false", "HF_ALLOW_CODE_EVAL": "0"}.items():
        os.environ[k] = v
    try:
        import lm_eval  # noqa: F401
    except ImportError as e:
        print(f"lm_eval_agreement: lm_eval is not importable ({e}); install scripts/requirements.txt", file=sys.stderr)
        return 2
    import logging
    logging.getLogger("lm-eval").setLevel(logging.WARNING)
    logging.getLogger("lm_eval").setLevel(logging.WARNING)

    model = os.path.abspath(a.model)
    with open(os.path.join(model, "config.json")) as f:
        full_length = json.load(f)["max_position_embeddings"]
    lm_tasks, qb_tasks, roll_data = make_tasks(a.work, a.mc, a.gen, a.rolling)
    passes = [("full", 0, full_length, ["agree_mc", "agree_gen", "agree_rolling"])]
    if server:
        # Both clients window to the same length: the server's max_model_len when it is shorter.
        import urllib.request
        with urllib.request.urlopen(server[0] + "/models", timeout=30) as r:
            listed = {m["id"]: m for m in json.load(r)["data"]}
        served_len = listed.get(server[1], {}).get("max_model_len") or full_length
        length = min(full_length, served_len)
        passes = [("served", length, length, ["agree_mc", "agree_gen", "agree_rolling"])]
    if a.short_length:
        passes.append(("short", a.short_length, a.short_length, ["agree_mc", "agree_rolling"]))
    summary, bad = {"model": model, "server": a.server or None, "tolerance_nats": a.tol,
                    "qbench_batch_size": a.batch_size, "passes": {}}, []
    for label, lm_len, q_len, tasks in passes:
        ref = run_lm_eval(model, lm_tasks, tasks, lm_len, server)
        out = os.path.join(a.work, f"qbench_{label}")
        shutil.rmtree(out, ignore_errors=True)
        rep, samples = run_qbench(a.qbench, model, qb_tasks, roll_data, [t for t in tasks if t != "agree_rolling"], q_len,
                                  a.batch_size, out, server)
        s, b = compare(ref, rep, samples, a.rolling, a.tol, label)
        s["max_length"] = q_len
        summary["passes"][label] = s
        bad += b
    summary["disagreements"] = bad
    text = json.dumps(summary, indent=2)
    print(text)
    if a.json_out:
        with open(a.json_out, "w") as f:
            f.write(text + "\n")
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main())
