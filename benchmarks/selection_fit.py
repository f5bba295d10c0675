"""Time the selectors of `adaptivellm.selection.selector` on the published split (411 train / 178 test problems, 8 models).

Features: a seeded TF-IDF + truncated SVD (64 dims) of the prompts, as in nbs/05_selection.ipynb.
Usage: PYTHONPATH=. python benchmarks/selection_fit.py [--reps 3] [--n-jobs 1 2]
Target: UtilitySelector.fit well under a minute on 2 cores.
"""
import argparse, os, time
import numpy as np
from adaptivellm.data.benchmark import load_benchmark
from adaptivellm.difficulty.score import paper_split
from adaptivellm.selection.selector import PaperSelector, selection_targets, tfidf_features
from adaptivellm.selection.cost_aware import UtilitySelector
from adaptivellm.selection.baselines import KNNSelector, RandomSelector


def timed(fn, reps):
    "min and median wall time of `reps` calls"
    ts = []
    for _ in range(reps):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    return min(ts), float(np.median(ts))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--n-jobs", type=int, nargs="+", default=[1, 2])
    a = ap.parse_args()
    bench = load_benchmark()
    tr, te = paper_split(bench)
    X = tfidf_features(list(bench.problems.prompt))
    pos = bench.problems.index.get_indexer
    Xtr, Xte = X[pos(tr)], X[pos(te)]
    P, C, B = selection_targets(bench, tr)
    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}; train {Xtr.shape}, test {Xte.shape}")
    for nj in a.n_jobs:
        print(f"PaperSelector.fit   n_jobs={nj}: min {{:.2f}} s, median {{:.2f}} s".format(*timed(lambda: PaperSelector(n_jobs=nj).fit(Xtr, P, C, B), a.reps)))
        print(f"UtilitySelector.fit n_jobs={nj}: min {{:.2f}} s, median {{:.2f}} s".format(*timed(lambda: UtilitySelector(n_jobs=nj).fit(Xtr, P, C), a.reps)))
    print("KNNSelector.fit: min {:.3f} s, median {:.3f} s".format(*timed(lambda: KNNSelector().fit(Xtr, P, C), a.reps)))
    u, k, r = UtilitySelector().fit(Xtr, P, C), KNNSelector().fit(Xtr, P, C), RandomSelector().fit(Xtr, P, C)
    for name, sel in [("UtilitySelector", u), ("KNNSelector", k), ("RandomSelector", r)]:
        print(f"{name}.select(178 problems, budget=0.3): min {{:.4f}} s, median {{:.4f}} s".format(*timed(lambda: sel.select(Xte, budget=0.3), a.reps)))
    print("UtilitySelector.frontier(178 problems, 123 λ): min {:.4f} s, median {:.4f} s".format(*timed(lambda: u.frontier(Xte), a.reps)))


if __name__ == "__main__":
    main()
