#!/usr/bin/env bash
# Start the whole assistant on embedded defaults and stop every part on Ctrl-C.
# Usage: scripts/run.sh [RASA_PORT] [ACTION_PORT] [CALLBACK_PORT]
set -euo pipefail
cd "$(dirname "$0")/.."
rasa_port=${1:-5005}
action_port=${2:-5055}
callback_port=${3:-5056}
bin=.venv/bin

if ! ls models/*.tar.gz >/dev/null 2>&1; then
  echo "No trained model in models/: run 'make setup' (or 'make train') first." >&2
  exit 1
fi

pids=()
stop() {
  trap - INT TERM EXIT
  echo "Stopping..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

# endpoints.yml names the default action server port; point the Rasa server at the one in use.
mkdir -p var
endpoints=var/endpoints.run.yml
sed "s#127.0.0.1:5055/webhook#127.0.0.1:$action_port/webhook#" endpoints.yml > "$endpoints"

# Both servers log through config/logging.yml, which masks phone and ID-card numbers in every line.
logging_config=config/logging.yml

"$bin/rasa" run actions --port "$action_port" --actions actions --logging-config-file "$logging_config" &
pids+=($!)
# No --enable-api: the HTTP API would let anyone rewrite conversations.
"$bin/rasa" run --port "$rasa_port" --credentials credentials.yml --endpoints "$endpoints" \
  --logging-config-file "$logging_config" &
pids+=($!)
# Complaint delivery (docs/intake.md): the outbox dispatcher and the agencies' status callback endpoint.
"$bin/python" -m bot dispatch --poll-interval 1 &
pids+=($!)
"$bin/python" -m bot callbacks serve --port "$callback_port" &
pids+=($!)

echo "Rasa server: http://127.0.0.1:$rasa_port  (REST: POST /webhooks/rest/webhook)"
echo "Action server: http://127.0.0.1:$action_port"
echo "Agency status callbacks: http://127.0.0.1:$callback_port/agency/callback"
# Exit (and stop the rest) as soon as any part dies.
wait -n
