"""`CotProbe` and `adaptivellm probe` against an OpenAI-compatible server on 127.0.0.1.

The server (tests/fakeopenai.py) gives a reasoning length that is a function of the prompt (`expected`), so every assertion about
lengths compares with a number the test fixes, not one the probe wrote. Markers in a prompt make
the server misbehave: FLAKY (500 on its first two requests), LIMITED (429 on the first), SLOW (the
first request outlasts the client timeout), ALWAYS500, BAD400.
"""
import json, os, signal, subprocess, sys, time
from pathlib import Path

import pytest
from fakeopenai import FakeOpenAI, error, thinking

from adaptivellm.difficulty.probe import CotProbe, ProbeError
from adaptivellm.data.benchmark import median_think_length

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 0.5  # client timeout in these tests; SLOW's first answer takes longer


def expected(prompt: str) -> int:
    "The think length the fake server produces for `prompt`"
    return 40 + 3 * len(prompt)


def respond(req, n):
    "The reasoning style is picked by the model name; markers in the prompt make the server misbehave"
    prompt, model = req["messages"][-1]["content"], req["model"]
    if model == "no-such-model": return error(404, f"model {model} does not exist")
    if "ALWAYS500" in prompt or ("FLAKY" in prompt and n <= 2): return error(500, "internal error")
    if "LIMITED" in prompt and n == 1: return error(429, "slow down", {"Retry-After": "0"})
    if "BAD400" in prompt: return error(400, "prompt too long for the context")
    if "SLOW" in prompt and n == 1: time.sleep(TIMEOUT * 3)
    think = ("let me think. " * expected(prompt))[: expected(prompt)]
    return thinking(model, think, "```python\npass\n```", style=model)  # the model's name is its style: sep, tags, r1


@pytest.fixture
def server():
    with FakeOpenAI(respond) as srv: yield srv


def make_probe(srv, model="sep", **kw):
    kw = {"n_samples": 3, "concurrency": 3, "timeout": TIMEOUT, "base_delay": 0.01, "max_delay": 0.05, **kw}
    return CotProbe(srv.url, model, **kw)


def problems(*prompts):
    return [{"id": f"t/{i}", "prompt": p} for i, p in enumerate(prompts)]


def read_rows(path) -> dict:
    "Rows of a probe's output by id; fails on a malformed or duplicated line"
    lines = Path(path).read_bytes().decode().split("\n")
    assert lines[-1] == "", "output must end with a newline"
    rows = [json.loads(line) for line in lines[:-1]]
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)), f"duplicate ids in {path}: {ids}"
    return {r["id"]: r for r in rows}


def run_cli(*args, env_extra=None, **kw):
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env_extra or {})}
    cmd = [sys.executable, "-c", "from adaptivellm.cli import main; raise SystemExit(main())", "probe", *args]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def write_prompts(path, probs):
    Path(path).write_text("".join(json.dumps(p) + "\n" for p in probs))
    return str(path)


@pytest.mark.parametrize("model", ["sep", "tags", "r1"])
def test_reasoning_styles(server, tmp_path, model):
    "reasoning_content, <think> tags, and a closer whose opener was in the prompt all give the server's length"
    probs = problems("Add two numbers.", "Reverse a linked list in place.")
    s = make_probe(server, model).run(probs, tmp_path / "out.jsonl", progress=False)
    rows = read_rows(tmp_path / "out.jsonl")
    assert sorted(s.written) == ["t/0", "t/1"] and not s.failed and s.zero_samples == 0
    for p in probs:
        assert rows[p["id"]] == {"id": p["id"], "prompt": p["prompt"], "think_lengths": [expected(p["prompt"])] * 3}
        assert median_think_length(rows[p["id"]]["think_lengths"]) == expected(p["prompt"])


