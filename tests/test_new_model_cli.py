"""A model new to the pool, from its answers to a report, with the README's five commands: `generate` (a fake
OpenAI-compatible server plays the new model on 127.0.0.1), `execute` (HumanEval's tests in the sandbox), `gate --pool
--models` (its answers on the statements' examples), `train --cascade --verdicts` and `reproduce --quick --verdicts`.

The new model has answers on the first 40 HumanEval problems only: the pool ["paper", my-coder] is accepted, the
problems it lacks are left out for every model, said once, and stated in the report. Its answers are known in advance
(the reference solution on even-numbered problems, a function returning None on odd ones), so its labels are too."""
import json

import pytest
from conftest import run_cli
from fakeopenai import FakeOpenAI, chat, right_answer, wrong_answer, KNOWN, tokens

N_PROBLEMS, N_SAMPLES = 40, 2


def respond(req, n):
    "my-coder: right on even-numbered HumanEval problems, wrong on odd ones"
    prompt = req["messages"][-1]["content"]
    number = int(KNOWN[prompt]["task_id"].split("/")[1])
    text = right_answer(prompt) if number % 2 == 0 else wrong_answer(prompt)
    return chat(req["model"], text, tokens(prompt), tokens(text))


@pytest.fixture(scope="module")
def new_model(data_dir, tmp_path_factory):
    "The five commands' outputs, in a work folder: my-coder's answers, labels, verdicts, a router and a report"
    work = tmp_path_factory.mktemp("new-model")
    env = {"ADAPTIVELLM_DATA": str(data_dir), "ADAPTIVELLM_CACHE": str(work/"cache"), "FAKE_KEY": "sk-fake"}
    lines = (data_dir/"Processed_Data"/"prompts_en_extra_is_freeform.jsonl").read_text().splitlines(keepends=True)
    (work/"prompts.jsonl").write_text("".join(lines[:N_PROBLEMS]))
    (work/"my-coder").mkdir()
    with FakeOpenAI(respond) as srv:
        run_cli("generate", "--base-url", srv.url, "--model", "my-coder-v1", "--prompts", work/"prompts.jsonl", "--n", N_SAMPLES,
                "--out", work/"my-coder"/"answers.jsonl", "--api-key-env", "FAKE_KEY", env=env)
    run_cli("execute", "--responses", work/"my-coder"/"answers.jsonl", "--out", work/"my-coder"/"my-coder-output-HumanEval.jsonl", env=env)
    (work/"pool.json").write_text('["paper", {"name": "my-coder", "price_per_mtok": 0.3, "results": "my-coder"}]')
    out = {"gate": run_cli("gate", "--pool", work/"pool.json", "--models", "my-coder", "--out", work/"my-coder"/"verdicts.jsonl", env=env)}
    out["train"] = run_cli("train", "--pool", work/"pool.json", "--encoder", "minilm", "--selector", "utility", "--no-finetune",
                           "--cascade", "--verdicts", work/"my-coder"/"verdicts.jsonl", "--out", work/"router", env=env)
    out["reproduce"] = run_cli("reproduce", "--pool", work/"pool.json", "--verdicts", work/"my-coder"/"verdicts.jsonl", "--quick",
                               "--encoder", "minilm", "--no-finetune", "--out", work/"report", env=env)
    return work, out


def test_labels_and_verdicts_of_the_new_model(new_model):
    work, out = new_model
    labelled = [json.loads(l) for l in (work/"my-coder"/"my-coder-output-HumanEval.jsonl").read_text().splitlines()]
    assert len(labelled) == N_PROBLEMS
    for r in labelled: assert r["results"] == [int(r["id"].split("/")[1]) % 2 == 0] * N_SAMPLES, r["id"]
    verdicts = [json.loads(l) for l in (work/"my-coder"/"verdicts.jsonl").read_text().splitlines()]
    assert len(verdicts) == N_PROBLEMS * N_SAMPLES and {v["model"] for v in verdicts} == {"my-coder"}
    wrong = [v for v in verdicts if int(v["problem_id"].split("/")[1]) % 2]
    assert wrong and all(v["verdict"] == "fail" for v in wrong)  # a function returning None fails its examples
    assert "my-coder has no outcome for 124 HumanEval, 165 CodeContests and 260 LeetCode problems" in out["gate"].stderr


def test_the_router_routes_to_the_new_model(new_model):
    work, out = new_model
    meta = json.loads((work/"router"/"router.json").read_text())
    assert [m["name"] for m in meta["pool"]][-1] == "my-coder" and "results" not in meta["pool"][-1]
    assert meta["info"]["n_train"] < N_PROBLEMS  # the published split's training part, cut to the 40 problems
    assert any("my-coder" in c for c in json.loads((work/"router"/"cascade"/"meta.json").read_text())["models"])


def test_the_report_has_the_new_model_and_says_what_was_left_out(new_model):
    work, out = new_model
    res = json.loads((work/"report"/"results.json").read_text())
    assert res["problems"]["n"] == N_PROBLEMS and res["problems"]["pool"][-1] == "my-coder"
    rows = {r["method"]: r for r in res["repeated"]["rows"]}
    assert rows["single:my-coder"]["pass@1"]["mean"] == pytest.approx(0.5, abs=0.2)  # right on the even half
    assert res["cascade"] and res["aiq"]  # the cascade replayed, its chains through the new model on its verdicts (see the router's)
    assert "--verdicts" in res["provenance"]["command"] and res["problems"]["verdicts"]
    md = (work/"report"/"results.md").read_text()
    assert "every comparison uses the 40 problems every pool model has" in md and "single:my-coder" in md
    assert "single:my-coder" in out["reproduce"].stdout and out["reproduce"].stderr.count("my-coder has no outcome") == 1
