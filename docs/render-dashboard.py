#!/usr/bin/env python3
"""Renders the widgets of template.yaml's dashboard (ImportsDashboard) as an
SVG grid, docs/dashboard.svg, as CloudWatch lays them out: 24 columns, rows
of the widgets' own height. Each widget shows its title and what it plots.

    python3 docs/render-dashboard.py            # writes docs/dashboard.svg
    python3 docs/render-dashboard.py --check    # fails if it is out of date

Needs only Python 3 (no YAML library: the dashboard body is read as text)."""

import json
import pathlib
import re
import sys
from html import escape

ROOT = pathlib.Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
OUT = ROOT / "docs" / "dashboard.svg"
COL, ROW = 46, 30  # pixels per grid column and row


def dashboard_body():
    text = TEMPLATE.read_text()
    start = text.index("  ImportsDashboard:\n")
    body_at = text.index("DashboardBody: !Sub |\n", start) + len("DashboardBody: !Sub |\n")
    lines = []
    for line in text[body_at:].split("\n"):
        if not line.startswith("        "):
            break
        lines.append(line[8:])
    body = "\n".join(lines)
    # The stack's values, as the deployed dashboard shows them.
    values = {"MetricsNamespace": "CognitoImportStarter", "OldestDropAgeAlarmSeconds": "21600"}
    body = re.sub(r"\$\{([A-Za-z:.]+)\}", lambda m: values.get(m.group(1), m.group(1)), body)
    return json.loads(body)


def plotted(widget):
    out = []
    for metric in widget["properties"].get("metrics", []):
        options = metric[-1] if metric and isinstance(metric[-1], dict) else {}
        if "expression" in options:
            out.append(options.get("label", "") + ": " + options["expression"])
            continue
        names = [m for m in metric if isinstance(m, str) and m not in (".", "...")]
        label = options.get("label") or " ".join(names[1:2])
        stat = options.get("stat") or widget["properties"].get("stat", "")
        out.append(f"{label} ({stat})" if stat else label)
    return out


def render(body):
    widgets = body["widgets"]
    height = max(w["y"] + w["height"] for w in widgets) * ROW
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{24 * COL}" height="{height}" '
        f'font-family="Helvetica, Arial, sans-serif">',
        f'<rect width="100%" height="100%" fill="#f2f3f3"/>',
    ]
    for w in widgets:
        x, y = w["x"] * COL + 4, w["y"] * ROW + 4
        width, h = w["width"] * COL - 8, w["height"] * ROW - 8
        parts.append(f'<rect x="{x}" y="{y}" width="{width}" height="{h}" fill="#fff" stroke="#d5dbdb"/>')
        parts.append(
            f'<text x="{x + 10}" y="{y + 22}" font-size="14" font-weight="bold" fill="#16191f">'
            f'{escape(w["properties"]["title"])}</text>'
        )
        for i, line in enumerate(plotted(w)):
            parts.append(
                f'<text x="{x + 14}" y="{y + 48 + 18 * i}" font-size="11" fill="#545b64">'
                f'{escape(line[:95])}</text>'
            )
        # A faint axis, to read as a graph.
        parts.append(
            f'<line x1="{x + 10}" y1="{y + h - 14}" x2="{x + width - 10}" y2="{y + h - 14}" stroke="#eaeded"/>'
        )
    parts.append("</svg>\n")
    return "\n".join(parts)


def main():
    svg = render(dashboard_body())
    if "--check" in sys.argv:
        if not OUT.exists() or OUT.read_text() != svg:
            sys.exit(f"{OUT} is out of date: run python3 docs/render-dashboard.py")
        print(f"ok: {OUT.relative_to(ROOT)} matches template.yaml's dashboard")
        return
    OUT.write_text(svg)
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
