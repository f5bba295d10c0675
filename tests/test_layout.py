"The layout is a rule: every import points down the layers (`15_layout`), and the live path loads no plotting library and nothing of the study."
import importlib.util, shutil
from pathlib import Path

import pytest

from adaptivellm.layout import LIVE_MODULES, PLOTTING, layer_violations, loaded_by, package_imports


def test_every_import_points_down_the_layers():
    graph = package_imports()
    assert len(graph) > 30 and any(m.startswith("adaptivellm.study.") for m in graph)
    assert layer_violations(graph) == []


def test_an_import_that_points_up_is_caught(tmp_path):
    pkg = shutil.copytree(Path(importlib.util.find_spec("adaptivellm").submodule_search_locations[0]), tmp_path/"adaptivellm")
    f = pkg/"core"/"files.py"
    f.write_text(f.read_text() + "\n\ndef _late():\n    from ..study.report import md_table  # a lazy import counts too\n")
    assert [(a, b) for a, b, _ in layer_violations(package_imports(pkg))] == [("adaptivellm.core.files", "adaptivellm.study.report")]


@pytest.mark.parametrize("module", LIVE_MODULES)
def test_the_live_path_loads_no_plotting_and_no_study(module):
    loaded = loaded_by(module)
    assert module in loaded and "adaptivellm.cascade.replay" in loaded
    assert sorted(m for m in loaded if m.split(".")[0] in PLOTTING or m.startswith("adaptivellm.study")) == []


@pytest.mark.parametrize("module", ["adaptivellm.live.router", "adaptivellm.study.reproduce"])
def test_routing_and_the_report_load_no_openai_client(module):
    "What calls no model (`route`, `train`, `reproduce`) does not import `openai` (about a second per process): `core.client` imports it on first use"
    loaded = loaded_by(module)
    assert module in loaded and "adaptivellm.core.client" in loaded
    assert sorted(m for m in loaded if m.split(".")[0] == "openai") == []
