# Emulates a study in the format serve guesses for gotrain tune: real trials trained by gotrain
# train, pruned by the median rule after epoch 1 (a trial stops when its epoch-1 eval accuracy is
# below the median of the completed trials' epoch-1 values).
import json, random, subprocess, os, csv, statistics
out = "/tmp/serve-fx/studies/mnist-tpe"
os.makedirs(out, exist_ok=True)
rng = random.Random(7)
rows, first = [], []
for t in range(10):
    p = {"lr": round(10 ** rng.uniform(-4, -0.5), 6), "optimizer": rng.choice(["sgd", "momentum", "adam", "rmsprop"]),
         "activation": rng.choice(["relu", "tanh", "sigmoid", "gelu"]), "batch": rng.choice([32, 64, 128, 256])}
    d = f"{out}/trial-{t:04d}"
    args = ["/tmp/serve-bin", "train", "-run-dir", d, "-lr", str(p["lr"]), "-optimizer", p["optimizer"],
            "-activation", p["activation"], "-batch", str(p["batch"])]
    subprocess.run(args + ["-epochs", "1"], check=True, capture_output=True)
    e1 = json.loads(open(f"{d}/epochs.jsonl").readline())["eval_acc"]
    state, reason = "COMPLETE", ""
    if len(first) >= 3 and e1 < statistics.median(first):
        state = "PRUNED"
        reason = f"median rule at epoch 1: eval_acc {e1:.4f} < median {statistics.median(first):.4f} of {len(first)} completed trials"
    else:
        subprocess.run(["/tmp/serve-bin", "train", "-resume", d, "-epochs", "3"], check=True, capture_output=True)
        first.append(e1)
    ep = [json.loads(l) for l in open(f"{d}/epochs.jsonl")]
    value = max(e["eval_acc"] for e in ep)
    for f in ("checkpoint.ckpt", "chart.png", "steps.jsonl", "epochs.csv"):
        if os.path.exists(f"{d}/{f}"): os.remove(f"{d}/{f}")
    rows.append({"trial": t, "state": state, "value": round(value, 4), **p, "pruned_reason": reason})
with open(f"{out}/trials.csv", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=["trial", "state", "value", "lr", "optimizer", "activation", "batch", "pruned_reason"])
    w.writeheader(); w.writerows(rows)
json.dump({"direction": "maximize", "metric": "eval_acc"}, open(f"{out}/study.json", "w"))