def test_transient_errors_are_retried(server, tmp_path):
    "500s, a 429 and a request slower than the client timeout are retried until they succeed"
    probs = problems("FLAKY problem", "LIMITED problem", "SLOW problem", "plain problem")
    s = make_probe(server).run(probs, tmp_path / "out.jsonl", progress=False)
    rows = read_rows(tmp_path / "out.jsonl")
    assert not s.failed and len(s.written) == 4
    assert {k: r["think_lengths"] for k, r in rows.items()} == {p["id"]: [expected(p["prompt"])] * 3 for p in probs}
    assert server.calls["FLAKY problem"] == 3 + 2  # two 500s retried
    assert server.calls["LIMITED problem"] == 3 + 1
    assert server.calls["SLOW problem"] == 3 + 1  # the timed-out request was sent again
    assert server.calls["plain problem"] == 3


def test_always_failing_problem_is_reported_not_written(server, tmp_path):
    "a problem that always gets 500 fails after max_attempts tries; the others are still written"
    probs = problems("ALWAYS500 problem", "plain problem")
    s = make_probe(server, concurrency=1, max_attempts=4).run(probs, tmp_path / "out.jsonl", progress=False)
    assert list(s.failed) == ["t/0"] and "gave up after 4 attempts" in s.failed["t/0"] and "500" in s.failed["t/0"]
    assert s.written == ["t/1"]
    assert set(read_rows(tmp_path / "out.jsonl")) == {"t/1"}
    assert server.calls["ALWAYS500 problem"] == 4  # one sample's tries; its other samples are not sent


def test_cli_exit_status_names_failed_problem(server, tmp_path):
    prompts = write_prompts(tmp_path / "p.jsonl", problems("plain problem", "ALWAYS500 problem"))
    proc = run_cli("--base-url", server.url, "--model", "tags", "--prompts", prompts, "--out", str(tmp_path / "o.jsonl"),
                   "--samples", "2", "--max-attempts", "3", "--base-delay", "0.01", "--timeout", str(TIMEOUT),
                   env_extra={"OPENAI_API_KEY": "sk-test"})
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1, err
    assert "failed t/1" in err and "gave up after 3 attempts" in err
    assert set(read_rows(tmp_path / "o.jsonl")) == {"t/0"}
    assert server.auth == {"Bearer sk-test"}


def test_bad_request_fails_fast_for_that_problem(server, tmp_path):
    s = make_probe(server, concurrency=1).run(problems("BAD400 problem", "plain"), tmp_path / "o.jsonl", progress=False)
    assert "HTTP 400" in s.failed["t/0"] and "too long" in s.failed["t/0"]
    assert server.calls["BAD400 problem"] == 1  # not retried
    assert s.written == ["t/1"]


def test_unknown_model_stops_the_run(server, tmp_path):
    "404 (wrong model or URL) would hit every request: the run stops at once with a clear message"
    probe = make_probe(server, "no-such-model", concurrency=1)
    with pytest.raises(ProbeError, match=r"no-such-model.*HTTP 404.*stopping the run"):
        probe.run(problems("a", "b", "c"), tmp_path / "o.jsonl", progress=False)
    assert sum(server.calls.values()) == 1
    assert (tmp_path / "o.jsonl").read_text() == ""


def test_unknown_model_stops_concurrent_run_quickly(server, tmp_path):
    "with requests in flight, a 404 still stops the run: no more than a few of the 60 requests are sent"
    probe = make_probe(server, "no-such-model", concurrency=3)
    with pytest.raises(ProbeError, match="HTTP 404"):
        probe.run(problems(*[f"p{i}" for i in range(20)]), tmp_path / "o.jsonl", progress=False)
    assert 1 <= sum(server.calls.values()) <= 6


def test_bad_prompts_file_rejected_before_any_request(server, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "prompt": "fine"}\n{"id": "b", "promt": "typo"}\n')
    proc = run_cli("--base-url", server.url, "--model", "sep", "--prompts", str(bad), "--out", str(tmp_path / "o.jsonl"))
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert f"{bad}, line 2: field 'prompt'" in err
    assert sum(server.calls.values()) == 0 and not (tmp_path / "o.jsonl").exists()


