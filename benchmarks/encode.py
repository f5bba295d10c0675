"""Encoding throughput of `PromptEncoder` against the paper's way of encoding, and the wall time of one
triplet fine-tuning epoch, with MiniLM on the replication prompts (the first 200 by default) (a benchmark, not a test).

The static runtime (`runtime="static"`, the fast path) is timed beside them.
The paper's way, as its scripts encode: every prompt padded to 128 tokens, batches of 8, in input order,
under plain `torch.no_grad`, first-token (CLS) pooling. Same backbone, tokenizer, threads and machine.
Runs are interleaved (paper, ours, paper, ...) and the best of `--reps` is kept for each, so background
load hurts both sides alike.

    PYTHONPATH=$PWD /work/main/.venv/bin/python benchmarks/encode.py [--reps 3] [--finetune]
"""
import argparse, os, sys, time
import numpy as np, torch

from adaptivellm.data.benchmark import load_benchmark
from adaptivellm.embed.encoder import PromptEncoder, torch_threads
from adaptivellm.embed.triplet import TripletFinetuner


def paper_encode(enc:PromptEncoder, prompts:list) -> np.ndarray:
    "The paper's way: pad every prompt to 128 tokens, batches of 8 in input order, torch.no_grad, CLS pooling"
    out = []
    with torch_threads(enc.num_threads), torch.no_grad():
        for s in range(0, len(prompts), 8):
            b = enc.tokenizer(prompts[s:s + 8], padding="max_length", truncation=True, max_length=128, return_tensors="pt")
            out.append(enc.model(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).last_hidden_state[:, 0].numpy())
    return np.concatenate(out)


def timed(f) -> tuple:
    "(wall seconds, CPU seconds of this process, all threads) of calling `f`"
    t, c = time.perf_counter(), time.process_time(); f()
    return time.perf_counter() - t, time.process_time() - c


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3, help="timed runs of each way (best kept)")
    ap.add_argument("--n", type=int, default=200, help="prompts encoded per run (589: all)")
    ap.add_argument("--finetune", action="store_true", help="also time one fine-tuning epoch (minutes)")
    args = ap.parse_args(argv)
    bench = load_benchmark()
    prompts = bench.problems.prompt.tolist()[:args.n]
    ours = {p: PromptEncoder("minilm", cache=False, precision=p) for p in ("float32", "bfloat16")}
    ours["static"] = PromptEncoder("minilm", cache=False, runtime="static")
    ours["static"].static_table  # distilled once (cached on disk), not timed
    ways = {"paper (pad 128, batch 8, no_grad)": lambda: paper_encode(ours["float32"], prompts),
            "PromptEncoder float32": lambda: ours["float32"].encode(prompts),
            "PromptEncoder bfloat16": lambda: ours["bfloat16"].encode(prompts),
            "PromptEncoder static (fast path)": lambda: ours["static"].encode(prompts)}
    ways[next(iter(ways))]()  # warm-up: first-call allocations
    wall, cpu = {k: np.inf for k in ways}, {k: np.inf for k in ways}
    for _ in range(args.reps):
        for k, f in ways.items():
            w, c = timed(f); wall[k], cpu[k] = min(wall[k], w), min(cpu[k], c)
    paper = next(iter(ways))
    print(f"machine: {os.cpu_count()} CPUs, torch {torch.__version__}, {torch.get_num_threads()} threads, load avg {os.getloadavg()[0]:.1f}")
    print(f"\n{'encoding ' + str(len(prompts)) + ' prompts (MiniLM)':<36} {'wall s':>7} {'prompts/s':>10} {'vs paper':>9} {'CPU s':>7} {'vs paper':>9}")
    for k in ways:
        print(f"{k:<36} {wall[k]:7.2f} {len(prompts) / wall[k]:10.1f} {wall[paper] / wall[k]:8.2f}x {cpu[k]:7.2f} {cpu[paper] / cpu[k]:8.2f}x")
    a, b = ours["float32"].encode(prompts[:50]), ours["bfloat16"].encode(prompts[:50])
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    print(f"bfloat16 vs float32 embeddings: min cosine {cos.min():.6f}")
    if not args.finetune: return 0
    level = bench_levels(bench)
    train = level[bench.paper_split["train"]]
    ft = TripletFinetuner(PromptEncoder("minilm", cache=False))
    t, c = timed(lambda: ft.fit(bench.problems.prompt[train.index].tolist(), train.values))
    print(f"\none fine-tuning epoch, {len(train)} training prompts, {len(ft.losses)} steps of 32 triplets: {t:.1f} s wall, {c:.1f} s CPU "
          f"(loss {ft.losses[0]:.3f} -> {ft.losses[-1]:.3f}; load avg {os.getloadavg()[0]:.1f})")
    return 0


def bench_levels(bench):
    "The published 3-level clusters of the 32B reasoner's median CoT length (0 = easiest)"
    import pandas as pd
    from adaptivellm.data.benchmark import find_data_dir
    from adaptivellm.core.files import read_jsonl
    f = find_data_dir()[0]/"Processed_Data"/"K-means"/"DeepSeek-R1-Distill-Qwen-32B-output-total-median_with_clusters.jsonl"
    return pd.Series({r["id"]: int(r["cluster"]) for _, r in read_jsonl(f)})


if __name__ == "__main__": sys.exit(main())
