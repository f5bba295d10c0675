"`adaptivellm train` and `route` in fresh processes: same choices as in-process, tampering refused, a custom pool."
import json, shutil

import pytest
from conftest import bare_data_folder, run_cli

from adaptivellm.data.benchmark import load_benchmark
from adaptivellm.selection.cost_aware import FAST_FIT
from adaptivellm.live.router import AdaptiveLLM, RouterFolderError


@pytest.fixture(scope="module")
def trained(data_dir, tmp_path_factory):
    "A utility router trained by the CLI on the published split (MiniLM; --quick: one fine-tuning step, the small grid)"
    out = tmp_path_factory.mktemp("r")/"router"
    run_cli("train", "--data", data_dir, "--encoder", "minilm", "--selector", "utility", "--split", "paper", "--quick", "--out", out)
    return out


def test_quick_trains_with_the_small_grid(trained):
    sel = json.loads((trained/"selector"/"meta.json").read_text())
    assert (sel["grid"], sel["n_folds"]) == (FAST_FIT["grid"], FAST_FIT["n_folds"])


def test_route_in_new_process_matches_in_process(trained, data_dir):
    bench = load_benchmark(data_dir, verbose=False)
    test_ids = bench.paper_split["test"][:40]
    prompts = list(bench.problems.prompt.loc[test_ids])
    lines = "".join(json.dumps({"id": i, "prompt": p}) + "\n" for i, p in zip(test_ids, prompts))
    router = AdaptiveLLM.load(trained)
    for flags in ([], ["--budget", "0.2"]):
        out = [json.loads(l) for l in run_cli("route", "--router", trained, *flags, "-", input=lines).stdout.splitlines()]
        expected = router.select(prompts, budget=float(flags[1]) if flags else None)
        assert [o["id"] for o in out] == test_ids
        assert [o["model"] for o in out] == [s.model for s in expected]
        for o, s in zip(out, expected):
            assert o["p_pass"] == pytest.approx(s.scores, abs=1e-6) and o["expected_usd"] == pytest.approx(s.expected_usd, rel=1e-6)
    single = run_cli("route", "--router", trained, prompts[0]).stdout.strip()
    assert single == router.select(prompts[0])[0].model


def _tampered(trained, tmp_path, rel):
    "A copy of the saved router with one byte of `rel` flipped"
    copy = tmp_path/"router"
    shutil.copytree(trained, copy)
    b = bytearray((copy/rel).read_bytes()); b[len(b)//2] ^= 0x20; (copy/rel).write_bytes(bytes(b))
    return copy


@pytest.mark.parametrize("rel", ["router.json", "encoder/model.safetensors", "encoder/tokenizer.json", "selector/meta.json", "manifest.sha256"])
def test_load_refuses_a_changed_byte(trained, tmp_path, rel):
    with pytest.raises(RouterFolderError, match="changed after saving"): AdaptiveLLM.load(_tampered(trained, tmp_path, rel))


def test_route_refuses_a_changed_byte(trained, tmp_path):
    "The command line says so and exits non-zero (one file: the check is `load`'s, tested on every file above)"
    res = run_cli("route", "--router", _tampered(trained, tmp_path, "encoder/model.safetensors"), "def f(): pass", check=False)
    assert res.returncode != 0 and "changed after saving" in res.stderr


def test_route_bad_stdin_names_the_line(trained):
    res = run_cli("route", "--router", trained, "-", input='{"id": 1, "prompt": "x"}\n{"id": 2}\n', check=False)
    assert res.returncode == 2 and "<stdin>, line 2, field 'prompt'" in res.stderr


def test_custom_pool_trains_and_routes(tmp_path):
    "A pool file that keeps two of a data folder's three models, at its own prices (a small folder: the choice of models is what is tested)"
    data = bare_data_folder(tmp_path/"data")
    pool = [{"name": "tiny", "price_per_mtok": 0.2}, {"name": "big", "price_per_mtok": 3.0}]
    (tmp_path/"pool.json").write_text(json.dumps(pool))
    out = tmp_path/"router2"
    run_cli("train", "--data", data, "--pool", tmp_path/"pool.json", "--split", "all", "--encoder", "minilm", "--no-finetune", "--selector", "paper", "--out", out)
    meta = json.loads((out/"router.json").read_text())
    assert [(m["name"], m["price_per_mtok"]) for m in meta["pool"]] == [(m["name"], m["price_per_mtok"]) for m in pool]
    chosen = run_cli("route", "--router", out, "Write a function that returns the sum of a list.").stdout.strip()
    assert chosen in {m["name"] for m in pool}
    res = run_cli("route", "--router", out, "--budget", "0.1", "x", check=False)
    assert res.returncode != 0 and "one operating point" in res.stderr
