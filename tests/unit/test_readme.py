"""README stays true: generated blocks match the code, and every block marked runnable runs."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
RUNNABLE = re.compile(r"<!-- runnable -->\n```(python|bash)\n(.*?)```", re.DOTALL)


def test_generated_blocks_match_the_code():
    result = subprocess.run([sys.executable, "scripts/gen_readme.py", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_quickstart_is_the_two_commands():
    quickstart = README.split("## Quickstart", 1)[1].split("##", 1)[0]
    assert re.findall(r"^make \w+", quickstart, re.MULTILINE) == ["make demo", "make test"]


def test_every_context_field_is_documented():
    from plangate.graph.context import Context

    for row in Context.describe():
        assert f"`{row['name']}`" in README and f"`{row['env']}`" in README


BLOCKS = RUNNABLE.findall(README)


def test_there_are_runnable_blocks():
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize(("language", "body"), BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_runnable_block_runs(language, body, tmp_path):
    env = {**os.environ, "HOME": str(tmp_path), "PLANGATE_DB": str(tmp_path / "threads.sqlite"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", body] if language == "python" else ["bash", "-euo", "pipefail", "-c", body]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, f"{language} block failed:\n{body}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
