"The exported `adaptivellm.selection.selector` on its own: synthetic problems, every selector fitted, saved, loaded; bad saved folders."
import json, warnings
import numpy as np, pandas as pd, pytest
from adaptivellm.selection.selector import PaperSelector, load_selector
from adaptivellm.selection.cost_aware import UtilitySelector, LAMS
from adaptivellm.selection.baselines import KNNSelector, RandomSelector

MODELS = ["cheap", "mid", "dear"]
SMALL = dict(grid=dict(max_depth=(2,), learning_rate=(0.1,), n_estimators=(10, 20)), n_folds=3)


@pytest.fixture(scope="module")
def toy():
    "Problems whose first feature decides which models pass; costs grow along the pool"
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 6)).astype(np.float32)
    hard = X[:, 0] > 0
    P = pd.DataFrame({"cheap": np.where(hard, 0.0, 0.8), "mid": np.where(hard, 0.4, 0.8), "dear": np.full(150, 0.9)})
    C = pd.DataFrame({"cheap": np.full(150, 0.05), "mid": 0.2 + 0.01 * rng.random(150), "dear": np.full(150, 1.0)})
    best = pd.Series(np.where(hard, "dear", "cheap"))
    return X, P, C, best


def fitted(toy):
    X, P, C, best = toy
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {"paper": PaperSelector().fit(X, P, C, best), "utility": UtilitySelector(**SMALL).fit(X, P, C),
                "knn": KNNSelector(k=5).fit(X, P, C), "random": RandomSelector(budget=0.5).fit(X, P, C)}


def test_learns_the_rule(toy):
    "The learned selectors route easy problems to the cheap model and hard ones to the dear one"
    X, P, C, best = toy
    sels = fitted(toy)
    Xn = np.random.default_rng(1).normal(size=(400, 6)).astype(np.float32)
    Xn = Xn[np.abs(Xn[:, 0]) > 0.3][:200]  # away from the boundary
    want = np.where(Xn[:, 0] > 0, "dear", "cheap")
    assert np.mean(np.array(sels["paper"].select(Xn)) == want) > 0.9
    assert np.mean(np.array(sels["utility"].select(Xn, lam=0.3)) == want) > 0.9
    assert np.mean(np.array(sels["knn"].select(Xn, lam=0.3)) == want) > 0.8
    assert sels["utility"].select(Xn, lam=np.inf) == ["cheap"] * 200
    assert sels["paper"].labels == ["cheap", "dear"]  # "mid" is no label


def test_save_load_identical(toy, tmp_path):
    X, *_ = toy
    Xn = np.random.default_rng(2).normal(size=(50, 6)).astype(np.float32)
    for name, sel in fitted(toy).items():
        if name in ("utility", "knn"): sel.for_budget(0.3)
        back = load_selector(sel.to_dir(tmp_path/name))
        assert type(back) is type(sel)
        assert back.select(Xn) == sel.select(Xn)
        if name != "random": np.testing.assert_array_equal(back.proba(Xn).to_numpy(), sel.proba(Xn).to_numpy())
        if name in ("utility", "knn"):
            assert back.lam == sel.lam
            assert [back.lam_for_budget(b) for b in (0.1, 0.3, 0.9)] == [sel.lam_for_budget(b) for b in (0.1, 0.3, 0.9)]
        files = {p.suffix for p in (tmp_path/name).iterdir()}
        assert files <= {".json", ".npy"}, files


def test_infinite_lam_survives_save(toy, tmp_path):
    X, P, C, _ = toy
    sel = UtilitySelector(lam=float("inf"), **SMALL).fit(X, P, C)
    meta = sel.to_dir(tmp_path/"u")/"meta.json"
    assert load_selector(meta.parent).lam == float("inf")
    json.loads(meta.read_text(), parse_constant=lambda t: pytest.fail(f"meta.json holds {t}, which is not JSON"))
    assert '"lam": "inf"' in meta.read_text()
    meta.write_text(meta.read_text().replace('"lam": "inf"', '"lam": Infinity'))  # the non-JSON token earlier versions wrote
    assert load_selector(meta.parent).lam == float("inf")


def test_bad_folders(toy, tmp_path):
    sel = fitted(toy)["knn"]
    with pytest.raises(FileNotFoundError, match="not a saved selector"): load_selector(tmp_path)
    d = sel.to_dir(tmp_path/"k")
    with pytest.raises(FileExistsError, match="not an empty folder"): sel.to_dir(d)
    (d/"meta.json").write_text('{"kind": "KNNSelector",\n "format": 1,\n oops}')
    with pytest.raises(ValueError, match=r"meta.json, line 3: not valid JSON"): load_selector(d)
    (d/"meta.json").write_text(json.dumps({"kind": "Mystery", "format": 1}))
    with pytest.raises(ValueError, match="field 'kind'"): load_selector(d)


def test_budget_monotone_and_met(toy):
    X, P, C, _ = toy
    sel = UtilitySelector(**SMALL).fit(X, P, C)
    budgets = np.linspace(0.05, 1.0, 40)
    lams = [sel.lam_for_budget(b) for b in budgets]
    assert all(a >= b for a, b in zip(lams, lams[1:]))
    rows = np.arange(len(C))
    for b, lam in zip(budgets, lams):
        U = sel.oof_p - lam * sel.oof_c if np.isfinite(lam) else -sel.oof_c
        assert C.to_numpy()[rows, U.argmax(1)].mean() <= b + 1e-9
    assert lams[-1] == 0.0 and set(lams) <= set(LAMS)
    with pytest.raises(ValueError, match="below the cheapest"): sel.lam_for_budget(0.01)
