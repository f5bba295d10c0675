"`adaptivellm reproduce --quick` on a folder holding only Result/, Thinking_Length/ and a pool file."
import json

from conftest import bare_data_folder, run_cli


def test_reproduce_on_a_bare_folder(tmp_path):
    root = bare_data_folder(tmp_path/"data")
    out = tmp_path/"out"
    res = run_cli("reproduce", "--data", root, "--pool", root/"pool.json", "--encoder", "minilm", "--quick", "--out", out,
                  env={"ADAPTIVELLM_CACHE": str(tmp_path/"cache")})
    assert "report:" in res.stdout
    r = json.loads((out/"results.json").read_text())
    assert r["paper_split"] is None and r["backbone"] == "minilm" and r["repeated"]["n_splits"] == 2
    methods = {row["method"] for row in r["repeated"]["rows"]}
    assert {"single:tiny", "single:mid", "single:big", "random", "oracle", "oracle:paper-score", "adaptivellm-no-finetune"} <= methods
    assert not methods & {"complexitynet", "published:adaptivellm", "adaptivellm"}   # no files for them: left out, not faked
    assert any(m.startswith("utility@") for m in methods) and any(m.startswith("knn@") for m in methods)
    for row in r["repeated"]["rows"]:
        for k in ("pass@1", "pass@5", "first_pass@1", "mean_output_tokens", "usd_per_1k"): assert set(row[k]) == {"mean", "ci95"}
    assert set(r["aiq"]) == {"zero-router", "oracle", "adaptivellm", "utility", "knn", "random"}
    assert r["aiq"]["zero-router"]["mean"] <= r["aiq"]["oracle"]["mean"]
    assert sorted(p.name for p in out.iterdir()) == ["by_benchmark.png", "by_level.png", "frontier.png", "results.json", "results.md"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []   # no temporary folder left
