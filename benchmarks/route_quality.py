"""Routing quality of the fast featurisers against the torch (fp32) reference (a measurement, not a test).

Routers are trained on each path's features and compared on the same test problems: the paper selector
(XGBoost on the best model) and the utility selector at `reproduce`'s budgets, on the published split and on
repeated stratified leakage-free 70/30 splits. Paths: `torch` (MiniLM, fp32: the reference), `static`
(`PromptEncoder(runtime="static")`, token vectors distilled from the same MiniLM) and, with --tfidf, a cheap
featuriser (TF-IDF + 64-d truncated SVD, fitted on each split's training prompts only); with --context, a
variant of the static table (`static-ctx`): each token's row is the mean of its contextual output states over
the split's training prompts (rows of tokens absent from them stay the isolated-token rows); with --reseed,
torch again with the selectors seeded differently (`torch-reseed`: the reference's own seed noise). Per method and path:
pass@1 and USD per 1,000 problems, the difference to torch (mean and corrected 95% CI over the repeated
splits), the share of test problems where the two routers choose differently, and whether the issue-12 bars
hold (published split: |Δpass@1| <= 0.01 and |ΔUSD/1k| <= 0.01; repeated splits: torch's mean inside the
path's CI, or the Δ CI covering 0). The cosine similarity of static to fp32 embeddings is reported per prompt
over all problems. --finetune adds the fine-tuned pipeline (the paper's AdaptiveLLM, leakage-free) on the
published split: one fine-tuning, then both runtimes of the fine-tuned weights. --json FILE writes the tables.

    PYTHONPATH=$PWD /work/main/.venv/bin/python benchmarks/route_quality.py [--splits 10] [--quick] [--finetune] [--tfidf] [--context] [--reseed] [--no-static] [--json FILE]
"""
import argparse, json, os, sys, tempfile, time, warnings
for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # before numpy: multi-threaded BLAS on a busy machine made
    os.environ.setdefault(_v, "1")                                         # the selectors' small solves ~30x slower (583 s vs 18 s a fit)
from pathlib import Path
import numpy as np, pandas as pd, torch
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer

from adaptivellm.data.benchmark import load_benchmark
from adaptivellm.embed.encoder import PromptEncoder
from adaptivellm.study.evaluation import evaluate_choice
from adaptivellm.difficulty.score import paper_split, stratified_splits
from adaptivellm.study.reproduce import GRIDS, default_budgets
from adaptivellm.study.report import mean_ci, md_table
from adaptivellm.live.router import AdaptiveLLM
from adaptivellm.selection.selector import PaperSelector, selection_targets
from adaptivellm.selection.cost_aware import UtilitySelector

REF, TOL = "torch", 0.01


def tfidf_features(bench, tr, seed:int, dim:int=64) -> pd.DataFrame:
    "TF-IDF (sublinear, min_df 2) + seeded truncated SVD, fitted on the training prompts `tr` only; rows for every problem"
    P = bench.problems.prompt
    vec = TfidfVectorizer(sublinear_tf=True, min_df=2).fit(P.loc[tr])
    svd = TruncatedSVD(dim, random_state=seed).fit(vec.transform(P.loc[tr]))
    return pd.DataFrame(svd.transform(vec.transform(P)).astype(np.float32), index=P.index)


class ContextTable:
    "Static features whose token rows are contextual output states averaged over training prompts (one torch pass over all prompts)"
    def __init__(self, enc:PromptEncoder, bench, batch:int=32):
        P, tok = bench.problems.prompt, enc.tokenizer
        self.index, self.iso = P.index, enc.static_table.astype(np.float32)
        self.ids = tok(list(P), truncation=True, max_length=enc.max_length)["input_ids"]
        self.states = []  # per prompt: output states of its tokens in context, special tokens left out
        with torch.inference_mode():
            for s in range(0, len(P), batch):
                b = tok(list(P.iloc[s:s + batch]), truncation=True, max_length=enc.max_length, padding=True, return_tensors="pt")
                h = enc.model(**b).last_hidden_state.float().numpy()
                self.states += [h[i, 1:len(q) - 1] for i, q in enumerate(self.ids[s:s + batch])]
        self.pos = {p: i for i, p in enumerate(self.index)}

    def __call__(self, tr) -> pd.DataFrame:
        "Features of every problem from a table whose rows are averaged over the prompts `tr`"
        sums, n = np.zeros_like(self.iso, dtype=np.float64), np.zeros(len(self.iso))
        for i in map(self.pos.get, tr):
            q = np.asarray(self.ids[i][1:-1]); np.add.at(sums, q, self.states[i]); np.add.at(n, q, 1)
        table, seen = self.iso.copy(), n > 0
        table[seen] = sums[seen] / n[seen, None]
        return pd.DataFrame(np.stack([table[q[1:-1]].mean(0) for q in self.ids]).astype(np.float32), index=self.index)


def features(X:dict, path:str, bench, tr, seed:int) -> pd.DataFrame:
    "The features of `path` for a split whose training ids are `tr`"
    if path == "tfidf": return tfidf_features(bench, tr, seed)
    if path == "torch-reseed": return X[REF]
    return X[path](tr) if callable(X[path]) else X[path]

