#!/usr/bin/env bash
# Start-up time and idle memory of `nanopost serve` on an existing embedded database, with a
# tiny peer measured in the same run (`python3 -m http.server`) so the figures can be compared
# as a ratio on a noisy machine.
#
#   bench/startup.sh            # N=10 runs each
#   N=20 bench/startup.sh
#
# For each run: time from spawn to the first 200 from GET /readyz (the peer: GET /), then the
# resident memory (VmRSS) 2 s later, then SIGTERM. Prints a markdown table (median, min, max)
# and writes it to bench/results/startup.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

N=${N:-10}
echo "building the release binary (cargo build --release -p nanopost)" >&2
cargo build --release -q -p nanopost
BIN=$PWD/target/release/nanopost

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/peer-root"

# The database, schema and secret key are created once; every measured start reuses them.
"$BIN" migrate --data-dir "$work/data" --log warn >/dev/null

python3 - "$BIN" "$work" "$N" <<'PY' | tee bench/results/startup.md.tmp
import os, platform, signal, socket, statistics, subprocess, sys, time

binary, work, n = sys.argv[1], sys.argv[2], int(sys.argv[3])

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def get_status(port, path):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            head = s.recv(64)
            return int(head.split(b" ")[1])
    except (OSError, IndexError, ValueError):
        return None

def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None

def measure(argv_for_port, path, cwd):
    port = free_port()
    t0 = time.perf_counter()
    p = subprocess.Popen(argv_for_port(port), cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = t0 + 30
        while get_status(port, path) != 200:
            if p.poll() is not None:
                raise SystemExit(f"{argv_for_port(port)[0]} exited with {p.returncode} before answering")
            if time.perf_counter() > deadline:
                raise SystemExit("no 200 within 30 s")
            time.sleep(0.0005)
        started_ms = (time.perf_counter() - t0) * 1000
        time.sleep(2)
        rss = rss_kib(p.pid) / 1024
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    return started_ms, rss

nanopost = lambda port: [binary, "serve", "--data-dir", f"{work}/data", "--listen", f"127.0.0.1:{port}", "--log", "warn"]
peer = lambda port: [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]

results = {"nanopost": [], "peer": []}
for i in range(n):
    # Interleaved, so both see the same machine noise.
    results["nanopost"].append(measure(nanopost, "/readyz", work))
    results["peer"].append(measure(peer, "/", f"{work}/peer-root"))

def stats(values):
    return statistics.median(values), min(values), max(values)

def cell(values, unit, digits):
    med, lo, hi = stats(values)
    return f"{med:.{digits}f} {unit} ({lo:.{digits}f} – {hi:.{digits}f})"

rows = [("start to first 200 (readyz / peer: /)", 0, "ms", 1), ("idle RSS after 2 s", 1, "MiB", 1)]
print(f"# Start-up benchmark\n")
print(f"{n} runs each, interleaved, on {os.cpu_count()} CPUs, Linux {platform.release()}, "
      f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. Median (min – max).\n")
print("| figure | nanopost serve (SQLite, existing db) | python3 -m http.server | ratio (median) |")
print("|---|---|---|---|")
for label, idx, unit, digits in rows:
    a = [r[idx] for r in results["nanopost"]]
    b = [r[idx] for r in results["peer"]]
    ratio = statistics.median(a) / statistics.median(b)
    print(f"| {label} | {cell(a, unit, digits)} | {cell(b, unit, digits)} | {ratio:.2f}× |")
print("\nProject targets: cold start to accepting HTTP on an existing database ≤ 50 ms; "
      "idle RSS with workers on ≤ 20 MB.\n")
print("Command: `bench/startup.sh` (N=%d). Time is measured by the caller from spawn to the first 200, "
      "polling every 0.5 ms; RSS is VmRSS from /proc/PID/status." % n)
PY
mv bench/results/startup.md.tmp bench/results/startup.md
echo >&2
echo "written to bench/results/startup.md" >&2
