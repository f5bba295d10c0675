"""The levels and fine-tuning ablation of the paper's pipeline on repeated leakage-free splits (not a test).

On each of the first `--splits` 70/30 splits of `adaptivellm reproduce --seed SEED` (the same splits), the paper's
selector (XGBoost on the best model by the paper's score) is trained on the un-tuned encoder's embeddings (the
`adaptivellm-no-finetune` row of the report) and on the embeddings of an encoder fine-tuned with the triplet loss on
K difficulty levels, for each K of `--levels` (the `adaptivellm-leakfree` row; K = 3 is the paper's). Per K it prints
the paired difference fine-tuned minus un-tuned, pass@1 and USD per 1,000 problems: the mean over splits and its
95% interval (`study.report.mean_ci`, the corrected resampled t of the report's own tables).

    python benchmarks/ablation.py [--levels 2 3 4] [--splits 4] [--seed 0] [--encoder auto] [--json FILE]

`--json benchmarks/results/ablation.json` writes the shipped file that `16_extend` shows. About 2 minutes per
fine-tuning on 2 CPU cores (MiniLM): 12 of them with the defaults. `adaptivellm reproduce --levels K` runs the same
fine-tuned pipeline (one split by default) and `--no-finetune` leaves it out.
"""
import argparse, time
from pathlib import Path

import pandas as pd

from adaptivellm.core.files import atomic_write, json_dumps
from adaptivellm.data.benchmark import load_benchmark
from adaptivellm.difficulty.score import stratified_splits
from adaptivellm.embed.encoder import PromptEncoder
from adaptivellm.live.router import AdaptiveLLM, default_reasoner
from adaptivellm.selection.selector import PaperSelector, selection_targets
from adaptivellm.study.evaluation import evaluate_choice
from adaptivellm.study.report import mean_ci

KEYS = ("pass@1", "usd_per_1k")


def metrics(bench, te, models) -> dict:
    return {k: evaluate_choice(bench, pd.Series(list(models), index=list(te)))[k] for k in KEYS}


def one_split(bench, enc, X0, tr, te, levels) -> dict:
    "Metrics of the un-tuned pipeline and of the fine-tuned one at each number of levels, on one split"
    untuned = PaperSelector(device=enc.device).fit(X0.loc[tr].to_numpy(), *selection_targets(bench, tr)).select(X0.loc[te].to_numpy())
    out, prompts = {"no-finetune": metrics(bench, te, untuned)}, list(bench.problems.prompt.loc[te])
    for k in levels:
        t0 = time.perf_counter()
        r = AdaptiveLLM.fit(bench, tr, encoder=enc, finetune=True, selector="paper", reasoner=default_reasoner(bench), k=k)
        out[f"levels={k}"] = metrics(bench, te, [s.model for s in r.select(prompts)])
        print(f"  levels={k}: pass@1 {out[f'levels={k}']['pass@1']:.4f} (un-tuned {out['no-finetune']['pass@1']:.4f}) in {time.perf_counter() - t0:.0f} s", flush=True)
    return out


def paired(per_split:list, levels) -> list:
    "Per number of levels: each metric fine-tuned, and fine-tuned minus un-tuned, mean [95% CI] over the splits"
    rows = [{"pipeline": "no-finetune", **{k: mean_ci([s["no-finetune"][k] for s in per_split]) for k in KEYS}}]
    for lv in levels:
        name = f"levels={lv}"
        rows.append({"pipeline": name, **{k: mean_ci([s[name][k] for s in per_split]) for k in KEYS},
                     **{f"gain {k}": mean_ci([s[name][k] - s["no-finetune"][k] for s in per_split]) for k in KEYS}})
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--levels", type=int, nargs="+", default=[2, 3, 4])
    ap.add_argument("--splits", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--encoder", default="auto")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    bench, t0 = load_benchmark(verbose=False), time.perf_counter()
    enc = PromptEncoder(a.encoder)
    X0 = pd.DataFrame(enc.encode(list(bench.problems.prompt)), index=bench.problems.index)
    per_split = []
    for i, (tr, te) in enumerate(stratified_splits(bench, 10, 0.3, a.seed)[:a.splits]):
        print(f"split {i}", flush=True)
        per_split.append(one_split(bench, enc, X0, tr, te, a.levels))
    rows = paired(per_split, a.levels)
    fmt = lambda v: f"{v['mean']:+.4f} [{v['ci95'][0]:+.4f}, {v['ci95'][1]:+.4f}]"
    for r in rows: print(r["pipeline"].ljust(12), "  ".join(f"{k} {fmt(v)}" for k, v in r.items() if k != "pipeline"))
    res = dict(command=f"python benchmarks/ablation.py --levels {' '.join(map(str, a.levels))} --splits {a.splits} --seed {a.seed} --encoder {a.encoder}",
               backbone=enc.backbone_name, splits=a.splits, seed=a.seed, levels=a.levels, per_split=per_split, rows=rows,
               seconds=round(time.perf_counter() - t0))
    if a.json: atomic_write(a.json, lambda p: p.write_text(json_dumps(res, indent=1)))
    print(f"{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
