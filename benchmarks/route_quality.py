"""Routing quality of the static runtime against the torch (fp32) reference (a measurement, not a test).

Routers are trained on each runtime's embeddings of MiniLM and compared on the same test problems: the
paper selector (XGBoost on the best model) and the utility selector at `reproduce`'s budgets, on the
published split and on repeated stratified leakage-free 70/30 splits. Per method: pass@1 and USD per 1,000
problems of each runtime, their difference (mean and corrected 95% CI over the repeated splits), and the
share of test problems where the two routers choose differently. --finetune adds the fine-tuned pipeline
(the paper's AdaptiveLLM, leakage-free) on the published split: one fine-tuning, then both runtimes of the
fine-tuned weights.

    PYTHONPATH=$PWD /work/main/.venv/bin/python benchmarks/route_quality.py [--splits 10] [--quick] [--finetune]
"""
import argparse, os, time, warnings
import numpy as np, pandas as pd

from adaptivellm.data import load_benchmark
from adaptivellm.encoder import PromptEncoder
from adaptivellm.evaluation import evaluate_choice
from adaptivellm.ranking import paper_split, stratified_splits
from adaptivellm.reproduce import GRIDS, default_budgets, mean_ci, md_table
from adaptivellm.router import AdaptiveLLM
from adaptivellm.selection import PaperSelector, selection_targets
from adaptivellm.utility import UtilitySelector

RUNTIMES = ("torch", "static")


def choices(X:pd.DataFrame, bench, tr, te, budgets, quick:bool, seed:int) -> dict:
    "method -> chosen model per test problem, for routers trained on embeddings `X`"
    targets, Xtr, Xte = selection_targets(bench, tr), X.loc[tr].to_numpy(), X.loc[te].to_numpy()
    out = {"paper": PaperSelector(seed=seed).fit(Xtr, *targets).select(Xte)}
    util = UtilitySelector(seed=seed, **GRIDS[quick]).fit(Xtr, *targets)
    for b in budgets:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try: out[f"utility@{b:.3f}"] = util.select(Xte, budget=b)
            except ValueError: pass
    return {k: pd.Series(list(v), index=te) for k, v in out.items()}


def compare(bench, ch:dict) -> list:
    "Rows: per method, each runtime's pass@1 and cost, the differences, and the share of differing choices"
    rows = []
    for m in ch["torch"]:
        if m not in ch["static"]: continue
        r = {rt: evaluate_choice(bench, ch[rt][m]) for rt in RUNTIMES}
        rows.append({"method": m, **{f"{k} {rt}": r[rt][k] for k in ("pass@1", "usd_per_1k") for rt in RUNTIMES},
                     "Δpass@1": r["static"]["pass@1"] - r["torch"]["pass@1"], "Δusd_per_1k": r["static"]["usd_per_1k"] - r["torch"]["usd_per_1k"],
                     "differ": float((ch["torch"][m] != ch["static"][m]).mean())})
    return rows


def finetuned(bench, tr, te, seed:int) -> list:
    "The fine-tuned paper pipeline on one split, with the fine-tuned encoder run by each runtime"
    base = AdaptiveLLM.fit(bench, tr, encoder=PromptEncoder("minilm"), finetune=True, selector="paper", seed=seed)
    e, ch = base.encoder, {"torch": {"adaptivellm-leakfree": pd.Series([s.model for s in base.select(list(bench.problems.prompt.loc[te]))], index=te)}}
    static = PromptEncoder.from_model(e.model, e.tokenizer, e.backbone_name, e.max_length, runtime="static")
    r = AdaptiveLLM.fit(bench, tr, encoder=static, finetune=False, selector="paper", seed=seed)
    ch["static"] = {"adaptivellm-leakfree": pd.Series([s.model for s in r.select(list(bench.problems.prompt.loc[te]))], index=te)}
    return compare(bench, ch)


COLS = ["method", "pass@1 torch", "pass@1 static", "Δpass@1", "usd_per_1k torch", "usd_per_1k static", "Δusd_per_1k", "differ"]

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--splits", type=int, default=10); ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="the small selector grid of reproduce --quick")
    ap.add_argument("--finetune", action="store_true", help="also the fine-tuned pipeline on the published split (minutes)")
    a = ap.parse_args(argv)
    t0, bench = time.perf_counter(), load_benchmark(verbose=False)
    prompts, budgets = list(bench.problems.prompt), default_budgets(bench)
    X = {rt: pd.DataFrame(PromptEncoder("minilm", runtime=rt).encode(prompts), index=bench.problems.index) for rt in RUNTIMES}
    tr, te = paper_split(bench)
    print(f"## Published split ({len(te)} test problems); budgets {budgets}\n")
    pub = compare(bench, {rt: choices(X[rt], bench, tr, te, budgets, a.quick, 42) for rt in RUNTIMES})
    if a.finetune: pub += finetuned(bench, tr, te, 42)
    print(md_table(pub, COLS))
    reps = [compare(bench, {rt: choices(X[rt], bench, tr, te, budgets, a.quick, a.seed + i) for rt in RUNTIMES})
            for i, (tr, te) in enumerate(stratified_splits(bench, a.splits, 0.3, a.seed))]
    df = pd.DataFrame([r for rows in reps for r in rows])
    agg = [{"method": m, **{c: mean_ci(g[c]) for c in COLS[1:]}} for m, g in df.groupby("method", sort=False)]
    print(f"## {a.splits} repeated leakage-free splits: mean [95% CI]\n\n" + md_table(agg, COLS))
    print(f"{time.perf_counter() - t0:.0f} s; load avg {os.getloadavg()[0]:.1f}")


if __name__ == "__main__": main()
