"""The shipped gate verdicts re-derived from scratch on a random sample, and `adaptivellm gate` on the command line:
a resumed run writes each answer once, and a file of verdicts reads back."""
import json, random

import pytest

from conftest import run_cli
from adaptivellm.data.benchmark import load_benchmark, benchmark_of
from adaptivellm.check.examples import example_tests, check_many
from adaptivellm.check.gate import read_verdicts, shipped_verdicts
from adaptivellm.data.benchmark import recorded_samples


@pytest.fixture(scope="module")
def bench(data_dir): return load_benchmark(data_dir, verbose=False)


def test_shipped_verdicts_cover_every_recorded_answer(bench):
    v, s = read_verdicts(), recorded_samples(bench)
    assert set(v.index) == set(s.index), "the shipped verdicts and the recorded answers differ"
    assert set(v.verdict) <= {"pass", "fail", "no-tests"}


def test_random_sample_of_verdicts_rederived(bench):
    "At least 100 shipped verdicts, drawn at random (seeded), agree with a fresh run on >= 98%"
    v, s = read_verdicts(), recorded_samples(bench, with_text=True)
    keys = random.Random(0).sample(sorted(v.index[v.verdict != "no-tests"]), 110)
    jobs = [(s.response[k], example_tests(bench.problems.prompt[k[0]], benchmark_of(k[0]))) for k in keys]
    fresh = [x.verdict for x in check_many(jobs, workers=2, progress=False)]
    agree = sum(f == v.verdict[k] for f, k in zip(fresh, keys)) / len(keys)
    assert agree >= 0.98, f"only {agree:.1%} of re-derived verdicts agree"


def test_gate_cli_resumes_without_duplicates(data_dir, tmp_path):
    out = tmp_path/"v.jsonl"
    run_cli("gate", "--data", data_dir, "--out", out, "--limit", 6)
    rows = out.read_text().splitlines()
    out.write_text("\n".join(rows[:3]) + "\n" + rows[3][:10])  # an interrupted write: 3 rows and a torn fourth
    res = run_cli("gate", "--data", data_dir, "--out", out, "--limit", 8)
    again = [json.loads(l) for l in out.read_text().splitlines()]
    keys = [(r["problem_id"], r["model"], r["sample"]) for r in again]
    assert len(keys) == 8 == len(set(keys)), keys
    assert "8 answers" in res.stdout
    assert read_verdicts(out).shape[0] == 8


def test_gate_requires_out(data_dir):
    res = run_cli("gate", "--data", data_dir, check=False)
    assert res.returncode != 0 and "--out FILE is required" in res.stderr
