"""`adaptivellm generate` against a fake OpenAI-compatible server on 127.0.0.1, and `adaptivellm execute` on its
output: retries, resuming after a failure, a torn partial file, bad input, and labels that match known answers.

The fake model (tests/fakeopenai.py) answers each HumanEval prompt with a text the test fixes (`ANSWERS`), so every label the
tests check is known in advance: canonical solutions pass, the wrong function fails."""
import json
from collections import Counter

import pytest

from conftest import run_cli, write_jsonl
from fakeopenai import FakeOpenAI, chat, error
from adaptivellm.check.labels import humaneval_problems, humaneval_prompt

PROBLEMS = [humaneval_problems()[f"HumanEval/{i}"] for i in (0, 4, 7)]
PROMPTS = [{"id": p["task_id"], "prompt": humaneval_prompt(p)} for p in PROBLEMS]
ANSWERS = {r["prompt"]: f"Sure.\n```python\n{p['prompt']}{p['canonical_solution']}```\nDone." for r, p in zip(PROMPTS, PROBLEMS)}
ANSWERS[PROMPTS[2]["prompt"]] = "```python\ndef filter_by_substring(strings, substring):\n    return []\n```"
EXPECTED = {"HumanEval/0": [True, True], "HumanEval/4": [True, True], "HumanEval/7": [False, False]}


PID = {r["prompt"]: r["id"] for r in PROMPTS}


def respond(req, n):
    "Answer from ANSWERS; `server.fail` (set by the fixture) maps a problem id to a failure mode"
    prompt = req["messages"][-1]["content"]
    mode = respond.fail.get(PID[prompt])
    if mode == "500-once" and n == 1: return error(500, "try again")
    if mode == "400": return error(400, "bad request")
    text = ANSWERS[prompt]
    return chat(req["model"], text, 7, 10 + len(text))


def calls_by_id(srv):
    return Counter({PID[p]: n for p, n in srv.calls.items() if n})


@pytest.fixture
def server():
    with FakeOpenAI(respond) as srv:
        srv.fail = respond.fail = {}
        yield srv


def _generate(srv, tmp_path, *extra, check=True):
    write_jsonl(tmp_path / "prompts.jsonl", PROMPTS)
    return run_cli("generate", "--base-url", srv.url, "--model", "fake", "--prompts", tmp_path / "prompts.jsonl",
                   "--out", tmp_path / "responses.jsonl", "--n", 2, "--retries", 2, "--timeout", 10, *extra,
                   check=check, timeout=120)


def _read(path):
    return [json.loads(l) for l in path.read_text().splitlines() if l.strip()]


def test_generate_collects_answers_and_token_counts(server, tmp_path):
    server.fail["HumanEval/4"] = "500-once"  # one server error: retried by the client
    _generate(server, tmp_path)
    recs = _read(tmp_path / "responses.jsonl")
    assert [r["id"] for r in recs] == [r["id"] for r in PROMPTS]
    for r in recs:
        assert r["responses"] == [ANSWERS[r["prompt"]]] * 2
        assert r["output_token_counts"] == [10 + len(ANSWERS[r["prompt"]])] * 2
    assert calls_by_id(server) == Counter({"HumanEval/0": 2, "HumanEval/4": 3, "HumanEval/7": 2})
    assert sorted(set(server.seeds)) == [0, 1]
    assert not (tmp_path / "responses.jsonl.partial").exists()


def test_generate_resumes_after_a_failure(server, tmp_path):
    server.fail["HumanEval/7"] = "400"
    res = _generate(server, tmp_path, check=False)
    assert res.returncode == 1 and "rerun to resume" in res.stderr
    assert not (tmp_path / "responses.jsonl").exists()
    assert [r["id"] for r in _read(tmp_path / "responses.jsonl.partial")] == ["HumanEval/0", "HumanEval/4"]
    server.fail.clear(); server.calls.clear()
    _generate(server, tmp_path)
    assert calls_by_id(server) == Counter({"HumanEval/7": 2})  # only the missing problem is asked again
    assert [r["id"] for r in _read(tmp_path / "responses.jsonl")] == ["HumanEval/0", "HumanEval/4", "HumanEval/7"]
    server.calls.clear()
    _generate(server, tmp_path)  # a finished file: nothing to ask
    assert calls_by_id(server) == Counter()


