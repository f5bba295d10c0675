"""Latency and throughput of `AdaptiveLLM.select` (not a test): single-prompt p50/p95 and batch prompts/s, for
the reference path (MiniLM through torch, float32), the fast path (`runtime="static"`) and the paper's way of
encoding (every prompt padded to 128 tokens, batches of 8), side by side in one interleaved best-of run.

Trains small utility routers (MiniLM, no fine-tuning, 120 training problems; the paper's way reuses the
reference router, encoding its prompts as the paper does) and times `select` on the replication prompts with
the embedding cache off, so every call encodes. Rounds are interleaved (paper, torch, static, paper, ...) and
each figure is the best round, so background load hurts all ways alike.

    PYTHONPATH=$PWD /work/main/.venv/bin/python benchmarks/route.py [--single 30] [--batch 256] [--reps 3]
"""
import argparse, os, statistics, sys, time, warnings

import numpy as np

from adaptivellm.data.benchmark import load_benchmark
from adaptivellm.embed.encoder import PromptEncoder
from adaptivellm.live.router import AdaptiveLLM
from encode import paper_encode

class PaperWayEncoder(PromptEncoder):
    "MiniLM encoding the paper's way (`encode.paper_encode`), behind `encode`, the one method the router calls"
    def encode(self, prompts) -> np.ndarray: return paper_encode(self, list(prompts))


FAST = dict(grid={"max_depth": [2], "learning_rate": [0.1], "n_estimators": [50]}, n_folds=3)


def routers(bench) -> dict:
    "way -> router whose encoder never reads the embedding cache"
    ids, out = list(bench.problems.index[::5][:120]), {}
    for rt in ("torch", "static"):
        out[rt] = AdaptiveLLM.fit(bench, ids, encoder=PromptEncoder("minilm", runtime=rt), finetune=False, selector="utility", selector_kwargs=FAST)
        out[rt].encoder.cache_dir = None
    paper = AdaptiveLLM(out["torch"].pool, PaperWayEncoder("minilm", cache=False), out["torch"].selector, "utility", info=out["torch"].info)
    return {"paper (pad 128, batch 8)": paper, "torch float32 (reference)": out["torch"], "static (fast)": out["static"]}


def one_round(r, singles:list, batch:list) -> tuple:
    "(per-prompt latencies in ms, batch prompts/s) of one round"
    lat = []
    for p in singles:
        t = time.perf_counter(); r.select([p], budget=0.3); lat.append((time.perf_counter() - t) * 1000)
    t = time.perf_counter(); r.select(batch, budget=0.3)
    return lat, len(batch) / (time.perf_counter() - t)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--single", type=int, default=30); ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    bench = load_benchmark(verbose=False)
    prompts, ways = list(bench.problems.prompt), routers(bench)
    for r in ways.values(): r.select(prompts[:4])  # warm-up
    best = {k: dict(p50=np.inf, p95=np.inf, tput=0.0) for k in ways}
    for _ in range(a.reps):
        for k, r in ways.items():
            lat, tput = one_round(r, prompts[:a.single], prompts[-a.batch:])
            b = best[k]; b["p50"], b["p95"], b["tput"] = min(b["p50"], statistics.median(lat)), min(b["p95"], np.percentile(lat, 95)), max(b["tput"], tput)
    paper, ref = best[next(iter(ways))], best["torch float32 (reference)"]
    print(f"select, utility router; {os.cpu_count()} CPUs; load avg {os.getloadavg()[0]:.1f}; best of {a.reps} interleaved rounds\n")
    print(f"{'way':<28} {'p50 ms':>7} {'p95 ms':>7} {'prompts/s':>10} {'p50 vs paper':>13} {'p/s vs paper':>13} {'p50 vs fp32':>12} {'p/s vs fp32':>12}")
    for k, b in best.items():
        print(f"{k:<28} {b['p50']:7.1f} {b['p95']:7.1f} {b['tput']:10.1f} {paper['p50']/b['p50']:12.1f}x {b['tput']/paper['tput']:12.1f}x "
              f"{ref['p50']/b['p50']:11.1f}x {b['tput']/ref['tput']:11.1f}x")
    print(f"({a.single} single prompts, batch of {a.batch}; load avg {os.getloadavg()[0]:.1f})")
    return 0


if __name__ == "__main__": sys.exit(main())
