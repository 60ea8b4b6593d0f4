#!/usr/bin/env python3
"""Checks deploy/k8s-sharded-job.yaml and deploy/k8s-merge-job.yaml: each document's apiVersion/kind/required fields, the
Indexed Job's settings, and that shard and merge commands agree on the shard count and paths."""
import sys

import yaml

REQUIRED = {
    ("v1", "PersistentVolumeClaim"): [("spec", "accessModes"), ("spec", "resources", "requests", "storage")],
    ("batch/v1", "Job"): [("spec", "template", "spec", "containers"), ("spec", "template", "spec", "restartPolicy")],
}


def get(d, path):
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return None
        d = d[p]
    return d


def main(paths):
    path = " + ".join(paths)
    docs = [d for p in paths for d in yaml.safe_load_all(open(p)) if d is not None]
    errors = []
    jobs = {}
    for i, d in enumerate(docs):
        key = (d.get("apiVersion"), d.get("kind"))
        name = get(d, ("metadata", "name"))
        if key not in REQUIRED:
            errors.append(f"document {i}: unexpected apiVersion/kind {key}")
            continue
        if not name:
            errors.append(f"document {i} ({key[1]}): no metadata.name")
        for req in REQUIRED[key]:
            if get(d, req) is None:
                errors.append(f"{name}: missing {'.'.join(req)}")
        if key[1] == "Job":
            if get(d, ("spec", "template", "spec", "restartPolicy")) not in ("Never", "OnFailure"):
                errors.append(f"{name}: a Job's restartPolicy must be Never or OnFailure")
            for c in get(d, ("spec", "template", "spec", "containers")) or []:
                for f in ("name", "image", "command"):
                    if f not in c:
                        errors.append(f"{name}: container without {f}")
            jobs[name] = d
    shards = jobs.get("qbench-shards")
    merge = jobs.get("qbench-merge")
    if not shards or not merge:
        errors.append("need the Jobs qbench-shards and qbench-merge")
    else:
        spec = shards["spec"]
        if spec.get("completionMode") != "Indexed":
            errors.append("qbench-shards: completionMode must be Indexed (it sets JOB_COMPLETION_INDEX)")
        cmd = spec["template"]["spec"]["containers"][0]["command"]
        n = int(cmd[cmd.index("--shards") + 1]) if "--shards" in cmd else None
        if n != spec.get("completions"):
            errors.append(f"qbench-shards: --shards {n} differs from completions {spec.get('completions')}")
        out = cmd[cmd.index("--out") + 1]
        mcmd = merge["spec"]["template"]["spec"]["containers"][0]["command"]
        if mcmd[:2] != ["qbench", "merge"] or mcmd[2] != out:
            errors.append(f"qbench-merge: must merge the shards' output directory {out}")
    for e in errors:
        print(f"{path}: {e}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["deploy/k8s-sharded-job.yaml", "deploy/k8s-merge-job.yaml"]))
