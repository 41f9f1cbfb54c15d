#!/usr/bin/env bash
# Print the path of a Python 3.10 interpreter (Rasa 3.6 runs on 3.8-3.10 only).
# Order: $PYTHON, python3.10 on PATH, pyenv's versions, common system paths.
set -u
want="3.10"
works() { "$1" -c "import sys; sys.exit(0 if '%d.%d' % sys.version_info[:2] == '$want' else 1)" >/dev/null 2>&1; }
candidates=()
[ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
command -v "python$want" >/dev/null 2>&1 && candidates+=("$(command -v "python$want")")
root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
for p in "$root"/versions/"$want".*/bin/python"$want"; do [ -x "$p" ] && candidates+=("$p"); done
candidates+=("/usr/bin/python$want" "/usr/local/bin/python$want")
for c in "${candidates[@]}"; do
  if works "$c"; then echo "$c"; exit 0; fi
done
cat >&2 <<MSG
error: Python $want is needed (Rasa Open Source 3.6 supports Python 3.8-3.10) and none was found.
Install it, then run 'make setup' again, for example:
  pyenv install 3.10.13            (with pyenv)
  apt-get install python3.10 python3.10-venv   (Debian/Ubuntu with 3.10 packages)
or point to one: make setup PYTHON=/path/to/python3.10
MSG
exit 1
