"Bad input to the loader: each case is a small broken copy of a data folder, built in a temp dir."
import json, shutil

import pytest
from conftest import make_result_rows, write_jsonl

from adaptivellm.core.files import BenchmarkError
from adaptivellm.data.benchmark import load_benchmark


def load(root):
    return load_benchmark(root, root/"pool.json", verbose=False)


def edit_line(path, lineno, fn):
    "Replace line `lineno` (1-based) of a JSONL file by fn(record) (a dict, or raw text)"
    lines = path.read_text().splitlines()
    new = fn(json.loads(lines[lineno - 1]))
    lines[lineno - 1] = new if isinstance(new, str) else json.dumps(new)
    path.write_text("\n".join(lines) + "\n")


def test_tiny_folder_loads(tiny_data):
    b = load(tiny_data)
    assert len(b.problems) == 12 and b.models == ["tiny", "mid", "big"] and len(b.outcomes) == 36
    assert b.paper_split is None and b.published is None and b.complexitynet is None
    assert b.reasoners == ["R1"]


@pytest.mark.parametrize("lineno, fn, field, msg", [
    (3, lambda r: '{"id": "Alpha/2", "prompt": ', None, "not valid JSON"),
    (2, lambda r: {k: v for k, v in r.items() if k != "results"}, "results", "missing"),
    (4, lambda r: {**r, "results": "yes"}, "results", "expected"),
    (4, lambda r: {**r, "id": 17}, "id", "expected str"),
    (5, lambda r: {**r, "id": "Alpha/0"}, "id", "duplicate id"),
    (2, lambda r: {**r, "pass_rate": 1.4}, "pass_rate", "outside [0, 1]"),
    (2, lambda r: {**r, "pass_rate": 0.0 if r["pass_rate"] else 1.0}, "pass_rate", "disagrees with `results`"),
    (6, lambda r: {**r, "prompt": "   "}, "prompt", "empty"),
    (1, lambda r: {**r, "output_token_counts": r["output_token_counts"][:3]}, "output_token_counts", "has 3 items"),
])
def test_broken_result_line(tiny_data, lineno, fn, field, msg):
    path = tiny_data/"Result"/"mid-output-Alpha.jsonl"
    edit_line(path, lineno, fn)
    with pytest.raises(BenchmarkError) as e: load(tiny_data)
    assert e.value.path == str(path) and e.value.line == lineno and e.value.field == field
    assert str(path) in str(e.value) and f"line {lineno}" in str(e.value) and msg in str(e.value)


def line_of(text, needle, offset=0):
    "1-based line of the first `needle` in `text`, plus `offset`"
    return text[:text.index(needle)].count("\n") + 1 + offset


@pytest.mark.parametrize("edit, needle, offset, msg", [
    (lambda p: p[1].update(price_per_mtok=-0.5), '"price_per_mtok": -0.5', 0, "non-negative"),
    (lambda p: p[2].pop("price_per_mtok"), '"name": "big"', -1, "missing"),  # the line of the model's opening brace
    (lambda p: p.append({"name": "ghost", "price_per_mtok": 1.0}), '"name": "ghost"', 0, "model 'ghost' has no outcome file; tried"),
])
def test_broken_pool(tiny_data, edit, needle, offset, msg):
    pool = json.loads((tiny_data/"pool.json").read_text())
    edit(pool)
    text = json.dumps(pool, indent=1)
    (tiny_data/"pool.json").write_text(text)
    line = line_of(text, needle, offset)
    with pytest.raises(BenchmarkError) as e: load(tiny_data)
    assert e.value.path == str(tiny_data/"pool.json") and e.value.line == line, str(e.value)
    assert msg in str(e.value)


def test_a_missing_problem_is_left_out_for_every_model_and_said(tiny_data, capsys):
    path = tiny_data/"Result"/"big-output-Beta.jsonl"
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:-1]))  # big lacks Beta/5
    bench = load_benchmark(tiny_data, tiny_data/"pool.json")
    assert "Beta/5" not in bench.problems.index and bench.matrix().shape == (11, 3)
    assert bench.left_out == {"big": ["Beta/5"]}
    said = capsys.readouterr().err
    assert said.count("big has no outcome for 1 Beta problems") == 1 and "the 11 problems every pool model has" in said


def test_a_missing_benchmark_is_left_out_without_a_pool_file(tiny_data):
    (tiny_data/"Result"/"big-output-Beta.jsonl").unlink()
    from adaptivellm.core.pool import ModelSpec
    bench = load_benchmark(tiny_data, [ModelSpec("tiny", 0.1), ModelSpec("big", 2.0)], verbose=False)
    assert set(bench.problems.benchmark) == {"Alpha"} and "big has no outcome for 6 Beta problems" in bench.coverage


def test_no_common_problem_is_an_error(tiny_data):
    for tag in ("Alpha", "Beta"):  # big answered other problems than the rest
        p = tiny_data/"Result"/f"big-output-{tag}.jsonl"; p.write_text(p.read_text().replace(f'"{tag}/', f'"{tag}X/'))
    with pytest.raises(BenchmarkError, match="no problem has outcomes from every pool model"): load(tiny_data)


def test_reconstructed_is_used_only_where_result_is_absent(tiny_data):
    res = tiny_data/"Result"/"big-output-Beta.jsonl"
    rows = [json.loads(l) for l in res.read_text().splitlines()]
    agg = [{"id": r["id"], "prompt": r["prompt"], "n_samples": 5, "pass_rate": 0.4, "mean_output_tokens": 7.0} for r in rows]
    write_jsonl(tiny_data/"Reconstructed"/"big-output-Beta.aggregate.jsonl", agg)
    b = load(tiny_data)
    assert not b.outcomes.reconstructed.any()
    res.unlink()
    b = load(tiny_data)
    o = b.outcomes.xs("big", level="model")
    assert o.reconstructed.sum() == 6 and (o.loc["Beta/0", "mean_output_tokens"] == 7.0) and o.loc["Beta/0", "n_passed"] == 2
    assert o.first_passed.isna().sum() == 6


def test_bad_think_lengths(tiny_data):
    path = tiny_data/"Thinking_Length"/"R1-output-Beta.jsonl"
    edit_line(path, 4, lambda r: {**r, "think_lengths": [1, -3]})
    with pytest.raises(BenchmarkError) as e: load(tiny_data)
    assert (e.value.path, e.value.line, e.value.field) == (str(path), 4, "think_lengths")


def test_error_deep_in_a_large_file(tiny_data):
    "Bad input at scale: an error on line 20,000 of a large file is found and named"
    for m in ("tiny", "mid", "big"):
        rows = make_result_rows(20_000, prefix="Alpha")
        if m == "mid": rows[19_999]["pass_rate"] = 2.0
        write_jsonl(tiny_data/"Result"/f"{m}-output-Alpha.jsonl", rows)
    with pytest.raises(BenchmarkError) as e: load(tiny_data)
    assert e.value.line == 20_000 and e.value.field == "pass_rate"


def test_no_data_anywhere_says_how_to_get_it(tmp_path, monkeypatch):
    from adaptivellm.data import benchmark as data
    monkeypatch.setattr(data, "_candidates", lambda: [("cache", tmp_path/"nothing")])
    with pytest.raises(FileNotFoundError, match="adaptivellm fetch-data"): load_benchmark(verbose=False)
