"""Renders executed notebooks to self-contained HTML with their plotly figures drawn.

nbconvert has no renderer for application/vnd.plotly.v1+json, so each such output is turned
into plotly.js HTML (plotly.js inlined once per page) before conversion.

Usage: python render.py EXECUTED_DIR OUT_DIR
"""
import sys
from pathlib import Path

import nbformat
import plotly.io as pio
from nbconvert import HTMLExporter

PLOTLY = "application/vnd.plotly.v1+json"


def render(path: Path, out: Path) -> Path:
    nb = nbformat.read(path, as_version=4)
    first = True
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            if PLOTLY in data:
                fig = pio.from_json(__import__("json").dumps(data.pop(PLOTLY)), skip_invalid=True)
                html = pio.to_html(fig, full_html=False, include_plotlyjs=first)
                first = False
                data["text/html"] = html + data.get("text/html", "")
    body, _ = HTMLExporter().from_notebook_node(nb)
    target = out / (path.stem + ".html")
    target.write_text(body)
    return target


if __name__ == "__main__":
    src, dst = Path(sys.argv[1]), Path(sys.argv[2])
    dst.mkdir(parents=True, exist_ok=True)
    for p in sorted(src.glob("[0-9][0-9]_*.ipynb")):
        print(render(p, dst))
