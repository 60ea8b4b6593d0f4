#!/usr/bin/env python3
"""Runs configs/served-demo.yaml against a running vLLM server (scripts/vllm-server start) and
checks that the served variant agrees with the same checkpoint run locally by qbench.

    scripts/served_demo_check.py --qbench build/qbench [--out DIR] [--config FILE]

Both sides compute in bfloat16 (vLLM with --dtype bfloat16, the run with dtype: bfloat16), with
different kernels and summation orders, so they agree to bfloat16 rounding, not bit for bit.
Checks, with their tolerances:
  * every variant ok;
  * perplexity: served / local within 0.25% (bfloat16 keeps 8 mantissa bits, ~0.4% per logit,
    but the errors are not systematic and the mean NLL over ~19k tokens averages them out;
    measured 0.002%, printed);
  * multiple choice: the same choice on at least 97% of the items, accuracy within 3 points,
    and the per-choice log-likelihoods within 0.25 nats at the median item (measured: 100/100,
    median 0.03, printed);
  * generation (GSM-style): greedy answers the same on at least 90% of the items (a near-tie
    argmax can flip under bfloat16, and one flip changes the rest of the answer; measured 100/100);
  * KLD from the server's top-20 only: labelled a lower bound (variant_top_k 20, not exact),
    below 0.005 nats, same top token on at least 95% of the tokens (measured 4e-5, 98.8%: the
    tokens where the two engines' bfloat16 argmax differ are near-ties);
  * the load test: every request ok, percentiles ordered; the cost basis is the served load.
Prints the measured figures; exits 1 naming each failed check.
"""
import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def samples(out, variant, task):
    path = out / "samples" / variant / (task + ".jsonl")
    return {json.loads(l)["doc_id"]: json.loads(l) for l in path.read_text().splitlines() if l.strip()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qbench", default=str(ROOT / "build" / "qbench"))
    ap.add_argument("--config", default=str(ROOT / "configs" / "served-demo.yaml"))
    ap.add_argument("--out", default="/tmp/qbench-served-demo")
    a = ap.parse_args()
    out = Path(a.out)
    rc = subprocess.run([a.qbench, "-q", "run", a.config, "--out", str(out)]).returncode
    rep = json.loads((out / "report.json").read_text())
    v = {x["name"]: x for x in rep["variants"]}
    failures = []

    def check(ok, what):
        print(("ok    " if ok else "FAIL  ") + what)
        if not ok:
            failures.append(what)

    check(rc == 0, f"qbench run exit code {rc}")
    for name, x in v.items():
        check(x["status"] == "ok", f"variant {name}: status {x['status']} {x.get('error', '')}")
    local, served = v["local"], v["vllm"]
    if failures:
        sys.exit(1)

    pl, ps = local["perplexity"][0]["ppl"], served["perplexity"][0]["ppl"]
    check(abs(ps / pl - 1) <= 0.0025, f"perplexity served {ps:.5f} vs local {pl:.5f} ({100 * (ps / pl - 1):+.3f}%, bound 0.25%)")
    check(served["perplexity"][0]["tokens_scored"] == local["perplexity"][0]["tokens_scored"],
          "the same tokens scored")

    for task in ("tinyworld_mc",):
        sl, ss = samples(out, "local", task), samples(out, "vllm", task)
        common = sorted(set(sl) & set(ss))
        check(len(common) == len(sl) == len(ss) and common, f"{task}: the same {len(common)} items")
        same = sum(1 for d in common if max(range(len(sl[d]["loglikelihoods"])), key=lambda i: sl[d]["loglikelihoods"][i])
                   == max(range(len(ss[d]["loglikelihoods"])), key=lambda i: ss[d]["loglikelihoods"][i]))
        gaps = [max(abs(x - y) for x, y in zip(sl[d]["loglikelihoods"], ss[d]["loglikelihoods"])) for d in common]
        acc = lambda x: next(m["value"] for t in x["tasks"] if t["name"] == task for m in t["metrics"] if m["name"] == "acc")
        al, as_ = acc(local), acc(served)
        check(same >= 0.97 * len(common), f"{task}: same choice on {same}/{len(common)} items (bound 97%)")
        check(abs(al - as_) <= 0.03, f"{task}: acc served {as_:.4f} vs local {al:.4f} (bound 0.03)")
        check(statistics.median(gaps) <= 0.25,
              f"{task}: per-item largest |log-likelihood gap| median {statistics.median(gaps):.4f}, max {max(gaps):.4f} nats")

    for task in ("tinyworld_gsm",):
        sl, ss = samples(out, "local", task), samples(out, "vllm", task)
        common = sorted(set(sl) & set(ss))
        same = sum(1 for d in common if sl[d].get("responses") == ss[d].get("responses"))
        check(common and same >= 0.9 * len(common), f"{task}: the same greedy response on {same}/{len(common)} items (bound 90%)")

    k = served.get("kld")
    check(k is not None, "the served variant has a KLD (a lower bound)")
    if k:
        check(k.get("variant_top_k") == 20 and not k["exact"], f"KLD labelled a lower bound (variant_top_k {k.get('variant_top_k')})")
        check(k["kld_mean"] < 0.005, f"KLD lower bound {k['kld_mean']:.6f} nats (bound 0.005)")
        check(k["same_top"] >= 0.95, f"same top token {100 * k['same_top']:.2f}% (bound 95%)")

    s = served.get("serving")
    check(s is not None, "the served variant has a load test")
    if s:
        check(s["requests_ok"] == s["requests_sent"] > 0, f"load: {s['requests_ok']}/{s['requests_sent']} ok")
        for m in ("ttft", "tpot", "itl", "e2e"):
            st = s[m]
            check(st["min_ms"] <= st["p50_ms"] <= st["p99_ms"] <= st["max_ms"], f"load {m}: min <= P50 <= P99 <= max")
        print(f"      load: {s['output_tokens_per_s']:.1f} output tokens/s, TTFT P50 {s['ttft']['p50_ms']:.1f} ms, "
              f"TPOT P50 {s['tpot']['p50_ms']:.2f} ms")
    c = served.get("cost")
    check(c is not None and c["throughput_basis"].startswith("served load"), "cost from the served load")
    if failures:
        print(f"served_demo_check: {len(failures)} check(s) failed", file=sys.stderr)
        sys.exit(1)
    print("served_demo_check: all checks passed")


if __name__ == "__main__":
    main()
