"""Start Odoo the way its own launcher (odoo-bin) does.

`python3 -m odoo` runs Odoo from odoo/__main__.py, which a server with
workers cannot run again by its path: the long-polling (gevent) process is
started as `python <sys.argv[0]> gevent ...`, fails at once on the package's
relative import, and is started again and again, taking most of a core. The
benchmarks start their multi-worker servers through this file instead.
"""

import odoo

if __name__ == "__main__":
    odoo.cli.main()
