"`adaptivellm fetch-data` from a zip served on 127.0.0.1, from a local folder, and failing without harm."
import functools, http.server, shutil, threading, zipfile

import pytest
from conftest import run_cli

from adaptivellm.data.benchmark import load_benchmark


@pytest.fixture
def server(tmp_path):
    "An HTTP server on 127.0.0.1 serving tmp_path/'www'"
    www = tmp_path/"www"; www.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield www, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown(); httpd.server_close()


def zip_folder(folder, zpath, top="AdaptiveLLM-main"):
    "Zip `folder` under a top directory, as GitHub's archives are laid out"
    with zipfile.ZipFile(zpath, "w") as z:
        for p in sorted(folder.rglob("*")):
            if p.is_file(): z.write(p, f"{top}/{p.relative_to(folder)}")


def test_fetch_zip_over_http(tiny_data, server, tmp_path):
    www, url = server
    zip_folder(tiny_data, www/"pkg.zip")
    dest = tmp_path/"cache"/"replication"
    out = run_cli("fetch-data", "--source", f"{url}/pkg.zip", "--dest", dest, "--pool", tiny_data/"pool.json").stdout
    assert "fetched 12 problems x 3 models" in out
    b = load_benchmark(dest, dest/"pool.json", verbose=False)
    assert len(b.outcomes) == 36 and b.data_dir == dest.resolve()
    assert [p.name for p in dest.parent.iterdir()] == ["replication"]  # no scratch folder left behind


def test_fetch_failure_keeps_previous_data(tiny_data, server, tmp_path):
    www, url = server
    dest = tmp_path/"cache"/"replication"
    run_cli("fetch-data", "--source", tiny_data, "--dest", dest, "--pool", tiny_data/"pool.json")
    before = sorted(p.relative_to(dest) for p in dest.rglob("*"))
    broken = tmp_path/"broken"; shutil.copytree(tiny_data, broken)
    (broken/"Result"/"big-output-Beta.jsonl").write_text('{"id": oops\n')
    zip_folder(broken, www/"broken.zip")
    res = run_cli("fetch-data", "--source", f"{url}/broken.zip", "--dest", dest, "--pool", tiny_data/"pool.json", check=False)
    assert res.returncode != 0 and "big-output-Beta.jsonl, line 1" in res.stderr
    assert sorted(p.relative_to(dest) for p in dest.rglob("*")) == before
    assert [p.name for p in dest.parent.iterdir()] == ["replication"]
    res = run_cli("fetch-data", "--source", f"{url}/missing.zip", "--dest", dest, check=False)
    assert res.returncode != 0 and "404" in res.stderr
