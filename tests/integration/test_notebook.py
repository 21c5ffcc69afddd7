"""The quickstart notebook runs offline top to bottom; any cell error fails the test."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "quickstart.ipynb"


def test_notebook_is_committed_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not cell.get("outputs") and not cell.get("execution_count") for cell in nb.cells if cell.cell_type == "code")


@pytest.mark.integration
def test_quickstart_notebook_executes_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))  # keep ~/.plangate of the notebook's tools in the temp dir
    nb = nbformat.read(NOTEBOOK, as_version=4)
    # A loaded CI machine can deliver a cell's output after its reply: wait for it rather than drop it.
    client = NotebookClient(nb, timeout=180, kernel_name="python3", iopub_timeout=60, raise_on_iopub_timeout=True,
                            resources={"metadata": {"path": str(NOTEBOOK.parent.parent)}})
    client.execute()  # raises CellExecutionError on the first failing cell
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "waiting: run_plan with 2 steps; allowed: ['approve', 'edit', 'reject']" in text and "flowchart TD" in text
    assert "stored under the same id: True" in text
    assert "No endpoint configured" in text
