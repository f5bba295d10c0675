"`adaptivellm summary` against figures computed by hand from the raw JSON, independently of the loader."
import json
from collections import defaultdict

import pytest
from conftest import run_cli

PRICES = {"Yi-Coder-1.5B-Chat": 0.14, "Qwen2.5-Coder-1.5B-Instruct": 0.14, "CodeLlama-7b-Instruct-hf": 0.42,
          "starcoder2-15b-instruct-v0.1": 0.72, "deepseek-coder-v2-lite-instruct": 0.72, "Codestral-22B-v0.1": 0.95,
          "deepseek-coder-33b-instruct": 1.26, "Qwen2.5-Coder-32B-Instruct": 1.26}
TAGS = {"HumanEval": "HumanEval", "CodeContests": "CodeContests", "Leetcode": "LeetCode"}


def by_hand(data_dir):
    "(model, benchmark) -> per-problem (pass rate, any pass, mean tokens), straight from the files"
    out = defaultdict(list)
    for model in PRICES:
        for tag, bench in TAGS.items():
            path = data_dir/"Result"/f"{model}-output-{tag}.jsonl"
            if path.exists():
                for line in path.open():
                    r = json.loads(line)
                    out[model, bench].append((sum(r["results"]) / len(r["results"]), any(r["results"]), sum(r["output_token_counts"]) / len(r["output_token_counts"])))
            else:
                for line in (data_dir/"Reconstructed"/f"{model}-output-{tag}.aggregate.jsonl").open():
                    r = json.loads(line)
                    out[model, bench].append((r["pass_rate"], r["pass_rate"] > 0, r["mean_output_tokens"]))
    for model in PRICES: out[model, "all"] = [x for b in TAGS.values() for x in out[model, b]]
    return out


@pytest.fixture(scope="module")
def summary_json(data_dir):
    return json.loads(run_cli("summary", "--data", data_dir, "--json").stdout)


def test_summary_matches_hand_computation(data_dir, summary_json):
    hand = by_hand(data_dir)
    rows = {(r["model"], r["benchmark"]): r for r in summary_json["models"]}
    assert set(rows) == set(hand) and len(rows) == 8 * 4
    for key, probs in hand.items():
        r, n = rows[key], len(probs)
        assert r["n_problems"] == n
        assert r["pass@1"] == pytest.approx(sum(p for p, _, _ in probs) / n, abs=1e-12)
        assert r["pass@5"] == pytest.approx(sum(a for _, a, _ in probs) / n, abs=1e-12)
        assert r["mean_output_tokens"] == pytest.approx(sum(t for _, _, t in probs) / n, rel=1e-12)
        assert r["usd_per_1k"] == pytest.approx(sum(t for _, _, t in probs) / n * PRICES[key[0]] / 1e6 * 1000, rel=1e-12)


def test_summary_counts(summary_json, data_dir):
    assert summary_json["data"] == str(data_dir.resolve())
    assert summary_json["n_problems"] == 589 and summary_json["n_reconstructed"] == 425 and summary_json["coverage"] == ""
    assert {r["benchmark"]: r["n_problems"] for r in summary_json["models"]} == {"HumanEval": 164, "CodeContests": 165, "LeetCode": 260, "all": 589}


def test_summary_text_and_custom_pool(tiny_data):
    out = run_cli("summary", "--data", tiny_data, "--pool", tiny_data/"pool.json").stdout
    assert "problems: 12 (Alpha 6, Beta 6); models: 3; outcomes: 36, of which 0 from Reconstructed/" in out
    assert "== Alpha (6 problems)" in out and "== all (12 problems)" in out and "left out" not in out


def test_summary_says_what_a_partial_pool_leaves_out(tiny_data):
    (tiny_data/"Result"/"big-output-Beta.jsonl").unlink()
    out = run_cli("summary", "--data", tiny_data, "--pool", tiny_data/"pool.json").stdout
    assert "problems: 6 (Alpha 6)" in out
    assert "left out: big has no outcome for 6 Beta problems: every comparison uses the 6 problems every pool model has (6 left out)" in out


def test_summary_bad_pool_exits_nonzero(tiny_data):
    (tiny_data/"pool.json").write_text('[{"name": "tiny", "price_per_mtok": -1}]')
    res = run_cli("summary", "--data", tiny_data, "--pool", tiny_data/"pool.json", check=False)
    assert res.returncode != 0 and "pool.json, line 1, field 'price_per_mtok'" in res.stderr