def test_placeholder_key_when_unset(server, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    prompts = write_prompts(tmp_path / "p.jsonl", problems("x"))
    proc = subprocess.Popen([sys.executable, "-c", "from adaptivellm.cli import main; raise SystemExit(main())", "probe",
                             "--base-url", server.url, "--model", "sep", "--prompts", prompts, "--out",
                             str(tmp_path / "o.jsonl"), "--samples", "1"],
                            env={**env, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "OPENAI_API_KEY is unset" in err and server.auth == {"Bearer EMPTY"}


def test_sampling_seeds_repeat(server, tmp_path):
    "each request carries a seed fixed by (seed, id, sample): two runs send the same seeds"
    make_probe(server, concurrency=1).run(problems("a", "b"), tmp_path / "1.jsonl", progress=False)
    first = list(server.seeds)
    server.seeds.clear()
    make_probe(server, concurrency=1).run(problems("a", "b"), tmp_path / "2.jsonl", progress=False)
    assert first == server.seeds and len(set(first)) == 6


def test_truncated_last_line_is_repaired(server, tmp_path, caplog):
    "a partial last line (no newline) left by a kill is cut away, with a message, and measured again"
    probs = problems("first prompt", "second prompt", "third prompt")
    out = tmp_path / "out.jsonl"
    good = json.dumps({"id": "t/0", "prompt": "first prompt", "think_lengths": [1, 2, 3]}) + "\n"
    out.write_text(good + '{"id": "t/1", "prompt": "second pr')
    s = make_probe(server).run(probs, out, progress=False)
    assert "removed a partial last line" in caplog.text
    assert s.skipped == ["t/0"] and sorted(s.written) == ["t/1", "t/2"]
    rows = read_rows(out)
    assert out.read_text().startswith(good)  # the complete line is kept as it was
    assert rows["t/1"]["think_lengths"] == [expected("second prompt")] * 3
    assert server.calls["first prompt"] == 0


def test_killed_run_resumes_to_the_same_file(server, tmp_path):
    "SIGKILL mid-run, then the same command: the file ends up as an uninterrupted run's, no duplicates"
    probs = problems(*[f"problem number {i} " + "x" * i for i in range(8)])
    prompts = write_prompts(tmp_path / "p.jsonl", probs)
    args = ["--base-url", server.url, "--model", "tags", "--prompts", prompts, "--samples", "2", "--concurrency", "2"]
    env = {"OPENAI_API_KEY": "sk-test"}

    whole = run_cli(*args, "--out", str(tmp_path / "whole.jsonl"), env_extra=env)
    assert whole.wait(30) == 0

    server.delay = 0.25  # 16 requests, 2 at a time: the run lasts >1.5 s after its second line
    out = tmp_path / "killed.jsonl"
    proc = run_cli(*args, "--out", str(out), env_extra=env)
    deadline = time.monotonic() + 30
    while not (out.exists() and out.read_bytes().count(b"\n") >= 2):
        assert proc.poll() is None and time.monotonic() < deadline, "the run ended before it could be killed"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    written_before = out.read_bytes().count(b"\n")  # complete lines; a partial one is the restart's to repair
    assert 2 <= written_before < len(probs)

    server.delay = 0.0
    calls_before = sum(server.calls.values())
    resumed = run_cli(*args, "--out", str(out), env_extra=env)
    stdout, err = resumed.communicate(timeout=30)
    assert resumed.returncode == 0, err
    assert f"skipped {written_before} already written" in stdout
    assert sum(server.calls.values()) - calls_before == 2 * (len(probs) - written_before)

    expected_rows = {p["id"]: {**p, "think_lengths": [expected(p["prompt"])] * 2} for p in probs}
    assert read_rows(out) == read_rows(tmp_path / "whole.jsonl") == expected_rows
