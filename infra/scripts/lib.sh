# Shell helpers of the offline Terraform scripts (check, e2e, mutants) and scripts/deploy-test;
# source it. Sets `infra` and `repo`: the infra/ directory and the repository.

infra="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
repo="$(cd "$infra/.." && pwd)"

# Terraform installs providers from the mirror only (TF_PLUGIN_DIR, default /opt/tf-plugins),
# with its CLI configuration written to WORK; no network, no prompts, no version check.
tf_offline() {
  local work=$1
  cat >"$work/terraformrc" <<CFG
provider_installation {
  filesystem_mirror {
    path = "${TF_PLUGIN_DIR:-/opt/tf-plugins}"
  }
}
CFG
  export TF_CLI_CONFIG_FILE="$work/terraformrc" TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
}

# A copy of the root and its modules in DEST/infra, next to DEST/schema where the database
# module reads the table schema. With ENDPOINT, also the test-only provider override
# (tests/e2e/provider_override.tf.in) that points every AWS service at the emulator there.
copy_root() {
  local dest=$1 endpoint=${2:-}
  mkdir -p "$dest/infra" "$dest/schema"
  cp "$infra"/*.tf "$infra/.terraform.lock.hcl" "$dest/infra/"
  cp -R "$infra/modules" "$dest/infra/"
  cp "$repo/schema/dynamodb-table.json" "$dest/schema/"
  if [[ -n "$endpoint" ]]; then
    sed "s|@ENDPOINT@|$endpoint|g" "$infra/tests/e2e/provider_override.tf.in" >"$dest/infra/e2e_override.tf"
  fi
}

# The Python that has moto (next to moto_server), else python3.
moto_python() {
  local python
  python="$(dirname "$(command -v moto_server)")/python"
  [[ -x "$python" ]] || python="$(command -v python3)"
  echo "$python"
}

# The emulator with the e2e shim (tests/e2e/moto_shim.py) on a free port, its output in LOG.
# Sets `endpoint` and `moto_pid`; the caller stops it. Fails when it does not answer.
start_emulator() {
  local log=$1 python port
  python="$(moto_python)"
  port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  endpoint="http://127.0.0.1:$port"
  # The service reports as many running tasks as it wants (2), so wait_for_steady_state completes.
  MOTO_ECS_SERVICE_RUNNING=2 "$python" "$infra/tests/e2e/moto_shim.py" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
  moto_pid=$!
  for _ in $(seq 1 100); do
    if "$python" -c "import urllib.request; urllib.request.urlopen('$endpoint/moto-api/', timeout=1)" 2>/dev/null; then
      return 0
    fi
    kill -0 "$moto_pid" 2>/dev/null || { echo "moto exited early (see $log)" >&2; return 1; }
    sleep 0.2
  done
  echo "moto did not answer on $endpoint" >&2
  return 1
}
