"""The cascade stage of `adaptivellm reproduce` alone (not a test): its rows on the published split and on the
repeated leakage-free splits (mean [95% CI]), the single models on the same splits, and the stage's wall time.

The stage depends only on the prompt embeddings of the un-tuned encoder, the splits and the budgets, so its rows
are the ones `adaptivellm reproduce` writes with the same encoder, `--splits` and `--seed`.

    python benchmarks/cascade.py [--encoder auto] [--splits 10] [--seed 0] [--verdicts FILE]
"""
import argparse, time

import numpy as np, pandas as pd

import adaptivellm.study.reproduce as R
from adaptivellm.data.benchmark import load_benchmark
from adaptivellm.embed.encoder import PromptEncoder
from adaptivellm.study.evaluation import evaluate_choice, single_choice
from adaptivellm.difficulty.score import paper_split, stratified_splits


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--encoder", default="auto"); ap.add_argument("--splits", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0); ap.add_argument("--verdicts")
    a = ap.parse_args()
    bench = load_benchmark(verbose=False)
    enc = PromptEncoder(a.encoder)
    X0 = pd.DataFrame(enc.encode(list(bench.problems.prompt)), index=bench.problems.index)
    budgets = R.default_budgets(bench)
    splits = stratified_splits(bench, a.splits, 0.3, a.seed)
    t0 = time.perf_counter()
    casc = R.cascade_results(bench, X0, budgets, [paper_split(bench)] + splits, a.verdicts)
    took = time.perf_counter() - t0
    main_res, reps = casc[0], casc[1:]
    worst = R.worst_case(reps)
    for r, (_, te) in zip(reps, splits):
        r["rows"] += [{"method": f"single:{m}", **evaluate_choice(bench, single_choice(te, m))} for m in bench.models]
        r["aiq"] |= R.family_aiq(bench, te, {})
    rows, aiqs = R.aggregate(reps)
    print(f"encoder {enc.backbone_name}; budgets {budgets}; cascade stage {took:.1f} s wall ({a.splits} repeated splits + published split)\n")
    print("## Published split\n" + R.md_table(main_res["rows"], ["method", "pass@1", "usd_per_1k", "usd_per_1k_worst", "calls"]))
    print(f"## {a.splits} repeated leakage-free splits: mean [95% CI]\n" + R.md_table(rows, ["method", "pass@1", "usd_per_1k", "n_splits"]))
    print(R.md_table(worst, ["method", "pass@1", "usd_per_1k", "usd_per_1k_worst", "calls"]))
    print("AIQ:", {k: R.fmt_metric(v) for k, v in aiqs.items()}, "; published split:", {k: round(float(v), 3) for k, v in main_res["aiq"].items()})


if __name__ == "__main__": main()
