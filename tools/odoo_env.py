#!/usr/bin/env python3
"""Locate the Odoo 18.0 this project runs on.

``check``        exit 1 with one line when ``import odoo`` fails or is not 18.0
``addons-path``  print the addons path: this repository (sale_reconciliation and
                 the sale_reconciliation_queue glue), then Odoo's own addons,
                 the add-ons pip installed inside the odoo package (OCA's
                 queue_job from odoo-addon-queue-job), and
                 ``$ODOO_EXTRA_ADDONS``, e.g. Enterprise, when set

Never prints a traceback: the harness shows the single line and stops.
"""

import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WANTED = (18, 0)


def _import_odoo():
    try:
        import odoo
        import odoo.release
    except Exception as exc:  # noqa: BLE001 - any failure means "not usable"
        return None, f"{type(exc).__name__}: {exc}"
    return odoo, None


def check():
    odoo, error = _import_odoo()
    if odoo is None:
        print(
            f"ERROR: Odoo 18.0 is missing: `{sys.executable} -c 'import odoo'` "
            f"fails ({error}). Install Odoo 18.0 for this Python, then retry.",
            file=sys.stderr,
        )
        return 1
    version = odoo.release.version_info[:2]
    if tuple(version) != WANTED:
        print(
            f"ERROR: Odoo 18.0 is required, but `import odoo` finds "
            f"{odoo.release.version} at {os.path.dirname(odoo.__file__)}.",
            file=sys.stderr,
        )
        return 1
    return 0


def addons_path():
    odoo, _error = _import_odoo()
    if odoo is None:
        return 1
    package_dir = os.path.dirname(os.path.abspath(odoo.__file__))
    candidates = [REPO]
    candidates += [
        p for p in os.environ.get("ODOO_EXTRA_ADDONS", "").split(",") if p.strip()
    ]
    # A source checkout keeps the addons beside the package; a packaged
    # install keeps them inside it.
    candidates += [
        os.path.join(package_dir, "addons"),
        os.path.normpath(os.path.join(package_dir, os.pardir, "addons")),
    ]
    # pip installs OCA add-ons (odoo-addon-*) into site-packages/odoo/addons,
    # another directory of the odoo namespace than Odoo's own source tree.
    candidates += [
        os.path.join(os.path.abspath(path), "addons") for path in odoo.__path__
    ]
    paths = []
    for path in candidates:
        if os.path.isdir(path) and path not in paths:
            paths.append(path)
    print(",".join(paths))
    return 0


if __name__ == "__main__":
    commands = {"check": check, "addons-path": addons_path}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        print(f"usage: {sys.argv[0]} {{{'|'.join(commands)}}}", file=sys.stderr)
        sys.exit(2)
    sys.exit(commands[sys.argv[1]]())
