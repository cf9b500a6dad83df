"""The code a booking creation runs: instructions and cache lines of code, under callgrind.

Run through `scripts/footprint`, which builds release binaries with line tables first.
The app and the floor (examples/hyper_upstream.rs, a bare hyper server that makes the same one
call per request) each answer creates one at a time on one kept-alive connection, their
DynamoDB answers replayed at once by bench/dynamo_proxy.py from moto's. callgrind counts the
instructions of CREATES creates after WARM_CREATES others (the code is then loaded and the
connections open) and dumps every instruction's address. Prints:

- instructions per create, and those besides SHA-256 (valgrind runs its software version, the
  CPU's SHA instructions, which the app uses natively, being hidden from it);
- the 64-byte lines of code that hold the instructions run in at least 95% of the creates
  (the code every create runs, which it fetches again after the process idled), by crate
  of the function they were inlined into.

Counts depend on the build and move little between runs; they are not timings.
"""

import collections
import http.client
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the benchmark's process and proxy helpers)

TARGET_DIR = os.path.join(bench.ROOT, "target", "footprint", "release")
APP = os.path.join(TARGET_DIR, "leave-calendar")
FLOOR = os.path.join(TARGET_DIR, "examples", "hyper_upstream")
WARM_CREATES = 100
CREATES = 200
LINE_BYTES = 64
SHA256 = "sha2::sha256::compress256"


def post_creates(port, count, tag):
    """`count` creates, one at a time on one connection; every answer must be 201."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for i in range(count):
        body = f'{{"user_name":"{tag} {i}","from_date":"{bench.CREATE_FROM}","to_date":"{bench.CREATE_TO}"}}'
        connection.request("POST", "/api/v1/bookings", body, {"Content-Type": "application/json"})
        answer = connection.getresponse()
        answer.read()
        if answer.status != 201:
            raise SystemExit(f"create {i} of {tag} answered {answer.status}")
    connection.close()


def callgrind(name, argv, env, port, out):
    """Runs `argv` under callgrind, counting only the measured creates, into `out`."""
    valgrind = [
        "valgrind", "--tool=callgrind", "--instr-atstart=no", "--dump-instr=yes",
        f"--callgrind-out-file={out}",
    ]
    process = bench.start(valgrind + argv, env, cpus="1" if (os.cpu_count() or 1) >= 2 else None)
    bench.wait_port(port, limit=120)
    post_creates(port, WARM_CREATES, f"{name} warm")

    def control(*flags):
        subprocess.run(["callgrind_control", *flags, str(process.pid)], check=True, capture_output=True)

    control("--instr=on")
    post_creates(port, 5, f"{name} settle")
    control("--zero")
    post_creates(port, CREATES, f"{name} measured")
    control("--dump")
    bench.stop(process, wait=60)
    dumps = sorted(p for p in os.listdir(os.path.dirname(out)) if p.startswith(os.path.basename(out) + "."))
    if not dumps:
        raise SystemExit(f"callgrind wrote no dump for {name}")
    return os.path.join(os.path.dirname(out), dumps[-1])


def crate_of(file):
    """The crate a source file belongs to: a registry crate, the standard library (with the
    crates it vendors), the C library, the app's module (`app:http`), or the file itself."""
    registry = re.search(r"/registry/src/[^/]+/([A-Za-z0-9_\-]+?)-\d+\.\d+", file)
    if registry:
        return registry.group(1)
    if file.startswith("/rustc/") or file.startswith("/rust/deps/"):
        return "std"
    if file.startswith("./"):
        return "libc"
    app = re.search(r"(?:^|/)src/([a-z_]+)(?:/|\.rs)", file)
    if app:
        return "app:" + app.group(1)
    return os.path.basename(file) or "?"