def route(X:dict, path:str, bench, tr, te, budgets, quick:bool, seed:int) -> dict:
    "`choices` of the routers of `path` (torch-reseed: torch's features, selectors seeded `seed + 1000`)"
    return choices(features(X, path, bench, tr, seed), bench, tr, te, budgets, quick, seed + 1000 * (path == "torch-reseed"))


def choices(X:pd.DataFrame, bench, tr, te, budgets, quick:bool, seed:int) -> dict:
    "method -> chosen model per test problem, for routers trained on features `X`"
    targets, Xtr, Xte = selection_targets(bench, tr), X.loc[tr].to_numpy(), X.loc[te].to_numpy()
    out = {"paper": PaperSelector(seed=seed).fit(Xtr, *targets).select(Xte)}
    util = UtilitySelector(seed=seed, **GRIDS[quick]).fit(Xtr, *targets)
    for b in budgets:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try: out[f"utility@{b:.3f}"] = util.select(Xte, budget=b)
            except ValueError: pass
    return {k: pd.Series(list(v), index=te) for k, v in out.items()}


def compare(bench, ch:dict) -> list:
    "Rows: per path other than torch and method, both paths' pass@1 and cost, the differences, the share of differing choices"
    rows = []
    for path in [p for p in ch if p != REF]:
        for m in ch[REF]:
            if m not in ch[path]: continue
            r = {p: evaluate_choice(bench, ch[p][m]) for p in (REF, path)}
            rows.append({"path": path, "method": m, "pass@1 torch": r[REF]["pass@1"], "pass@1 path": r[path]["pass@1"],
                         "Δpass@1": r[path]["pass@1"] - r[REF]["pass@1"], "usd_per_1k torch": r[REF]["usd_per_1k"],
                         "usd_per_1k path": r[path]["usd_per_1k"], "Δusd_per_1k": r[path]["usd_per_1k"] - r[REF]["usd_per_1k"],
                         "differ": float((ch[REF][m] != ch[path][m]).mean())})
    return rows


def cosine(A:np.ndarray, B:np.ndarray) -> dict:
    "Per-row cosine similarity of `A` and `B`: mean, 5th percentile and minimum"
    c = (A * B).sum(1) / (np.linalg.norm(A, axis=1) * np.linalg.norm(B, axis=1)).clip(1e-12)
    return {"n": len(c), "mean": float(c.mean()), "p05": float(np.percentile(c, 5)), "min": float(c.min())}


def finetuned(bench, tr, te, seed:int, context:bool=False) -> tuple:
    "The fine-tuned paper pipeline on one split, with the fine-tuned encoder run by each runtime; (rows, cosines)"
    prompts, P_te, m = list(bench.problems.prompt), list(bench.problems.prompt.loc[te]), "adaptivellm-leakfree"
    base = AdaptiveLLM.fit(bench, tr, encoder=PromptEncoder("minilm"), finetune=True, selector="paper", seed=seed)
    e = base.encoder
    static = PromptEncoder.from_model(e.model, e.tokenizer, e.backbone_name, e.max_length, runtime="static")
    r = AdaptiveLLM.fit(bench, tr, encoder=static, finetune=False, selector="paper", seed=seed)
    ch = {p: {m: pd.Series([s.model for s in router.select(P_te)], index=te)} for p, router in ((REF, base), ("static", r))}
    E = pd.DataFrame(e.encode(prompts), index=bench.problems.index)
    cos = {"static, all prompts": cosine(static.encode(prompts), E.to_numpy())}
    if context:
        C = ContextTable(static, bench)(tr)
        sel = PaperSelector(seed=seed).fit(C.loc[tr].to_numpy(), *selection_targets(bench, tr))
        ch["static-ctx"] = {m: pd.Series(sel.select(C.loc[te].to_numpy()), index=te)}
        cos["static-ctx, test prompts"] = cosine(C.loc[te].to_numpy(), E.loc[te].to_numpy())
    return compare(bench, ch), cos


def bars(pub:list, agg:list) -> list:
    "Per path and method: whether the issue-12 bars hold on the published split and on the repeated splits"
    out = {}
    for r in pub:
        out[(r["path"], r["method"])] = {"path": r["path"], "method": r["method"], "published": abs(r["Δpass@1"]) <= TOL and abs(r["Δusd_per_1k"]) <= TOL}
    for r in agg:
        ok = {}
        for k in ("pass@1", "usd_per_1k"):
            lo, hi = r[f"{k} path"]["ci95"]; dlo, dhi = r[f"Δ{k}"]["ci95"]
            ok[k] = bool(lo <= r[f"{k} torch"]["mean"] <= hi or dlo <= 0 <= dhi)
        out.setdefault((r["path"], r["method"]), {"path": r["path"], "method": r["method"]})["repeated"] = ok["pass@1"] and ok["usd_per_1k"]
    return list(out.values())


