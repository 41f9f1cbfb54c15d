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
# RASA_WORKERS=2 (with REDIS_URL=redis://host:port/db) runs two Rasa server processes: they share the
# conversations, their locks and the WeChat state in Redis; the SQLite event broker is left out
# (it takes one writer).
workers=${RASA_WORKERS:-1}
if [ "$workers" -gt 1 ]; then
  if [ -z "${REDIS_URL:-}" ]; then
    echo "RASA_WORKERS=$workers needs REDIS_URL (e.g. redis://127.0.0.1:6379/0)." >&2
    exit 1
  fi
  "$bin/python" -m bot.workers "$REDIS_URL" "$action_port" > "$endpoints"
fi
export SANIC_WORKERS=$workers

# WeChat (docs/wechat.md). IPR_FAKE_WECHAT=1 points both channels at the local fake WeChat API
# (bot/wechat/fake_api.py), with demo credentials unless real ones are set, to try them end to end.
if [ "${IPR_FAKE_WECHAT:-}" = 1 ]; then
  fake_port=${FAKE_WECHAT_PORT:-5057}
  export WECHAT_API_BASE="http://127.0.0.1:$fake_port"
  export WECHAT_TOKEN="${WECHAT_TOKEN:-demo-wechat-token}" WECHAT_APPID="${WECHAT_APPID:-wxdemo0000000000}"
  export WECHAT_APPSECRET="${WECHAT_APPSECRET:-demo-wechat-app-secret}"
  export WECHAT_MP_TOKEN="${WECHAT_MP_TOKEN:-$WECHAT_TOKEN}" WECHAT_MP_APPID="${WECHAT_MP_APPID:-$WECHAT_APPID}"
  export WECHAT_MP_APPSECRET="${WECHAT_MP_APPSECRET:-$WECHAT_APPSECRET}"
  "$bin/python" -m bot.wechat.fake_api --port "$fake_port" --appid "$WECHAT_APPID" --secret "$WECHAT_APPSECRET" &
  pids+=($!)
fi
# credentials.yml names the WeChat secrets as ${VAR}, and Rasa will not start if one is unset.
# Unset means "not configured": export it empty and that channel answers 503.
for var in WECHAT_TOKEN WECHAT_APPID WECHAT_APPSECRET WECHAT_AES_KEY \
           WECHAT_MP_TOKEN WECHAT_MP_APPID WECHAT_MP_APPSECRET WECHAT_MP_AES_KEY; do
  export "$var=${!var-}"
done

# Both servers log through config/logging.yml, which masks phone and ID-card numbers in every line.
logging_config=config/logging.yml

# The WeChat gateway (bot/channels/gateway.py, docs/wechat.md) listens on the public port, checks
# each WeChat push and acknowledges it before the dialogue runs, and relays everything to the Rasa
# server on a loopback port. WECHAT_GATEWAY=0 serves Rasa on the public port directly.
rasa_interface=0.0.0.0
rasa_listen=$rasa_port
if [ "${WECHAT_GATEWAY:-1}" = 1 ]; then
  rasa_interface=127.0.0.1
  rasa_listen=${RASA_INTERNAL_PORT:-$((rasa_port + 10))}
  # Shared by the gateway and the channels behind it; a fresh one per run unless set.
  export WECHAT_GATEWAY_SECRET="${WECHAT_GATEWAY_SECRET:-$("$bin/python" -c 'import secrets; print(secrets.token_urlsafe(32))')}"
fi

"$bin/rasa" run actions --port "$action_port" --actions actions --logging-config-file "$logging_config" &
pids+=($!)
# No --enable-api: the HTTP API would let anyone rewrite conversations.
"$bin/rasa" run --interface "$rasa_interface" --port "$rasa_listen" --credentials credentials.yml \
  --endpoints "$endpoints" --logging-config-file "$logging_config" &
pids+=($!)
if [ "$rasa_listen" != "$rasa_port" ]; then
  "$bin/python" -m bot.channels.gateway --port "$rasa_port" --upstream "http://127.0.0.1:$rasa_listen" &
  pids+=($!)
fi
# Complaint delivery (docs/intake.md): the outbox dispatcher and the agencies' status callback endpoint.
"$bin/python" -m bot dispatch --poll-interval 1 &
pids+=($!)
"$bin/python" -m bot callbacks serve --port "$callback_port" &
pids+=($!)

echo "Rasa server: http://127.0.0.1:$rasa_port  (REST: POST /webhooks/rest/webhook)"
echo "Action server: http://127.0.0.1:$action_port"
echo "Agency status callbacks: http://127.0.0.1:$callback_port/agency/callback"
echo "WeChat: http://127.0.0.1:$rasa_port/webhooks/wechat/webhook (Official Account)," \
  "http://127.0.0.1:$rasa_port/webhooks/wechat_mp/{webhook,login,chat} (mini-program)"
# Exit (and stop the rest) as soon as any part dies.
wait -n
