"""Execute a notebook top to bottom, headless, as Jupyter would, and summarise it as JSON.

    run_notebook.py NOTEBOOK OUT [CHECK]

The kernel is the virtualenv's own (ipykernel's `python3`), started in the notebook's directory
with the caller's environment (TRENDLAKE_LAKE, TRENDLAKE_WAREHOUSE). CHECK, a Python file, is run
as one more cell after the notebook's own, in the same kernel, so a test can look at the
notebook's variables; whatever it prints after `TRENDLAKE-CHECK ` is parsed as JSON. The executed
notebook is written to OUT. Stdout is one JSON object: the number of code cells, the PNG figures
the notebook's cells displayed, their stderr output, and the check's JSON. Exit 1, with the
failing cell's traceback on stderr, if a cell raises.
"""

import json
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

MARK = "TRENDLAKE-CHECK "


def main() -> int:
    source, out = Path(sys.argv[1]), Path(sys.argv[2])
    notebook = nbformat.read(source, as_version=4)
    own_cells = len(notebook.cells)
    if len(sys.argv) > 3:
        check = Path(sys.argv[3]).read_text()
        notebook.cells.append(nbformat.v4.new_code_cell(check, id="trendlake-check"))
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=300,
        resources={"metadata": {"path": str(source.parent.resolve())}},
    )
    try:
        client.execute()
    except CellExecutionError as error:
        nbformat.write(notebook, out)
        print(f"{source}: a cell failed:\n{error}", file=sys.stderr)
        return 1
    nbformat.write(notebook, out)

    summary = {"code_cells": 0, "png": 0, "stderr": [], "check": None}
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        outputs = cell.get("outputs", [])
        if index >= own_cells:
            for output in outputs:
                for line in output.get("text", "").splitlines():
                    if line.startswith(MARK):
                        summary["check"] = json.loads(line[len(MARK):])
            continue
        summary["code_cells"] += 1
        for output in outputs:
            if "image/png" in output.get("data", {}):
                summary["png"] += 1
            if output.get("name") == "stderr":
                summary["stderr"].append(output["text"])
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