def test_generate_drops_a_torn_last_line(server, tmp_path):
    good = {"id": "HumanEval/0", "prompt": PROMPTS[0]["prompt"], "responses": ["x", "y"], "output_token_counts": [1, 2]}
    (tmp_path / "responses.jsonl.partial").write_text(json.dumps(good) + "\n" + '{"id": "HumanEval/4", "promp')
    res = _generate(server, tmp_path)
    assert "removed a partial last line" in res.stderr
    assert calls_by_id(server) == Counter({"HumanEval/4": 2, "HumanEval/7": 2})
    assert _read(tmp_path / "responses.jsonl")[0] == good


def test_generate_then_execute_labels_known_answers(server, tmp_path):
    _generate(server, tmp_path)
    res = run_cli("execute", "--responses", tmp_path / "responses.jsonl", "--out", tmp_path / "fake-output-HumanEval.jsonl", timeout=120)
    assert "4/6 responses pass" in res.stdout
    recs = _read(tmp_path / "fake-output-HumanEval.jsonl")
    assert {r["id"]: r["results"] for r in recs} == EXPECTED
    assert [r["pass_rate"] for r in recs] == [1.0, 1.0, 0.0]
    assert all(r["output_token_counts"] == [10 + len(ANSWERS[r["prompt"]])] * 2 for r in recs)


def test_execute_names_the_bad_line_and_field(tmp_path):
    write_jsonl(tmp_path / "r.jsonl", [{"id": "HumanEval/0", "responses": ["x"]}, {"id": "HumanEval/1", "responses": "not a list"}])
    res = run_cli("execute", "--responses", tmp_path / "r.jsonl", "--out", tmp_path / "o.jsonl", check=False)
    assert res.returncode != 0 and "r.jsonl, line 2, field 'responses'" in res.stderr
    assert not (tmp_path / "o.jsonl").exists()


def test_execute_refuses_a_benchmark_without_tests(tmp_path):
    write_jsonl(tmp_path / "r.jsonl", [{"id": "LeetCode/1", "responses": ["x"]}])
    res = run_cli("execute", "--responses", tmp_path / "r.jsonl", "--out", tmp_path / "o.jsonl", "--benchmark", "leetcode", check=False)
    assert res.returncode != 0 and "available: humaneval" in res.stderr


def test_help_lists_the_commands():
    "Every command with the first line of its function's docstring, and nothing heavy imported to print it"
    from adaptivellm.cli import COMMANDS, _resolve
    out = run_cli("--help").stdout
    for name in COMMANDS: assert f"  {name} " in out and _resolve(name).__doc__.splitlines()[0] in out, name
    res = run_cli("no-such-command", check=False)  # an unknown command: the usage, on stderr
    assert "commands:" in res.stderr
    import subprocess, sys
    probe = "from adaptivellm.cli import main; import sys; main(['--help']); print(sorted(m for m in ('torch', 'xgboost', 'pandas') if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip().endswith("[]")
    assert "--base_url" in run_cli("generate", "--help").stdout  # --base-url is accepted too (cli.main)
    assert "--responses" in run_cli("execute", "--help").stdout


def test_execute_resumes_and_keeps_finished_problems(server, tmp_path):
    "A partial file from a stopped run (one finished problem, a torn second line): only the rest is run, the finished one kept as it is"
    _generate(server, tmp_path)
    out = tmp_path / "fake-output-HumanEval.jsonl"
    finished = {**_read(tmp_path / "responses.jsonl")[0], "results": [False, False], "pass_rate": 0.0}  # not what a run would give: kept, not rerun
    (tmp_path / "fake-output-HumanEval.jsonl.partial").write_text(json.dumps(finished) + "\n" + '{"id": "HumanEval/4", "resp')
    res = run_cli("execute", "--responses", tmp_path / "responses.jsonl", "--out", out, timeout=120)
    assert "(1 resumed)" in res.stdout and "2/6 responses pass" in res.stdout
    recs = _read(out)
    assert recs[0] == finished and {r["id"]: r["results"] for r in recs[1:]} == {"HumanEval/4": [True, True], "HumanEval/7": [False, False]}
    assert not (tmp_path / "fake-output-HumanEval.jsonl.partial").exists()