def compact_json(obj:dict) -> str:
    "JSON text of a dict with one line per key, and one line per item of a list of dicts"
    dump = lambda v: json.dumps(v, ensure_ascii=False)
    val = lambda v: "[\n  " + ",\n  ".join(map(dump, v)) + "\n ]" if isinstance(v, list) and v and isinstance(v[0], dict) else dump(v)
    return "{\n" + ",\n".join(f" {dump(k)}: {val(v)}" for k, v in obj.items()) + "\n}\n"


def write_json(path, obj:dict):
    "Write `obj` as compact JSON to `path` atomically (temp file beside it, then rename)"
    path = Path(path); path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f: f.write(compact_json(obj))
        os.chmod(tmp, 0o644); os.replace(tmp, path)
    except BaseException: Path(tmp).unlink(missing_ok=True); raise


def _round(o, nd:int=4):
    "Floats in `o` rounded to `nd` digits (a compact JSON)"
    if isinstance(o, float): return round(o, nd)
    if isinstance(o, dict): return {k: _round(v, nd) for k, v in o.items()}
    if isinstance(o, (list, tuple)): return [_round(v, nd) for v in o]
    return o


COLS = ["path", "method", "pass@1 torch", "pass@1 path", "Δpass@1", "usd_per_1k torch", "usd_per_1k path", "Δusd_per_1k", "differ"]

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--splits", type=int, default=10); ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="the small selector grid of reproduce --quick")
    ap.add_argument("--finetune", action="store_true", help="also the fine-tuned pipeline on the published split (minutes)")
    ap.add_argument("--tfidf", action="store_true", help="also the TF-IDF featuriser (fitted on each split's training prompts)")
    ap.add_argument("--context", action="store_true", help="also the static table averaged over training prompts in context (static-ctx)")
    ap.add_argument("--reseed", action="store_true", help="also torch with the selectors seeded 1000 higher (the reference's own seed noise)")
    ap.add_argument("--no-static", action="store_true", help="leave out the static path (e.g. with --reseed alone)")
    ap.add_argument("--json", help="write the tables to this JSON file")
    a = ap.parse_args(argv)
    t0, bench = time.perf_counter(), load_benchmark(verbose=False)
    prompts, budgets = list(bench.problems.prompt), default_budgets(bench)
    X = {rt: pd.DataFrame(PromptEncoder("minilm", runtime=rt).encode(prompts), index=bench.problems.index) for rt in (REF, "static")}
    paths = [REF] + ([] if a.no_static else ["static"]) + (["static-ctx"] if a.context else []) + (["tfidf"] if a.tfidf else []) + (["torch-reseed"] if a.reseed else [])
    cos = {"minilm: static, all prompts": cosine(X["static"].to_numpy(), X[REF].to_numpy())}
    tr, te = paper_split(bench)
    if a.context:
        X["static-ctx"] = ContextTable(PromptEncoder("minilm", runtime="static"), bench)
        cos["minilm: static-ctx, published test prompts"] = cosine(X["static-ctx"](tr).loc[te].to_numpy(), X[REF].loc[te].to_numpy())
    print(f"cosine to fp32 per prompt: {cos}")
    print(f"## Published split ({len(te)} test problems); budgets {budgets}\n")
    pub = compare(bench, {p: route(X, p, bench, tr, te, budgets, a.quick, 42) for p in paths})
    if a.finetune:
        rows, ft_cos = finetuned(bench, tr, te, 42, a.context)
        pub += rows; cos |= {f"minilm+triplet (published train): {k}": v for k, v in ft_cos.items()}
        print(f"cosine to fp32, fine-tuned MiniLM: {ft_cos}")
    print(md_table(pub, COLS), flush=True)
    reps = [compare(bench, {p: route(X, p, bench, tr, te, budgets, a.quick, a.seed + i) for p in paths})
            for i, (tr, te) in enumerate(stratified_splits(bench, a.splits, 0.3, a.seed))]
    df = pd.DataFrame([r for rows in reps for r in rows])
    agg = [{"path": p, "method": m, **{c: mean_ci(g[c]) for c in COLS[2:]}} for (p, m), g in df.groupby(["path", "method"], sort=False)]
    print(f"## {a.splits} repeated leakage-free splits: mean [95% CI]\n\n" + md_table(agg, COLS))
    ok = bars(pub, agg)
    print("## Bars (published: |Δ| <= 0.01 on both; repeated: torch mean in the path's CI or Δ CI covers 0)\n\n" + md_table(ok, ["path", "method", "published", "repeated"]))
    secs = time.perf_counter() - t0
    print(f"{secs:.0f} s; load avg {os.getloadavg()[0]:.1f}")
    if a.json:
        write_json(a.json, _round({"command": "python benchmarks/route_quality.py " + " ".join(sys.argv[1:] if argv is None else argv),
                                   "budgets": budgets, "n_test_published": len(te), "splits": a.splits, "seed": a.seed, "quick": a.quick,
                                   "cosine_static_vs_fp32": cos, "published": pub, "repeated": agg, "bars": ok,
                                   "seconds": secs, "load_avg_end": os.getloadavg()[0]}))


if __name__ == "__main__": main()
