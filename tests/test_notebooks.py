"""The notebooks run top to bottom (nbclient, the venv's python3 kernel, cwd = notebooks/), are
stored without outputs, and only import from ``sim`` (and pandas, for a notebook's own data such
as a night's actuals: what ``sim.replan`` takes)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ("01-quickstart", "02-what-if-orderings", "03-calibrate-and-plan", "04-migration-night")
IMPORTS = ("sim", "pandas")
"""What a notebook may import (and their submodules): the library, and pandas for its own data."""
CELL_TIMEOUT = 120


def load(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


def test_every_notebook_is_here() -> None:
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == list(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_stored_without_outputs_and_imports_only_sim(name: str) -> None:
    nb = load(name)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            assert all(m.split(".")[0] in IMPORTS for m in modules), modules


def _redirect_outputs(nb: nbformat.NotebookNode, out: Path) -> None:
    """Point the parameters cell's ``OUT`` at a temporary folder (never the repository)."""
    for cell in nb.cells:
        if "parameters" in cell.get("metadata", {}).get("tags", ()):
            cell.source = re.sub(r"(?m)^OUT = .*$", f"OUT = {str(out)!r}", cell.source)


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_top_to_bottom(name: str, tmp_path: Path) -> None:
    nb = load(name)
    _redirect_outputs(nb, tmp_path / "results")
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()  # raises CellExecutionError naming the cell on any error
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert not errors
    images = [o for c in nb.cells for o in c.get("outputs", ()) if "image/png" in o.get("data", {})]
    assert images, "every notebook shows at least one figure"
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    if name == "04-migration-night":
        # Three check-ins, each re-forecast from the rows logged by then, and the band that the
        # notebook's closing prose reads as narrowing by the last one.
        assert re.findall(r"(?m)^Re-forecast at +(.+) from \d+ actual events", text) == [
            "Sat 2026-12-05 23:00 UTC",
            "Sun 2026-12-06 00:30 UTC",
            "Sun 2026-12-06 01:30 UTC",
        ], text[-2000:]
        assert re.search(r"(?m)^P90 - P50 at the last check-in: .* min, narrower than", text), text
    if name == "03-calibrate-and-plan":
        report = tmp_path / "results" / "report.html"
        assert report.is_file()
        assert (tmp_path / "results" / "compare" / "compare.csv").is_file()
        assert 'id="fig-compare-ecdf"' in report.read_text(encoding="utf-8")
        # The optimizer is judged on replications the search never saw, and says so.
        verdict = re.search(
            r"(?m)^((Better|Tie|Worse)\. On \d+ held-out replications|Nothing better than \w+ was"
            r" found)",
            text,
        )
        assert verdict, text[-2000:]
