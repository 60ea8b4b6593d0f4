#!/usr/bin/env python3
"""Export the public task datasets from the Hugging Face hub to the JSONL files qbench's built-in
task definitions (tasks/*.yaml) read. qbench itself never downloads: run this where a hub is
reachable, then copy datasets/hf/ (or point tasks.data_dir at it).

    .venv/bin/pip install datasets
    .venv/bin/python scripts/export_hf_tasks.py gsm8k arc_easy mmlu ...   (default: all)
    .venv/bin/python scripts/export_hf_tasks.py --out /data/qbench-tasks gsm8k

The fields are those the YAMLs name; where lm-eval uses a Jinja expression or a Python
preprocessor, the result is computed here (ARC gold index, HellaSwag preprocessing, MMLU
descriptions, gsm8k_cot targets) so the templates stay plain `{{field}}` lookups.
"""
import argparse
import json
import os
import re
import sys


def write(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{path}: {len(rows)} items", file=sys.stderr)


def load(*args, **kw):
    from datasets import load_dataset
    return load_dataset(*args, **kw)


def gsm8k(out):
    d = load("openai/gsm8k", "main")
    for split in ("train", "test"):
        write(f"{out}/gsm8k/{split}.jsonl", [dict(r) for r in d[split]])


def gsm8k_cot(out):
    # The 8 exemplars live in lm-eval's gsm8k-cot.yaml (fewshot_config.samples).
    import yaml
    import lm_eval
    path = os.path.join(os.path.dirname(lm_eval.__file__), "tasks", "gsm8k", "gsm8k-cot.yaml")
    with open(path) as f:
        cfg = yaml.safe_load(f)
    shots = [{"question": s["question"], "target": s["target"]} for s in cfg["fewshot_config"]["samples"]]
    write(f"{out}/gsm8k_cot/fewshot.jsonl", shots)
    d = load("openai/gsm8k", "main")
    write(f"{out}/gsm8k_cot/test.jsonl",
          [dict(r, target=r["answer"].split("####")[-1].strip()) for r in d["test"]])


def arc(out, name, config):
    d = load("allenai/ai2_arc", config)
    for split in ("train", "test"):
        rows = []
        for r in d[split]:
            rows.append({"id": r["id"], "question": r["question"], "choices": r["choices"]["text"],
                         "gold": r["choices"]["label"].index(r["answerKey"])})
        write(f"{out}/{name}/{split}.jsonl", rows)


def mmlu(out):
    d = load("cais/mmlu", "all")
    for split, name in (("test", "test"), ("dev", "dev")):
        rows = []
        for r in d[split]:
            subject = r["subject"]
            rows.append({"subject": subject, "question": r["question"], "choices": r["choices"],
                         "answer": r["answer"],
                         "description": "The following are multiple choice questions (with answers) about "
                                        f"{subject.replace('_', ' ')}.\n\n"})
        write(f"{out}/mmlu/{name}.jsonl", rows)


def hellaswag_preprocess(text):  # lm-eval tasks/hellaswag/utils.py
    text = text.strip()
    text = text.replace(" [title]", ". ")
    text = re.sub("\\[.*?\\]", "", text)
    text = text.replace("  ", " ")
    return text


def hellaswag(out):
    d = load("Rowan/hellaswag")
    for split in ("train", "validation"):
        rows = []
        for r in d[split]:
            ctx = r["ctx_a"] + " " + r["ctx_b"].capitalize()
            rows.append({"query": hellaswag_preprocess(r["activity_label"] + ": " + ctx),
                         "choices": [hellaswag_preprocess(e) for e in r["endings"]],
                         "label": int(r["label"]) if r["label"] != "" else -1})
        write(f"{out}/hellaswag/{split}.jsonl", rows)


def triviaqa(out):
    d = load("mandarjoshi/trivia_qa", "rc.nocontext")
    for split in ("train", "validation"):
        write(f"{out}/triviaqa/{split}.jsonl",
              [{"question": r["question"], "aliases": r["answer"]["aliases"]} for r in d[split]])


def humaneval(out):
    d = load("openai/openai_humaneval")
    write(f"{out}/humaneval/test.jsonl", [dict(r) for r in d["test"]])


def mbpp(out):
    d = load("google-research-datasets/mbpp", "full")
    for split in ("test", "prompt"):
        rows = [dict(r, tests="\n".join(r["test_list"])) for r in d[split]]
        if split == "prompt":
            rows = [r for r in rows if r["task_id"] in (2, 3, 4)]
        write(f"{out}/mbpp/{split}.jsonl", rows)


def ifeval(out):
    d = load("google/IFEval")
    write(f"{out}/ifeval/train.jsonl", [dict(r) for r in d["train"]])


EXPORTERS = {
    "gsm8k": gsm8k, "gsm8k_cot": gsm8k_cot,
    "arc_easy": lambda o: arc(o, "arc_easy", "ARC-Easy"),
    "arc_challenge": lambda o: arc(o, "arc_challenge", "ARC-Challenge"),
    "mmlu": mmlu, "hellaswag": hellaswag, "triviaqa": triviaqa, "humaneval": humaneval, "mbpp": mbpp,
    "ifeval": ifeval,
}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("tasks", nargs="*", default=list(EXPORTERS), help="tasks to export (default: all)")
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "datasets", "hf"))
    a = p.parse_args()
    for t in a.tasks:
        if t not in EXPORTERS:
            sys.exit(f"unknown task {t!r} (known: {', '.join(EXPORTERS)})")
        EXPORTERS[t](os.path.abspath(a.out))


if __name__ == "__main__":
    main()
