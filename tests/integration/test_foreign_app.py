"""plangate inside someone else's app: the app's own `tools.py`, `graph.py`, `tools/`, `nodes/` and `graph/`
must not clash with it, whether plangate is installed as a wheel or in editable mode.

Each app runs in a subprocess from its own folder, so its modules come first on sys.path, as they do for the app.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]

APP = textwrap.dedent('''
    import json, sys
    import tools, graph, nodes          # the app's own modules, imported first
    assert tools.APP_OWNED and graph.APP_OWNED and nodes.APP_OWNED
    from langchain_core.tools import tool
    from langgraph.checkpoint.memory import InMemorySaver
    from plangate import build_graph, Context

    @tool
    def lookup_customer(name: str) -> dict:
        """Find a customer by name."""
        return {"message": f"{name} is a customer since 2020", "name": name}

    app = build_graph(checkpointer=InMemorySaver(), tools={"crm": [lookup_customer]})
    plan = {"goal": "customer and timer", "steps": [
        {"id": 1, "tool": "crm.lookup_customer", "args": {"name": "Ada"}},
        {"id": 2, "tool": "timer.set_timer", "args": {"duration_s": 300, "label": "call {{step_1.name}}"},
         "depends_on": [1]}]}
    out = app.invoke({"messages": [{"role": "user", "content": "look up Ada"}], "plan": plan},
                     {"configurable": {"thread_id": "t1"}}, context=Context(user_id="app-user"))
    text = app.invoke({"messages": [{"role": "user", "content": "set a timer for 5 minutes and then list my timers"}]},
                      {"configurable": {"thread_id": "t2"}})
    import plangate
    print(json.dumps({"statuses": [r["status"] for r in out["step_results"].values()],
                      "label": out["step_results"][2]["output"],
                      "route": text["route"], "plan_steps": len(text["plan"]["steps"]),
                      "plangate": plangate.__file__, "tools": tools.__file__}, default=str))
''')


def _write_app(root: Path, *, packages: bool) -> None:
    """An app with the module names LangGraph projects use most, as modules or as packages."""
    root.mkdir(parents=True)
    for name in ("tools", "graph", "nodes"):
        body = f"APP_OWNED = True\ndef my_{name}():\n    return '{name}'\n"
        if packages:
            (root / name).mkdir()
            (root / name / "__init__.py").write_text(body)
        else:
            (root / f"{name}.py").write_text(body)
    (root / "app.py").write_text(APP)


def _run_app(root: Path, env: dict[str, str] | None = None) -> dict:
    import json

    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PLANGATE_", "OPENAI_", "PYTHONPATH"))}
    environment.update({"PLANGATE_HOME": str(root / "home"), "PLANGATE_NOTIFY": "off", **(env or {})})
    done = subprocess.run([sys.executable, "app.py"], cwd=root, env=environment, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("packages", [False, True], ids=["tools.py-graph.py-nodes.py", "tools-graph-nodes-packages"])
def test_an_app_with_its_own_tools_graph_and_nodes_runs_a_plan(tmp_path, packages):
    app = tmp_path / "app"
    _write_app(app, packages=packages)
    result = _run_app(app)
    assert result["statuses"] == ["completed", "completed"]
    assert "call Ada" in str(result["label"])
    assert result["route"] == "plan" and result["plan_steps"] >= 2
    assert Path(result["tools"]).resolve().parent.is_relative_to(app.resolve())  # the app's own module stayed its own


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
                            str(REPO)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-3000:]
    (found,) = out.glob("plangate-*.whl")
    return found


def test_the_wheel_installs_only_plangate(wheel):
    with zipfile.ZipFile(wheel) as archive:
        top = {name.split("/")[0] for name in archive.namelist()}
    assert top == {"plangate", wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info"}
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert {"plangate/__init__.py", "plangate/graph/graph.py", "plangate/nodes/router.py", "plangate/tools/registry.py",
            "plangate/graph/engine/plan.py", "plangate/graph/server/served.py"} <= names


def test_an_app_runs_on_the_installed_wheel(tmp_path, wheel):
    """`pip install` of the wheel (into a target folder, dependencies from this venv) next to an app's tools.py."""
    target = tmp_path / "site"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                               capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr[-3000:]
    assert sorted(p.name for p in target.iterdir() if p.name != "bin") == sorted(
        ["plangate", next(p.name for p in target.iterdir() if p.name.endswith(".dist-info"))])
    app = tmp_path / "app"
    _write_app(app, packages=False)
    result = _run_app(app, env={"PYTHONPATH": str(target)})
    assert Path(result["plangate"]).resolve().is_relative_to(target.resolve())  # the wheel, not the checkout
    assert result["statuses"] == ["completed", "completed"]


def test_importing_plangate_and_cli_help_compile_nothing():
    probe = textwrap.dedent('''
        import sys
        import plangate, plangate.graph, plangate.graph.cli.main, plangate.nodes, plangate.tools
        assert "plangate.graph.graph" not in sys.modules, "importing plangate loaded the wiring"
        import plangate.graph.graph as wiring
        assert wiring._prebuilt is None, "importing plangate.graph.graph compiled the graph"
        assert wiring.graph is wiring.graph is wiring.prebuilt()   # built once, on first use
        print("ok")
    ''')
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]
    traced = subprocess.run([sys.executable, "-X", "importtime", "-m", "plangate", "--help"], capture_output=True, text=True,
                            timeout=60)
    assert traced.returncode == 0 and "usage: plangate" in traced.stdout
    loaded = {line.split("|")[-1].strip() for line in traced.stderr.splitlines() if line.startswith("import time:")}
    assert "plangate.graph.cli.main" in loaded
    assert not {"plangate.graph.graph", "langgraph.graph.state", "langchain_openai"} & loaded