def read_dump(path, threshold):
    """(instructions, SHA-256's instructions, {line: crate}) from a callgrind dump made with
    --dump-instr=yes: the total, the part run inside SHA-256's compression, and the code lines
    holding an instruction run at least `threshold` times."""
    names = {"fl": {}, "fn": {}}
    file = function = None
    address = 0
    after_call = False
    total = sha = 0
    lines = {}
    for raw in open(path):
        line = raw.rstrip("\n")
        if not line:
            continue
        named = re.match(r"(c?)(fl|fi|fe|fn|ob|cob)=\((\d+)\)(?: (.*))?$", line)
        if named:
            called, kind, index, name = named.groups()
            table = "fn" if kind == "fn" else "fl" if kind in ("fl", "fi", "fe") else None
            if table and name:
                names[table][index] = name
            if not called and kind == "fl":
                file = index
            if not called and kind == "fn":
                function = index
            continue
        if line.startswith("calls="):
            after_call = True
            continue
        if line.startswith("totals:") or line.startswith("summary:"):
            continue
        if line[0] not in "0123456789+-*":
            continue
        parts = line.split()
        position = parts[0]
        if position.startswith("0x"):
            address = int(position, 16)
        elif position[0] in "+-":
            address += int(position, 0) if position[1:] else 0
        if after_call:
            # The cost line after `calls=` is the callee's inclusive cost, counted where it ran.
            after_call = False
            continue
        count = int(parts[2]) if len(parts) > 2 else 0
        total += count
        if SHA256 in names["fn"].get(function, ""):
            sha += count
        if count >= threshold:
            lines.setdefault(address // LINE_BYTES, crate_of(names["fl"].get(file, "")))
    return total, sha, lines


def summary(name, dump):
    total, sha, lines = read_dump(dump, threshold=CREATES * 95 // 100)
    by_crate = collections.Counter(lines.values())
    return {
        "name": name,
        "instructions": total / CREATES,
        "besides_sha": (total - sha) / CREATES,
        "lines": len(lines),
        "by_crate": by_crate,
    }


def main():
    for tool in ("valgrind", "callgrind_control"):
        if not shutil.which(tool):
            raise SystemExit(f"footprint needs {tool} (apt-get install valgrind)")
    work = tempfile.mkdtemp(prefix="footprint-")
    try:
        app_port, floor_port = bench.free_port(), bench.free_port()
        moto_port, proxy_port = bench.start_moto_behind_proxy(cpus="0")
        bench.create_table(f"http://127.0.0.1:{moto_port}", "leave-footprint")
        # Under valgrind the app runs some 50 times slower than natively.
        dynamo = bench.dynamo_env(proxy_port, "leave-footprint", store_timeout_ms=30000)
        env = bench.app_env("info", {**dynamo, "PORT": str(app_port)})
        # One create through to moto records the answer the proxy then replays for all.
        with open(os.path.join(work, "record.log"), "w") as record_log:
            recorder = bench.start([APP], env, stdout=record_log)
            bench.wait_port(app_port)
            post_creates(app_port, 1, "record")
            bench.stop(recorder)
        bench.Counter(proxy_port).replay(0)

        bench.log("the app under callgrind")
        app = summary("app", callgrind("app", [APP], env, app_port, os.path.join(work, "app.out")))
        bench.log("the floor under callgrind")
        floor_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PORT": str(floor_port),
            "UPSTREAM": f"http://127.0.0.1:{proxy_port}/",
        }
        floor = summary("floor", callgrind("floor", [FLOOR], floor_env, floor_port, os.path.join(work, "floor.out")))
    finally:
        bench.stop_all()
        shutil.rmtree(work, ignore_errors=True)
    print(f"Code a create runs, {CREATES} creates one at a time on replayed DynamoDB answers (callgrind).\n")
    print("| | app | floor |")
    print("|---|---|---|")
    print(f"| instructions per create | {app['instructions']:,.0f} | {floor['instructions']:,.0f} |")
    print(f"| besides SHA-256 | {app['besides_sha']:,.0f} | {floor['besides_sha']:,.0f} |")
    for r in (app, floor):
        r["size"] = f"{r['lines']:,} ({r['lines'] * LINE_BYTES / 1024:.0f} KiB)"
    print(f"| {LINE_BYTES}-byte lines of code run in ≥ 95% of creates | {app['size']} | {floor['size']} |")
    print("\nThose lines by crate:\n")
    print("| crate | app | floor |")
    print("|---|---|---|")
    crates = sorted(set(app["by_crate"]) | set(floor["by_crate"]), key=lambda c: -app["by_crate"][c])
    for crate in crates:
        if app["by_crate"][crate] + floor["by_crate"][crate] >= 10:
            print(f"| {crate} | {app['by_crate'][crate]} | {floor['by_crate'][crate]} |")


if __name__ == "__main__":
    main()
