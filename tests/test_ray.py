"""The gate on a local Ray instance (127.0.0.1): `adaptivellm gate --ray local` writes the same verdicts, in the same
order, as the local warm engine run in this process. Skipped where `ray` is not installed (`pip install -e ".[ray]"`)."""
import json

import pytest

from conftest import run_cli

pytest.importorskip("ray")
from adaptivellm.data.benchmark import load_benchmark  # noqa: E402
from adaptivellm.check.gate import gate_verdicts  # noqa: E402
from adaptivellm.check.examples import CheckSettings  # noqa: E402


def _rows(path):
    "The rows of a verdicts file, without the time each took"
    return [{k: v for k, v in json.loads(l).items() if k != "seconds"} for l in path.read_text().splitlines()]


def test_gate_on_local_ray_matches_the_local_engine(data_dir, tmp_path):
    bench = load_benchmark(data_dir, verbose=False)
    n = 48  # HumanEval/0-9 of the first models: passes and failures
    gate_verdicts(bench, tmp_path/"local.jsonl", CheckSettings(timeout=30), limit=n, progress=False)  # a long timeout: a busy machine changes no verdict
    res = run_cli("gate", "--data", data_dir, "--out", tmp_path/"ray.jsonl", "--limit", n, "--timeout", 30, "--ray", "local", "--workers", 2, timeout=300)
    assert f"{n} answers" in res.stdout and "timeouts:" in res.stdout
    local, ray = _rows(tmp_path/"local.jsonl"), _rows(tmp_path/"ray.jsonl")
    assert len(local) == n and ray == local, [(a, b) for a, b in zip(local, ray) if a != b][:3]
    assert {r["verdict"] for r in local} >= {"pass", "fail"}
