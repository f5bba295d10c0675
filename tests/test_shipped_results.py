"""The shipped `benchmarks/results/reproduce.json` (the last full `adaptivellm reproduce`) against the code: the published-split rows
that need no training of a selector (single models, the oracle, the published predictions, every cascade row) are recomputed here
and must match, so a change that moves those numbers cannot land with a stale file."""
import json, math
from pathlib import Path

import pandas as pd
import pytest

from adaptivellm.data.benchmark import load_benchmark
from adaptivellm.embed.encoder import PromptEncoder
from adaptivellm.study.evaluation import evaluate_choice, single_choice
from adaptivellm.difficulty.score import paper_split
from adaptivellm.study.reproduce import cascade_results, default_budgets

SHIPPED = Path(__file__).parent.parent/"benchmarks"/"results"/"reproduce.json"


@pytest.fixture(scope="module")
def shipped(): return json.loads(SHIPPED.read_text())


def close(a, b): return (a is None and b is None) or (a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12))


def test_stamped_with_the_run_that_made_it(shipped):
    p = shipped["provenance"]
    assert p["command"].startswith("adaptivellm reproduce") and "--quick" not in p["command"]
    assert len(p["commit"]) == 40 and not p["commit"].endswith("+dirty")   # a committed tree, named in full
    assert shipped["repeated"]["n_splits"] == 10


def test_published_split_rows_match_the_code(data_dir, shipped):
    bench = load_benchmark(data_dir, verbose=False)
    tr, te = paper_split(bench)
    rows = {r["method"]: r for r in shipped["paper_split"]}
    assert default_budgets(bench) == shipped["budgets"]
    for m in bench.models:
        got = evaluate_choice(bench, single_choice(te, m))
        assert close(got["pass@1"], rows[f"single:{m}"]["pass@1"]) and close(got["usd_per_1k"], rows[f"single:{m}"]["usd_per_1k"]), m
    enc = PromptEncoder(shipped["backbone"], device="cpu")
    X0 = pd.DataFrame(enc.encode(list(bench.problems.prompt)), index=bench.problems.index)
    casc = cascade_results(bench, X0, shipped["budgets"], [(tr, te)])[0]
    assert len(casc["rows"]) >= 12
    for r in casc["rows"]:
        for k in ("pass@1", "usd_per_1k"): assert close(r[k], rows[r["method"]][k]), (r["method"], k, r[k], rows[r["method"]][k])
    for fam, v in casc["aiq"].items(): assert close(v, shipped["paper_split_aiq"][fam]), fam
