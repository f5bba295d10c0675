"PromptEncoder and TripletFinetuner behaviour that needs a controlled environment: env vars, failures mid-save, the default cache."
import json, os, subprocess, sys, time, warnings
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no hub here: fail at once
from adaptivellm.embed.encoder import (BackboneError, META_FILE, PromptEncoder, tiny_roberta)
from adaptivellm.embed.triplet import TripletFinetuner

PROMPTS = [f"def f{i}(xs):\n    '''Return the {i}-th smallest element of xs.'''\n" + "    # hint\n" * (i % 5) for i in range(12)]


@pytest.fixture(autouse=True)
def own_cache(tmp_path_factory, monkeypatch):
    "Each test's encoders cache under a folder of its own, never the user's ~/.cache/adaptivellm"
    monkeypatch.setenv("ADAPTIVELLM_CACHE", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return tiny_roberta(tmp_path_factory.mktemp("models")/"codebert-base")


def count_forwards(enc):
    calls = []
    enc.model.register_forward_hook(lambda m, i, o: calls.append(1))
    return calls


def test_default_cache_dir_follows_env(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("ADAPTIVELLM_CACHE", str(tmp_path/"cache"))
    a = PromptEncoder(str(tiny))
    assert a.cache_folder.parent == tmp_path/"cache"/"embeddings"
    X = a.encode(PROMPTS)
    b = PromptEncoder(str(tiny))  # a fresh encoder (a new process would do the same) reads the cache
    calls = count_forwards(b)
    np.testing.assert_array_equal(b.encode(PROMPTS[::-1]), X[::-1])
    assert calls == []
    index = json.loads((a.cache_folder/"index.json").read_text())
    assert index["fingerprint"] == a.fingerprint and len(index["rows"]) == len(PROMPTS)


def test_cache_merges_writes_of_two_encoders(tiny, tmp_path):
    a, b = PromptEncoder(str(tiny), cache_dir=tmp_path), PromptEncoder(str(tiny), cache_dir=tmp_path)
    a.encode(PROMPTS[:6]); b.encode(PROMPTS[6:])
    c = PromptEncoder(str(tiny), cache_dir=tmp_path)
    calls = count_forwards(c)
    c.encode(PROMPTS)
    assert calls == []


_WRITER = """import sys, time
from pathlib import Path
from adaptivellm.embed.encoder import PromptEncoder
model, cache, flags, name, n = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4], int(sys.argv[5])
enc = PromptEncoder(model, cache_dir=cache, runtime="static"); enc.static_table  # static: encoding is quicker than an index update
(flags/f"ready-{name}").touch()
while not (flags/"go").exists(): time.sleep(0.005)
for i in range(n): enc.encode([f"def {name}_{i}(): pass"])  # one index update per prompt
"""


def test_two_processes_writing_the_cache_at_once_lose_no_entry(tiny, tmp_path):
    "two processes adding to one cache folder at the same moment: the index keeps every prompt of both (without the lock it lost ~25%)"
    cache, flags, n = tmp_path/"cache", tmp_path/"flags", 200
    flags.mkdir()
    env = {**os.environ, "ADAPTIVELLM_CACHE": str(tmp_path/"root")}  # the static table's cache
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(tiny), str(cache), str(flags), w, str(n)], env=env) for w in ("a", "b")]
    t0 = time.monotonic()
    while not all((flags/f"ready-{w}").exists() for w in "ab"):
        assert time.monotonic() - t0 < 300 and all(p.poll() is None for p in procs), "a writer did not start"
        time.sleep(0.05)
    (flags/"go").touch()
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    folder, = cache.iterdir()
    rows = json.loads((folder/"index.json").read_text())["rows"]
    assert len(rows) == 2 * n, f"the index lost {2 * n - len(rows)} of {2 * n} entries"
    assert PromptEncoder(str(tiny), cache_dir=cache, runtime="static").cache_folder == folder


def test_explicit_codebert_never_falls_back(monkeypatch):
    monkeypatch.delenv("ADAPTIVELLM_CODEBERT", raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning either: it raises
        with pytest.raises(BackboneError, match="backbone 'codebert' could not be loaded from 'microsoft/codebert-base'"):
            PromptEncoder("codebert")


def test_auto_warns_naming_what_it_tried(tmp_path, monkeypatch):
    monkeypatch.setenv("ADAPTIVELLM_CODEBERT", str(tmp_path/"missing"))
    with pytest.warns(UserWarning, match="backbone='auto'.*missing.*using 'minilm'"):
        enc = PromptEncoder("auto", cache=False)
    assert enc.backbone_name == "minilm"


def test_codebert_env_var_loads_a_local_copy(tiny, monkeypatch):
    monkeypatch.setenv("ADAPTIVELLM_CODEBERT", str(tiny))
    enc = PromptEncoder("codebert", cache=False)
    assert enc.backbone_name == "codebert" and enc.dim == 32
    np.testing.assert_array_equal(enc.encode(PROMPTS), PromptEncoder(str(tiny), cache=False).encode(PROMPTS))


def test_failed_save_keeps_the_previous_one(tiny, tmp_path, monkeypatch):
    enc = PromptEncoder(str(tiny), cache=False)
    target = enc.save(tmp_path/"enc")
    X = PromptEncoder(target).encode(PROMPTS)
    tuned = TripletFinetuner(enc, batch_size=4, max_steps=1).fit(PROMPTS, [i % 3 for i in range(12)])
    monkeypatch.setattr(tuned.tokenizer, "save_pretrained", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"): tuned.save(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["enc"]  # no temp folder left
    np.testing.assert_array_equal(PromptEncoder(target).encode(PROMPTS), X)  # the old encoder is intact


def test_saved_folder_missing_files_is_refused(tiny, tmp_path):
    target = PromptEncoder(str(tiny), cache=False).save(tmp_path/"enc")
    (target/"tokenizer.json").unlink()
    with pytest.raises(FileNotFoundError, match="not a complete saved PromptEncoder: missing tokenizer.json"):
        PromptEncoder(target)


def test_bad_metadata_names_file_and_field(tiny, tmp_path):
    target = PromptEncoder(str(tiny), cache=False).save(tmp_path/"enc")
    meta = json.loads((target/META_FILE).read_text()); del meta["pooling"]
    (target/META_FILE).write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=f"{META_FILE}: field 'pooling' is missing"):
        PromptEncoder(target)


def test_fine_tuning_is_deterministic_and_changes_the_fingerprint(tiny):
    enc = PromptEncoder(str(tiny), cache=False)
    levels = [i % 3 for i in range(12)]
    a = TripletFinetuner(enc, batch_size=4, max_steps=2).fit(PROMPTS, levels)
    b = TripletFinetuner(enc, batch_size=4, max_steps=2).fit(PROMPTS, levels)
    assert a.fingerprint == b.fingerprint != enc.fingerprint
    np.testing.assert_array_equal(a.encode(PROMPTS), b.encode(PROMPTS))
    assert not np.allclose(a.encode(PROMPTS), enc.encode(PROMPTS))
