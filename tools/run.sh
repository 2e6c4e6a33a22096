#!/usr/bin/env bash
# make run: the demo database with the module, served until interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/common.sh

db=${DEMO_DB:-sale_reconciliation_demo}
port=${HTTP_PORT:-8069}
conf_dir=${XDG_CONFIG_HOME:-$HOME/.config}/sale_reconciliation
mkdir -p "$conf_dir"
write_odoo_config "$conf_dir/odoo.cfg" "$db" "${XDG_DATA_HOME:-$HOME/.local/share}/Odoo"

if db_exists "$db"; then
    echo "==> $db exists: upgrading sale_reconciliation"
    action=(-u sale_reconciliation)
else
    echo "==> creating $db with demo data and sale_reconciliation"
    action=(-i sale_reconciliation)
fi
echo "==> serving http://localhost:$port (login admin / admin); Ctrl-C to stop"
exec "$PYTHON" -m odoo -c "$conf_dir/odoo.cfg" -d "$db" "${action[@]}" \
    --http-port="$port" --log-level=info
