# Shared by the harness scripts: the Odoo command and a config file for it.
# Sourced, never run. Expects PYTHON and the PG* variables from the Makefile.

PYTHON=${PYTHON:-python3}
PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
PGUSER=${PGUSER:-$(id -un)}
export PGHOST PGPORT PGUSER

"$PYTHON" tools/odoo_env.py check || exit 1
ADDONS_PATH=$("$PYTHON" tools/odoo_env.py addons-path) || exit 1

# write_odoo_config FILE DB DATA_DIR: an Odoo config for database DB.
write_odoo_config() {
    cat >"$1" <<CFG
[options]
addons_path = $ADDONS_PATH
data_dir = $3
db_host = $PGHOST
db_port = $PGPORT
db_user = $PGUSER
db_password = ${PGPASSWORD:-False}
db_name = $2
dbfilter = ^$2\$
http_interface = 127.0.0.1
list_db = False
CFG
}

odoo() {
    "$PYTHON" -m odoo "$@"
}

db_exists() {
    psql -d postgres -XtAc "SELECT 1 FROM pg_database WHERE datname = '$1'" 2>/dev/null | grep -q 1
}
