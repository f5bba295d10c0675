"""A router of one's own from the command line: a module on the Python path with an `EstimateSelector`, trained with
`adaptivellm train --selector module:Class`, routed with `adaptivellm route`, refused with a clear error where its
module cannot be imported, and reported by `adaptivellm reproduce --selector module:Class` beside the package's."""
import json, os

import pytest
from conftest import ROOT, bare_data_folder, run_cli

from adaptivellm.live.router import AdaptiveLLM

ROUTERS = '''
import numpy as np
from adaptivellm.selection.plugin import EstimateSelector

class RidgeRouter(EstimateSelector, name="ridge-test"):
    "Ridge regressions (closed form) of every model's pass rate and cost on the embedding"
    def __init__(self, alpha: float = 10.0): self.alpha = alpha
    def learn(self, X, P, C):
        A = np.c_[X, np.ones(len(X))]
        G = A.T @ A + self.alpha * np.eye(A.shape[1])
        self.wp, self.wc = np.linalg.solve(G, A.T @ P), np.linalg.solve(G, A.T @ C)
    def estimate(self, X):
        A = np.c_[X, np.ones(len(X))]
        return A @ self.wp, A @ self.wc
'''


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    "The bare data folder, a folder holding `my_routers.py`, and the environment that puts it on the path"
    tmp = tmp_path_factory.mktemp("plugin")
    (tmp/"mods").mkdir(); (tmp/"mods"/"my_routers.py").write_text(ROUTERS)
    env = {"PYTHONPATH": os.pathsep.join([str(tmp/"mods"), str(ROOT)]),
           "ADAPTIVELLM_CACHE": str(tmp/"cache")}
    return bare_data_folder(tmp/"data"), tmp/"mods", env


@pytest.fixture(scope="module")
def trained(world, tmp_path_factory):
    data, mods, env = world
    out = tmp_path_factory.mktemp("r")/"router"
    run_cli("train", "--data", data, "--pool", data/"pool.json", "--encoder", "minilm", "--selector", "my_routers:RidgeRouter",
            "--split", "all", "--no-finetune", "--out", out, env=env)
    return out


def test_route_with_a_router_of_ones_own(world, trained, monkeypatch):
    data, mods, env = world
    meta = json.loads((trained/"selector"/"meta.json").read_text())
    assert (meta["kind"], meta["module"]) == ("RidgeRouter", "my_routers") and meta["arrays"] == ["wp", "wc"]
    monkeypatch.syspath_prepend(str(mods))
    router = AdaptiveLLM.load(trained)
    prompts = ["Alpha task 3: sort a list sort a list", "Beta task 8: parse a string"]
    for flags, budget in (([], None), (["--budget", "0.05"], 0.05)):
        lines = "".join(json.dumps({"id": i, "prompt": p}) + "\n" for i, p in enumerate(prompts))
        out = [json.loads(l) for l in run_cli("route", "--router", trained, *flags, "-", input=lines, env=env).stdout.splitlines()]
        want = router.select(prompts, budget=budget)
        assert [o["model"] for o in out] == [s.model for s in want]
        for o, s in zip(out, want): assert o["p_pass"] == pytest.approx(s.scores, abs=1e-6)
    assert {o["model"] for o in out} <= {"tiny", "mid", "big"}


def test_route_says_when_the_module_is_missing(world, trained):
    res = run_cli("route", "--router", trained, "Alpha task 1: sort a list", check=False, env={"ADAPTIVELLM_CACHE": world[2]["ADAPTIVELLM_CACHE"]})
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert "field 'module': the selector RidgeRouter lives in 'my_routers', which cannot be imported here" in res.stderr
    assert "PYTHONPATH" in res.stderr


def test_reproduce_reports_a_router_of_ones_own(world, tmp_path):
    data, mods, env = world
    out = tmp_path/"out"
    run_cli("reproduce", "--data", data, "--pool", data/"pool.json", "--encoder", "minilm", "--quick", "--out", out,
            "--selector", "my_routers:RidgeRouter", "--levels", "2", "--no-finetune", env=env)
    r = json.loads((out/"results.json").read_text())
    assert r["settings"] | {"encoder": None} == {"encoder": None, "levels": 2, "finetune": False, "quick": True, "seed": 0,
                                                 "extra_routers": {"ridge-test": "my_routers:RidgeRouter"}}
    assert r["provenance"]["command"].endswith("--levels 2 --no-finetune --selector my_routers:RidgeRouter")
    rows = {row["method"]: row for row in r["repeated"]["rows"]}
    ours = [m for m in rows if m.startswith("ridge-test@")]
    assert [m.split("@")[1] for m in ours] == [f"{b:.3f}" for b in r["budgets"] if f"ridge-test@{b:.3f}" in rows] and ours
    for m in ours: assert set(rows[m]["pass@1"]) == {"mean", "ci95"} and rows[m]["n_splits"] == 2
    assert "ridge-test" in r["aiq"] and {"utility", "knn", "random"} <= set(r["aiq"])
    assert not any(m.startswith("adaptivellm-leakfree") for m in rows)   # --no-finetune: no fine-tuned pipeline
    assert "ridge-test" in (out/"results.md").read_text()


def test_a_saved_module_name_must_be_a_module_name(world, trained, tmp_path):
    "A router folder whose `module` is a path or code, not a dotted name, is refused before anything is imported"
    from adaptivellm.selection.selector import load_selector
    import shutil
    bad = tmp_path/"router"; shutil.copytree(trained, bad)
    meta_file = bad/"selector"/"meta.json"
    for module in ("../evil", "os; print(1)", "a..b", "/tmp/x"):
        meta = json.loads(meta_file.read_text()) | {"kind": "NotRegisteredRouter", "module": module}
        meta_file.write_text(json.dumps(meta))
        with pytest.raises(ImportError, match="field 'module'.*is not a module name"): load_selector(bad/"selector")
