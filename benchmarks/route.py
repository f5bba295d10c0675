"""Latency and throughput of `AdaptiveLLM.select` (not a test): single-prompt p50/p95 and batch prompts/s.

Trains a small utility router (MiniLM, no fine-tuning, 120 training problems) unless --router names a saved one,
then times `select` on prompts of the replication data with the embedding cache off, so every call encodes.

    python benchmarks/route.py [--router DIR] [--single 50] [--batch 256] [--reps 3]
"""
import argparse, statistics, tempfile, time

import numpy as np

from adaptivellm.data import load_benchmark
from adaptivellm.encoder import PromptEncoder
from adaptivellm.router import AdaptiveLLM


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--router"); ap.add_argument("--single", type=int, default=50)
    ap.add_argument("--batch", type=int, default=256); ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    bench = load_benchmark(verbose=False)
    prompts = list(bench.problems.prompt)
    if a.router: router = AdaptiveLLM.load(a.router)
    else:
        fast = dict(grid={"max_depth": [2], "learning_rate": [0.1], "n_estimators": [50]}, n_folds=3)
        router = AdaptiveLLM.fit(bench, list(bench.problems.index[::5][:120]), encoder=PromptEncoder("minilm", cache=False),
                                 finetune=False, selector="utility", selector_kwargs=fast)
    router.encoder.cache_dir = None  # every call encodes: no cached embeddings
    router.select(prompts[:4])       # warm-up
    lat = []
    for p in prompts[:a.single]:
        t = time.perf_counter(); router.select([p], budget=0.3); lat.append((time.perf_counter() - t) * 1000)
    batch = prompts[:a.batch]
    best = min(_timed(router, batch) for _ in range(a.reps))
    print(f"single prompt ({a.single} prompts): p50 {statistics.median(lat):.1f} ms, p95 {np.percentile(lat, 95):.1f} ms")
    print(f"batch of {len(batch)}: {len(batch)/best:.0f} prompts/s (best of {a.reps})")


def _timed(router, prompts) -> float:
    t = time.perf_counter(); router.select(prompts, budget=0.3); return time.perf_counter() - t


if __name__ == "__main__":
    main()
