"`adaptivellm train --cascade`: the router folder gains a cascade part covered by the manifest; a fresh process loads it and gives the same chains."
import json, shutil

import pytest
from conftest import run_cli

from adaptivellm.cascade.replay import price_ordered_chains
from adaptivellm.cascade.chains import route_features
from adaptivellm.data.benchmark import load_benchmark
from adaptivellm.live.router import AdaptiveLLM, RouterFolderError


@pytest.fixture(scope="module")
def trained(data_dir, tmp_path_factory):
    "A paper router with a cascade part, trained by the CLI on the published split (MiniLM, no fine-tuning)"
    out = tmp_path_factory.mktemp("rc")/"router"
    run_cli("train", "--data", data_dir, "--encoder", "minilm", "--no-finetune", "--selector", "paper", "--cascade", "--out", out)
    return out


def test_cascade_part_is_saved_and_listed(trained):
    files = json.loads((trained/"manifest.json").read_text())["files"]
    assert {"cascade/meta.json", "cascade/train_P.npy", "cascade/train_C.npy"} <= set(files)
    assert json.loads((trained/"router.json").read_text())["info"]["cascade"]["n_train"] == 411


def test_chains_after_load(trained, data_dir):
    bench = load_benchmark(data_dir, verbose=False)
    prompts = list(bench.problems.prompt.loc[bench.paper_split["test"][:30]])
    router = AdaptiveLLM.load(trained)
    allowed = set(price_ordered_chains(bench.pool))
    for kw in ({"lam": 0.0}, {"budget": 0.28}, {"budget": 0.6}):
        got = router.chains(prompts, **kw)
        assert len(got) == 30 and all(tuple(c) in allowed for c in got)
    labels = router.cascade.select(route_features(router.encoder.encode(prompts), prompts), lam=0.0)
    assert router.chains(prompts, lam=0.0) == [l.split(">") for l in labels]
    assert sum(len(c) for c in router.chains(prompts, lam=1e6)) <= sum(len(c) for c in router.chains(prompts, lam=0.0))


def test_changed_cascade_file_is_refused(trained, tmp_path):
    copy = tmp_path/"router"
    shutil.copytree(trained, copy)
    meta = copy/"cascade"/"meta.json"
    meta.write_text(meta.read_text().replace('"no_tests": "accept"', '"no_tests": "escalate"'))
    with pytest.raises(RouterFolderError, match="sha256"): AdaptiveLLM.load(copy)
