"Where torch runs, on a machine without a GPU (CI has none): a GPU asked for is a clear error, `auto` takes the CPU, a router whose files record a GPU loads and routes here."
import json

import pytest
import torch
from conftest import run_cli

from adaptivellm.data.benchmark import load_benchmark
from adaptivellm.live.router import AdaptiveLLM

no_gpu = pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without a CUDA GPU")


@no_gpu
@pytest.mark.parametrize("command", ["train", "reproduce"])
def test_asking_for_a_missing_gpu_is_a_clear_error(command, tiny_data, tmp_path):
    out = tmp_path/"out"
    res = run_cli(command, "--data", tiny_data, "--pool", tiny_data/"pool.json", "--encoder", "minilm", "--device", "cuda", "--out", out,
                  *(["--split", "all"] if command == "train" else ["--quick"]), env={"ADAPTIVELLM_CACHE": str(tmp_path/"cache")}, check=False)
    assert res.returncode == 1, res.stderr
    assert f"adaptivellm {command}: ValueError: device='cuda': torch {torch.__version__} sees no CUDA GPU" in res.stderr
    assert "Traceback" not in res.stderr and not out.exists()


@no_gpu
def test_auto_takes_the_cpu_and_says_so_once(tiny_data, tmp_path):
    out = tmp_path/"router"
    res = run_cli("train", "--data", tiny_data, "--pool", tiny_data/"pool.json", "--encoder", "minilm", "--split", "all", "--selector", "paper",
                  "--max-steps", "1", "--out", out, env={"ADAPTIVELLM_CACHE": str(tmp_path/"cache")})
    said = [l for l in res.stderr.splitlines() if l.startswith("adaptivellm: device=")]
    assert said == [f"adaptivellm: device='auto' -> cpu (torch {torch.__version__} sees no CUDA GPU)"], res.stderr
    assert json.loads((out/"router.json").read_text())["info"]["device"] == "cpu"


@no_gpu
def test_a_router_recording_a_gpu_loads_on_the_cpu_and_routes_the_same(data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("ADAPTIVELLM_CACHE", str(tmp_path/"cache"))
    bench = load_benchmark(data_dir, verbose=False)
    prompts = list(bench.problems.prompt.loc[bench.paper_split["test"][:30]])
    router = AdaptiveLLM.fit(bench, bench.paper_split["train"][:80], encoder="minilm", finetune=False, selector="paper", device="cpu")
    expected = [(s.model, s.scores) for s in router.select(prompts)]
    # What a GPU run writes differently is the device it records (weights reach safetensors and XGBoost's JSON from the
    # CPU either way). Torch here cannot hold CUDA tensors, so the recorded device is set as a GPU run sets it; what can
    # fail is the loading: it must not follow the recorded device, and must route as before.
    router.encoder.device = router.info["device"] = "cuda:0"
    router.save(tmp_path/"gpu-router")
    enc_meta = json.loads((tmp_path/"gpu-router"/"encoder"/"adaptivellm_encoder.json").read_text())
    assert enc_meta["device"] == "cuda" and json.loads((tmp_path/"gpu-router"/"router.json").read_text())["info"]["device"] == "cuda:0"

    back = AdaptiveLLM.load(tmp_path/"gpu-router")
    assert back.encoder.device == "cpu" and back.encoder.model.device.type == "cpu"
    assert back.info["device"] == "cuda:0"   # where it was trained stays on record
    assert [(s.model, s.scores) for s in back.select(prompts)] == expected
    with pytest.raises(ValueError, match="sees no CUDA GPU"): AdaptiveLLM.load(tmp_path/"gpu-router", device="cuda")
