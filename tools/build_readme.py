#!/usr/bin/env python3
"""Build sale_reconciliation/README.md from the OCA-style readme/ fragments."""

import os

MODULE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "sale_reconciliation")
SECTIONS = [
    ("DESCRIPTION", None),
    ("CONFIGURE", "Configuration"),
    ("USAGE", "Usage"),
    ("ROADMAP", "Known issues / Roadmap"),
    ("HISTORY", "Changelog"),
]


def build():
    out = [
        "# Sales Reconciliation",
        "",
        "<!-- Built from readme/*.md by `make readme`: edit those instead. -->",
        "",
    ]
    for name, title in SECTIONS:
        path = os.path.join(MODULE, "readme", f"{name}.md")
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as fragment:
            text = fragment.read().strip()
        if title:
            out += [f"## {title}", ""]
            text = text.replace("\n## ", "\n### ")
            if text.startswith("## "):
                text = "#" + text
        out += [text, ""]
    with open(os.path.join(MODULE, "README.md"), "w", encoding="utf-8") as readme:
        readme.write("\n".join(out))


if __name__ == "__main__":
    build()
