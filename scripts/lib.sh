# Shell helpers shared by scripts/test, scripts/bench and the stage scripts; source it.

log() { printf '\n==> %s\n' "$*"; }

# A TCP port free on 127.0.0.1 right now.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The pinned Python tools in .venv (reinstalled only when the pins change), put first on PATH.
# Run from the repository's root.
ensure_venv() {
  local stamp=.venv/.installed
  local want
  want=$(cat requirements-dev.txt constraints.txt | sha256sum | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    log "installing Python tools into .venv"
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
    echo "$want" > "$stamp"
  fi
  export PATH="$PWD/.venv/bin:$PATH"
}
