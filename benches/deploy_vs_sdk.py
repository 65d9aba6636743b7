#!/usr/bin/env python3
"""`brickship deploy` versus a databricks-sdk script: wall time, peak memory, API calls (issue 3).

Run with `cargo xtask bench deploy` (builds the release binary and the Python venv first), or
directly: `target/venv/bin/python benches/deploy_vs_sdk.py [--iterations N] [--warmup N] [--state]`.
Only the standard library is needed here; `benches/sdk_deploy.py` needs `databricks-sdk`.

What it does, side by side in one run:

1. Starts `brickship workspace serve --addr 127.0.0.1:0` (the release binary; state in memory,
   rate limits ON as a user gets them; `--state` keeps state on disk instead) and copies
   `examples/customer-360` to a temporary folder.
2. API calls: a first deploy of `customer-360-pipeline` to `dev` on the fresh workspace (with an
   empty plugin cache, so its time includes compiling the strategy component), then an
   unchanged re-deploy; the counts come from the deploy's `{"event":"result"}` line (the report
   JSON's `api_call_count` / `mutating_call_count`) and are checked against the workspace's
   request log. The SDK script's calls are counted from the request log.
3. Timing: every run is its own process, timed from spawn to exit with `os.wait4`, which also
   gives the process's peak resident set size (`ru_maxrss`). brickship runs as
   `brickship deploy customer-360-pipeline --environment dev --strategy direct --no-run
   --host <url> --output json --config-file <file>`, warm (the release binary was just run, the
   plugin cache in `target/bench/plugin-cache` is filled by the first deploys). The SDK script is
   `python benches/sdk_deploy.py settings.json --no-run` against a job of its own (same settings,
   name suffixed `-sdk`), so neither disturbs the other's job.
   * changed: each iteration deploys a new `checkpoint_root` variable through `--config-file`, so
     the job is reset every time (checked: status `succeeded`, a `jobs/reset` in the request
     log); the SDK script gets a matching change (it always resets anyway).
   * unchanged: the same config file again (checked: status `no-op`, zero mutating calls); the
     SDK script resets regardless, as the seed's does.
   The two tools alternate (brickship first on even iterations, the SDK first on odd ones).
4. Prints Markdown for BENCHMARKS.md and writes every sample to `target/bench/deploy_vs_sdk.json`.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIPELINE = "customer-360-pipeline"
ENVIRONMENT = "dev"
TOKEN = "dapi-bench"
TARGET_SPEEDUP = 20.0


class BenchError(Exception):
    """A check failed or a process misbehaved; the message says what to look at."""


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brickship", type=Path, default=ROOT / "target/release/brickship",
                        help="the brickship binary (default: target/release/brickship)")
    parser.add_argument("--python", type=Path, default=ROOT / "target/venv/bin/python",
                        help="the Python with databricks-sdk (default: target/venv/bin/python)")
    parser.add_argument("--iterations", type=int, default=10, help="measured runs per tool and scenario")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured runs per tool before each scenario")
    parser.add_argument("--state", action="store_true",
                        help="serve with --state (persisted, fsync'd state) instead of in memory")
    parser.add_argument("--json", type=Path, default=ROOT / "target/bench/deploy_vs_sdk.json",
                        help="where to write every sample")
    return parser.parse_args()


# --- the local workspace -------------------------------------------------------------------------

class Workspace:
    """`brickship workspace serve` in its own process, with its `/_local/` control plane."""

    def __init__(self, brickship, state_dir):
        argv = [str(brickship), "workspace", "serve", "--addr", "127.0.0.1:0"]
        if state_dir is not None:
            argv += ["--state", str(state_dir)]
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                        env=clean_env(), text=True)
        banner = self.process.stdout.readline()
        url = next((word for word in banner.split() if word.startswith("http://")), None)
        if url is None:
            self.stop()
            raise BenchError(f"`brickship workspace serve` printed no URL: {banner!r}")
        self.url = url.rstrip("/")
        # Drain anything else it prints so a full pipe can never block the server.
        threading.Thread(target=self.process.stdout.read, daemon=True).start()

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("authorization", f"Bearer {TOKEN}")
        if data is not None:
            request.add_header("content-type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read()
        return json.loads(text) if text else None

    def last_seq(self):
        return self.call("GET", "/_local/requests?since=18446744073709551615")["last_seq"]

    def api_requests_since(self, seq):
        """Requests after `seq` other than the control plane's own."""
        log = self.call("GET", f"/_local/requests?since={seq}")["requests"]
        return [entry for entry in log if not entry["path"].startswith("/_local/")]

    def peak_rss_kib(self):
        try:
            with open(f"/proc/{self.process.pid}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return None

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def clean_env():
    """The process environment without Databricks or brickship settings from this machine."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DATABRICKS_", "BRICKSHIP_")) and key != "RUST_LOG"}
    env["DATABRICKS_TOKEN"] = TOKEN
    env["DATABRICKS_CONFIG_FILE"] = "/nonexistent/brickship-bench/databrickscfg"
    env["NO_COLOR"] = "1"
    return env


# --- measured processes --------------------------------------------------------------------------

def measure(argv, env, cwd, scratch):
    """Runs `argv` to completion: (wall seconds, peak RSS KiB, exit code, stdout, stderr)."""
    out_path, err_path = scratch / "stdout", scratch / "stderr"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.perf_counter()
        process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    return (wall, usage.ru_maxrss, process.returncode,
            out_path.read_text(encoding="utf-8", errors="replace"),
            err_path.read_text(encoding="utf-8", errors="replace"))


class Bench:
    def __init__(self, args, workspace, project, scratch):
        self.args = args
        self.workspace = workspace
        self.project = project
        self.scratch = scratch
        self.brickship_env = clean_env()
        self.brickship_env["BRICKSHIP_CACHE_DIR"] = str(ROOT / "target/bench/plugin-cache")
        self.sdk_env = clean_env()
        self.sdk_env["DATABRICKS_HOST"] = workspace.url

    def config_file(self, label):
        """A `--config-file` whose `checkpoint_root` differs per label (so the job changes)."""
        path = self.scratch / f"deploy-{label}.yaml"
        path.write_text(f"variables:\n  checkpoint_root: /mnt/checkpoints/bench-{label}\n", encoding="utf-8")
        return path

    def brickship(self, config_file, expect, cache_dir=None):
        """One `brickship deploy`; `expect` is the status it must end with."""
        before = self.workspace.last_seq()
        argv = [str(self.args.brickship), "deploy", PIPELINE, "--environment", ENVIRONMENT,
                "--strategy", "direct", "--no-run", "--project", str(self.project),
                "--host", self.workspace.url, "--output", "json", "--config-file", str(config_file)]
        env = dict(self.brickship_env)
        if cache_dir is not None:
            env["BRICKSHIP_CACHE_DIR"] = str(cache_dir)
        wall, rss, code, stdout, stderr = measure(argv, env, self.project, self.scratch)
        result = None
        for line in stdout.splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict) and event.get("event") == "result":
                result = event
        if code != 0 or result is None:
            raise BenchError(f"`brickship deploy` exited {code}\n--- stdout\n{stdout}\n--- stderr\n{stderr}")
        if result["status"] != expect:
            raise BenchError(f"`brickship deploy` ended `{result['status']}`, expected `{expect}`: {result}")
        served = self.workspace.api_requests_since(before)
        resets = sum(1 for entry in served if entry["path"].endswith("/jobs/reset"))
        if expect == "succeeded" and resets + sum(1 for e in served if e["path"].endswith("/jobs/create")) == 0:
            raise BenchError(f"a changed deploy made no jobs/reset or jobs/create call: {result}")
        if expect == "no-op" and result["mutating_calls"] != 0:
            raise BenchError(f"an unchanged deploy made {result['mutating_calls']} mutating calls: {result}")
        return {
            "wall_s": wall, "peak_rss_kib": rss, "job_id": result["job_id"],
            "status": result["status"], "engine_ms": result["duration_ms"],
            "api_calls": result["api_calls"], "mutating_calls": result["mutating_calls"],
            "served_calls": len(served), "served_mutating": sum(1 for e in served if e["mutating"]),
            "throttled": sum(1 for e in served if e["status"] == 429),
            "calls": call_names(served),
        }

    def sdk(self, settings_file, expect_action):
        before = self.workspace.last_seq()
        argv = [str(self.args.python), str(ROOT / "benches/sdk_deploy.py"), str(settings_file), "--no-run"]
        wall, rss, code, stdout, stderr = measure(argv, self.sdk_env, self.scratch, self.scratch)
        if code != 0:
            raise BenchError(f"`sdk_deploy.py` exited {code}\n--- stdout\n{stdout}\n--- stderr\n{stderr}")
        result = json.loads(stdout.strip().splitlines()[-1])
        if result["action"] != expect_action:
            raise BenchError(f"`sdk_deploy.py` {result['action']} the job, expected {expect_action}: {result}")
        served = self.workspace.api_requests_since(before)
        return {
            "wall_s": wall, "peak_rss_kib": rss, "job_id": result["job_id"], "action": result["action"],
            "import_ms": result["import_ms"], "client_ms": result["client_ms"], "calls_ms": result["calls_ms"],
            "api_calls": len(served), "mutating_calls": sum(1 for e in served if e["mutating"]),
            "throttled": sum(1 for e in served if e["status"] == 429),
            "calls": call_names(served),
        }

    def sdk_settings(self, base, label):
        """The SDK script's settings file for one iteration (the checkpoint path follows `label`)."""
        settings = json.loads(json.dumps(base))
        for task in settings.get("tasks", []):
            params = task.get("notebook_task", {}).get("base_parameters", {})
            if "checkpoint_path" in params:
                tail = params["checkpoint_path"].split("/", 3)[-1]
                params["checkpoint_path"] = f"/mnt/checkpoints/bench-{label}/{tail}"
        path = self.scratch / f"sdk-settings-{label}.json"
        path.write_text(json.dumps(settings), encoding="utf-8")
        return path


def call_names(served):
    """`METHOD path status` of each request served, ids and file names folded, in order."""
    names = []
    for entry in served:
        path = entry["path"]
        for prefix in ("/api/2.0/workspace-files/import-file/", "/api/2.0/permissions/jobs/"):
            if path.startswith(prefix):
                path = prefix + "…"
        names.append(f"{entry['method']} {path} {entry['status']}")
    return names


def grouped(names):
    """`call ×n` in first-seen order."""
    counts = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    return ", ".join(f"`{name}`" + (f" ×{n}" if n > 1 else "") for name, n in counts.items())


def sdk_baseline(workspace, job_id):
    """The deployed job's settings and explicit ACL, renamed `<name>-sdk`, for the SDK script."""
    job = workspace.call("GET", f"/api/2.2/jobs/get?job_id={job_id}")
    settings = job["settings"]
    settings["name"] = settings["name"] + "-sdk"
    permissions = workspace.call("GET", f"/api/2.0/permissions/jobs/{job_id}")
    acl = []
    for entry in permissions.get("access_control_list", []):
        principal = {key: entry[key] for key in ("user_name", "group_name", "service_principal_name") if key in entry}
        for permission in entry.get("all_permissions", []):
            if not permission.get("inherited"):
                acl.append({**principal, "permission_level": permission["permission_level"]})
    if acl:
        settings["access_control_list"] = acl
    return settings


# --- statistics and output -----------------------------------------------------------------------

def summary(samples, key):
    values = [sample[key] for sample in samples]
    return statistics.median(values), min(values), max(values)


def fmt_ms(seconds_triple):
    median, low, high = seconds_triple
    return f"{median * 1000:.0f} ms", f"{low * 1000:.0f}–{high * 1000:.0f} ms"


def fmt_mib(kib_triple):
    median, low, high = kib_triple
    return f"{median / 1024:.1f} MiB", f"{low / 1024:.1f}–{high / 1024:.1f} MiB"


def machine():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True, check=False).stdout.strip()
    return {
        "nproc": os.cpu_count(), "cpu": model, "rustc": rustc or "unknown rustc",
        "python": platform.python_version(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def load_average():
    try:
        return " ".join(Path("/proc/loadavg").read_text(encoding="ascii").split()[:3])
    except OSError:
        return "unknown"


def sdk_version(python):
    probe = "from databricks.sdk.version import __version__; print(__version__)"
    return subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=False).stdout.strip()


def run(args):
    for path, fix in ((args.brickship, "cargo build --release -p brickship"), (args.python, "cargo xtask setup")):
        if not path.exists():
            raise BenchError(f"`{path}` is missing: run `{fix}`")
    info = machine()
    info["databricks_sdk"] = sdk_version(args.python)
    info["load_before"] = load_average()
    with tempfile.TemporaryDirectory(prefix="brickship-bench-") as tmp:
        tmp = Path(tmp)
        scratch = tmp / "scratch"
        scratch.mkdir()
        project = tmp / "customer-360"
        shutil.copytree(ROOT / "examples/customer-360", project,
                        ignore=shutil.ignore_patterns(".brickship", "deployments", "monitoring"))
        workspace = Workspace(args.brickship, tmp / "state" if args.state else None)
        try:
            bench = Bench(args, workspace, project, scratch)
            return info, measure_all(args, bench, workspace)
        finally:
            workspace.stop()


def measure_all(args, bench, workspace):
    progress = lambda text: print(f"deploy_vs_sdk: {text}", file=sys.stderr, flush=True)  # noqa: E731

    # API calls of a first deploy on a fresh workspace and of an unchanged re-deploy.
    steady = bench.config_file("steady")
    progress("first deploy (empty plugin cache)")
    first = bench.brickship(steady, "succeeded", cache_dir=bench.scratch / "cold-plugin-cache")
    progress("unchanged re-deploy")
    again = bench.brickship(steady, "no-op")
    base = sdk_baseline(workspace, first["job_id"])
    sdk_first = bench.sdk(bench.sdk_settings(base, "first"), "created")
    sdk_again = bench.sdk(bench.sdk_settings(base, "first"), "updated")

    def interleaved(label, brickship_call, sdk_call):
        tool_samples = {"brickship": [], "sdk": []}
        for i in range(args.warmup):
            progress(f"{label}: warm-up {i + 1}/{args.warmup}")
            brickship_call(f"warm{i}")
            sdk_call(f"warm{i}")
        for i in range(args.iterations):
            progress(f"{label}: {i + 1}/{args.iterations}")
            order = (("brickship", brickship_call), ("sdk", sdk_call))
            for name, call in order if i % 2 == 0 else reversed(order):
                tool_samples[name].append(call(str(i)))
        return tool_samples

    changed = interleaved(
        "changed",
        lambda label: bench.brickship(bench.config_file(label), "succeeded"),
        lambda label: bench.sdk(bench.sdk_settings(base, label), "updated"),
    )
    # The unchanged scenario deploys one config file once (a change), then again and again.
    last = bench.config_file("unchanged")
    bench.brickship(last, "succeeded")
    sdk_last = bench.sdk_settings(base, "unchanged")
    unchanged = interleaved(
        "unchanged",
        lambda label: bench.brickship(last, "no-op"),
        lambda label: bench.sdk(sdk_last, "updated"),
    )
    limits = workspace.call("GET", "/_local/rate-limits")
    return {
        "first_deploy": first, "unchanged_redeploy": again,
        "sdk_first": sdk_first, "sdk_again": sdk_again,
        "changed": changed, "unchanged": unchanged,
        "server_peak_rss_kib": workspace.peak_rss_kib(),
        "rate_limits": limits,
        "load_after": load_average(),
    }


def report(args, info, results):
    lines = []
    say = lines.append
    say(f"machine: {info['nproc']} CPUs ({info['cpu']}), {info['rustc']}, Python {info['python']}, "
        f"databricks-sdk {info['databricks_sdk']}, {info['date']}")
    say(f"server: `brickship workspace serve` ({'--state on disk' if args.state else 'state in memory'}, "
        f"rate limits on); {args.iterations} measured runs per tool and scenario after {args.warmup} warm-up runs; "
        f"load average before {info['load_before']}, after {results['load_after']}")
    say("")
    say("| scenario | tool | wall time (median) | wall min–max | peak RSS (median) | RSS min–max | API calls (mutating) |")
    say("|---|---|---|---|---|---|---|")
    verdicts = []
    for scenario in ("changed", "unchanged"):
        samples = results[scenario]
        rows = {}
        for tool, name in (("brickship", "`brickship deploy`"), ("sdk", "`sdk_deploy.py` (databricks-sdk)")):
            wall = summary(samples[tool], "wall_s")
            rss = summary(samples[tool], "peak_rss_kib")
            calls = sorted({(s["api_calls"], s["mutating_calls"]) for s in samples[tool]})
            rows[tool] = wall
            say(f"| {scenario} | {name} | {fmt_ms(wall)[0]} | {fmt_ms(wall)[1]} | {fmt_mib(rss)[0]} | "
                f"{fmt_mib(rss)[1]} | {', '.join(f'{a} ({m})' for a, m in calls)} |")
        speedup = rows["sdk"][0] / rows["brickship"][0]
        verdicts.append((scenario, speedup))
    say("")
    for scenario, speedup in verdicts:
        met = "met" if speedup >= TARGET_SPEEDUP else f"missed (by {TARGET_SPEEDUP / speedup:.1f}×)"
        say(f"- {scenario}: brickship is {speedup:.1f}× faster than the SDK script by median wall time "
            f"(target ≥ {TARGET_SPEEDUP:.0f}×: {met})")
    say("")
    say("Inside the processes (medians): ")
    for scenario in ("changed", "unchanged"):
        samples = results[scenario]
        engine = statistics.median(s["engine_ms"] for s in samples["brickship"])
        imports = statistics.median(s["import_ms"] for s in samples["sdk"])
        client = statistics.median(s["client_ms"] for s in samples["sdk"])
        calls = statistics.median(s["calls_ms"] for s in samples["sdk"])
        say(f"- {scenario}: brickship's own deploy duration (report `duration_ms`) {engine:.0f} ms; "
            f"SDK script: imports {imports:.0f} ms, `WorkspaceClient()` {client:.0f} ms, API calls {calls:.0f} ms")
    say("")
    say("| deploy | API calls | mutating calls | status, wall time, peak RSS (one run) |")
    say("|---|---|---|---|")
    for label, key in (("brickship, first deploy (fresh workspace)", "first_deploy"),
                       ("brickship, unchanged re-deploy", "unchanged_redeploy")):
        sample = results[key]
        say(f"| {label} | {sample['api_calls']} (workspace log: {sample['served_calls']}) | "
            f"{sample['mutating_calls']} (workspace log: {sample['served_mutating']}) | {sample['status']}, "
            f"{sample['wall_s'] * 1000:.0f} ms, {sample['peak_rss_kib'] / 1024:.1f} MiB |")
    changed_calls = sorted({(s["api_calls"], s["mutating_calls"]) for s in results["changed"]["brickship"]})
    say(f"| brickship, changed deploy | {', '.join(str(a) for a, _ in changed_calls)} | "
        f"{', '.join(str(m) for _, m in changed_calls)} | succeeded (timings above) |")
    for label, key in (("SDK script, first run (create)", "sdk_first"), ("SDK script, re-run (reset)", "sdk_again")):
        sample = results[key]
        say(f"| {label} | {sample['api_calls']} | {sample['mutating_calls']} | {sample['action']}, "
            f"{sample['wall_s'] * 1000:.0f} ms, {sample['peak_rss_kib'] / 1024:.1f} MiB |")
    say("")
    say("The calls (method, path, status; in order of first use):")
    say("")
    say(f"- brickship, first deploy: {grouped(results['first_deploy']['calls'])}")
    say(f"- brickship, changed deploy: {grouped(results['changed']['brickship'][-1]['calls'])}")
    say(f"- brickship, unchanged re-deploy: {grouped(results['unchanged_redeploy']['calls'])}")
    say(f"- SDK script, first run: {grouped(results['sdk_first']['calls'])}")
    say(f"- SDK script, re-run: {grouped(results['sdk_again']['calls'])}")
    say("")
    busy = [load for load in (info["load_before"], results["load_after"])
            if load != "unknown" and float(load.split()[0]) > 1.0]
    if busy:
        say("WARNING: other work shared the CPUs (1-minute load average above 1): these numbers are "
            "noisier than on a quiet machine; run again when it is idle")
        say("")
    throttled = sum(rule.get("throttled", 0) for rule in results["rate_limits"].get("limits", []))
    say(f"requests throttled by the workspace's rate limits during the run: {throttled}; "
        f"server peak RSS: {(results['server_peak_rss_kib'] or 0) / 1024:.1f} MiB")
    return "\n".join(lines)


def main():
    args = parse_args()
    try:
        info, results = run(args)
    except BenchError as err:
        print(f"deploy_vs_sdk: {err}", file=sys.stderr)
        return 1
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"machine": info, "args": {k: str(v) for k, v in vars(args).items()},
                                     "results": results}, indent=2), encoding="utf-8")
    print(report(args, info, results))
    print(f"\nevery sample: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
