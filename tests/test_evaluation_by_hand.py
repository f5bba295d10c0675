"Recompute evaluation metrics by hand from the raw JSON files (json only, not the loader) and compare with adaptivellm.study.evaluation."
import json, math
from pathlib import Path

import pandas as pd
import pytest

from adaptivellm.data.benchmark import load_benchmark
from adaptivellm.study.evaluation import baseline_rows, evaluate_choice, oracle_choice

# The paper's pool and prices as the replication package's README lists them (cheapest first: predicted_rank indexes it)
POOL = [("Yi-Coder-1.5B-Chat", 0.14), ("Qwen2.5-Coder-1.5B-Instruct", 0.14), ("CodeLlama-7b-Instruct-hf", 0.42),
        ("starcoder2-15b-instruct-v0.1", 0.72), ("deepseek-coder-v2-lite-instruct", 0.72), ("Codestral-22B-v0.1", 0.95),
        ("deepseek-coder-33b-instruct", 1.26), ("Qwen2.5-Coder-32B-Instruct", 1.26)]
PRICE = dict(POOL)
CN_PRICE = {"CodeLlama": 0.42, "GPT3.5": 1.5, "GPT4o": 10.0}
TAGS = {"HumanEval": "HumanEval", "code_contests": "CodeContests", "LeetCode": "Leetcode"}


def lines(path):
    with open(path, encoding="utf-8") as f: return [json.loads(l) for l in f if l.strip()]


def raw_record(data, model, pid):
    "(n, c, first passed or None, mean output tokens) of `model` on `pid`, from Result/ or else Reconstructed/"
    tag = TAGS[pid.split("/")[0]]
    res = data/"Result"/f"{model}-output-{tag}.jsonl"
    if res.exists():
        r = next(r for r in lines(res) if r["id"] == pid)
        toks = r.get("output_token_counts") or r["response_tokens"]
        return len(r["results"]), sum(r["results"]), r["results"][0], sum(toks)/len(toks)
    r = next(r for r in lines(data/"Reconstructed"/f"{model}-output-{tag}.aggregate.jsonl") if r["id"] == pid)
    return r["n_samples"], round(r["pass_rate"]*r["n_samples"]), None, r["mean_output_tokens"]


def by_hand(records, prices):
    "Metrics from [(model, (n, c, first, tokens))] with the textbook formulas"
    p1 = [c/n for _, (n, c, _, _) in records]
    p5 = [1 - math.comb(n - c, 5)/math.comb(n, 5) for _, (n, c, _, _) in records]
    firsts = [f for _, (_, _, f, _) in records if f is not None]
    usd = [t*prices[m]/1e6*1000 for m, (_, _, _, t) in records]
    return {"pass@1": sum(p1)/len(p1), "pass@5": sum(p5)/len(p5), "first_pass@1": sum(firsts)/len(firsts),
            "n_first_undefined": len(records) - len(firsts), "mean_output_tokens": sum(t for _, (_, _, _, t) in records)/len(records),
            "usd_per_1k": sum(usd)/len(usd)}


def assert_metrics(got, want):
    assert set(got) >= set(want)
    for k, v in want.items(): assert got[k] == pytest.approx(v, rel=1e-9, abs=1e-12), k


@pytest.fixture(scope="module")
def bench(data_dir): return load_benchmark(data_dir, verbose=False)


@pytest.fixture(scope="module")
def test_ids(data_dir): return [r["id"] for r in lines(data_dir/"Train"/"test_data.jsonl")]


def test_mixed_choice_by_hand(data_dir, bench):
    "Every model, all three benchmarks, Reconstructed outcomes included"
    ids = [f"HumanEval/{i}" for i in range(8)] + [f"code_contests/{i}" for i in range(8)] + [f"LeetCode/{i}" for i in range(8)]
    models = [POOL[i % 8][0] for i in range(len(ids))]
    choice = pd.Series(models, index=ids)
    want = by_hand([(m, raw_record(data_dir, m, pid)) for pid, m in zip(ids, models)], PRICE)
    assert want["n_first_undefined"] == 2        # Qwen2.5-Coder-32B on code_contests/7 and LeetCode/7
    assert_metrics(evaluate_choice(bench, choice), want)


def test_single_and_published_rows_by_hand(data_dir, bench, test_ids):
    rows = {r["method"]: r for r in baseline_rows(bench, test_ids)}
    yi = POOL[0][0]
    assert_metrics(rows[f"single:{yi}"], by_hand([(yi, raw_record(data_dir, yi, pid)) for pid in test_ids], PRICE))
    for method, fname in [("published:adaptivellm", "predictions_1.jsonl"), ("published:adaptivellm-no-finetune", "predictions_2.jsonl")]:
        picks = {r["id"]: POOL[r["predicted_rank"]][0] for r in lines(data_dir/"Train"/fname)}
        assert_metrics(rows[method], by_hand([(picks[pid], raw_record(data_dir, picks[pid], pid)) for pid in test_ids], PRICE))


def test_complexitynet_row_by_hand(data_dir, bench, test_ids):
    "ComplexityNet's labels 1-2 -> CodeLlama, 3-4 -> GPT-3.5, 5 -> GPT-4o, each scored on its own outputs in Baseline/"
    label_model = lambda lab: "CodeLlama" if int(lab) <= 2 else "GPT3.5" if int(lab) <= 4 else "GPT4o"
    picks = {r["id"]: label_model(r["prediction"]) for r in lines(data_dir/"Baseline"/"baseline_test_predictions.jsonl")}
    raw = {}
    for m in CN_PRICE:
        for p in (data_dir/"Baseline").glob(f"{m}-output-*.jsonl"):
            for r in lines(p):
                toks = r.get("output_token_counts") or r["response_tokens"]
                raw[r["id"], m] = (len(r["results"]), sum(r["results"]), r["results"][0], sum(toks)/len(toks))
    row = next(r for r in baseline_rows(bench, test_ids) if r["method"] == "complexitynet")
    assert_metrics(row, by_hand([(picks[pid], raw[pid, picks[pid]]) for pid in test_ids], CN_PRICE))


def test_oracle_by_hand(data_dir, bench, test_ids):
    "The oracle's pass@1 is the mean over problems of the best pass rate of any pool model"
    ids = test_ids[:40]
    recs = {(pid, m): raw_record(data_dir, m, pid) for pid in ids for m, _ in POOL}
    best = [max(recs[pid, m][1]/recs[pid, m][0] for m, _ in POOL) for pid in ids]
    got = evaluate_choice(bench, oracle_choice(bench, ids))
    assert got["pass@1"] == pytest.approx(sum(best)/len(best))
    for pid, m in oracle_choice(bench, ids).items():   # and among models with that pass rate, none is cheaper
        tied = [x for x, _ in POOL if recs[pid, x][1]/recs[pid, x][0] == recs[pid, m][1]/recs[pid, m][0]]
        assert (PRICE[m], recs[pid, m][3]) == min((PRICE[x], recs[pid, x][3]) for x in tied)
