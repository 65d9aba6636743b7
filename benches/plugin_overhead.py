#!/usr/bin/env python3
"""What plugins add to a whole `brickship deploy`: gates and a notifier, and the strategy (issue 4).

Run with `cargo xtask bench plugins` (which first runs the criterion benches of
`host/plugin-host/benches/`, whose numbers this script reads), or directly:
`python3 benches/plugin_overhead.py [--iterations N] [--warmup N]`. Standard library only.

What it does:

1. Starts four `brickship workspace serve --addr 127.0.0.1:0` (release binary, state in memory,
   **rate limits off**: back-to-back deploys would otherwise be throttled on the journal
   writes and wait a second, which is not what this measures), one per variant, so the
   variants deploy the same job to `dev` without disturbing each other. Copies
   `examples/customer-360` once per variant:
   * **plain**: the example as it is (the `direct` strategy is a plugin too; no gates, no
     notifiers);
   * **gates**: plus three built-in gates in monitor mode at pre-deploy and post-deploy
     (`required-tags`, `naming`, `prod-safety`: 6 gate calls per deploy);
   * **webhook**: plus a `webhook` notifier posting every event to a loopback HTTP receiver this
     script runs, allowed by `notifications.allowed_hosts` (see docs/project-format.md,
     "Plugins");
   * **plugins**: both.
2. Warm: each variant deploys `--warmup` times first, so the plugin cache
   (`BRICKSHIP_CACHE_DIR=target/bench/plugin-cache`) holds every component and the binary and
   the example's files are in the page cache.
3. **changed**: every deploy gets a new `checkpoint_root` through `--config-file`, so the job is
   reset each time (`brickship deploy customer-360-pipeline -e dev --strategy direct --no-run
   --output json`); **unchanged**: the same config file again (status `no-op`). Each iteration
   runs every variant once, in reversed order on odd iterations. Each deploy is a process timed from spawn to exit
   (`os.wait4`, which also gives the peak RSS).
4. From each deploy's report (`deployments/reports/<id>.json`) and journal record: the gate
   verdicts (with the host's own `duration_ms` per gate call, whole milliseconds), the
   notifications delivered, the API calls, and the number of strategy step calls (the record's
   `step` events).
5. Prints Markdown for BENCHMARKS.md: wall time per variant, the overhead as the median of the
   paired differences (variant − plain, iteration by iteration), and a bottom-up estimate from
   the criterion medians in `target/criterion` (`deploy-shaped` group of the `plugins` bench):
   what the strategy costs inside every deploy (start-up + its step calls), and what the gates
   and the notifier's rendering cost, to compare with the measured difference. Every sample goes
   to `target/bench/plugin_overhead.json`.
"""

import argparse
import http.server
import json
import shutil
import statistics
import sys
import tempfile
import threading
import urllib.parse
from pathlib import Path

sys.dont_write_bytecode = True
from deploy_vs_sdk import (  # noqa: E402  (the shared helpers of the issue-3 benchmark)
    BenchError, Workspace, clean_env, load_average, machine, measure,
)

ROOT = Path(__file__).resolve().parent.parent
PIPELINE = "customer-360-pipeline"
ENVIRONMENT = "dev"

# The three gates and the notifier; `plugins.rs` (`deploy-shaped`) uses the same configs.
GATES_YAML = """
# added by benches/plugin_overhead.py
gates:
  tags:
    plugin: required-tags
    mode: monitor
    points: [pre-deploy, post-deploy]
    config: {tags: [owner, pipeline, environment]}
  naming:
    mode: monitor
    points: [pre-deploy, post-deploy]
    config: {patterns: {"*": "[a-z0-9-]+-(dev|staging|prod)"}}
  prod-safety:
    mode: monitor
    points: [pre-deploy, post-deploy]
"""
NOTIFIER_YAML = """
# added by benches/plugin_overhead.py
notifiers:
  hook:
    plugin: webhook
    config: {{url: "http://127.0.0.1:{port}/brickship"}}
notifications:
  allowed_hosts: ["127.0.0.1:{port}"]
"""
# Variant name -> (gates, notifier). `plugins` has both; `gates` and `webhook` split the cost.
VARIANTS = {"plain": (False, False), "gates": (True, False), "webhook": (False, True), "plugins": (True, True)}

# Criterion benchmark ids (group/function) this script reads for the bottom-up estimate.
CRITERION = {
    "startup_plain": "deploy-shaped/start-up: runtime + direct from the disk cache + validate-config",
    "startup_plugins": "deploy-shaped/start-up: runtime + direct, 3 gates, webhook from the disk cache + validate-config",
    "rollout": "deploy-shaped/direct update rollout (3 step calls)",
    "gates": "deploy-shaped/3 gates x 2 points (6 evaluate calls)",
    "renders": "deploy-shaped/webhook: 4 renders (started, 2 x step-done, succeeded)",
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brickship", type=Path, default=ROOT / "target/release/brickship",
                        help="the brickship binary (default: target/release/brickship)")
    parser.add_argument("--iterations", type=int, default=20, help="measured deploys per variant and scenario")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured deploys per variant first")
    parser.add_argument("--criterion", type=Path, default=ROOT / "target/criterion",
                        help="criterion's output folder (for the bottom-up estimate)")
    parser.add_argument("--json", type=Path, default=ROOT / "target/bench/plugin_overhead.json",
                        help="where to write every sample")
    return parser.parse_args()


# --- the loopback webhook receiver ---------------------------------------------------------------

class Receiver:
    """A loopback HTTP server that answers 200 to every POST and counts them."""

    def __init__(self):
        receiver = self
        self.count = 0
        self.lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (the http.server API)
                length = int(self.headers.get("content-length") or 0)
                self.rfile.read(length)
                with receiver.lock:
                    receiver.count += 1
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


# --- deploys -------------------------------------------------------------------------------------

class Variant:
    def __init__(self, name, args, workspace, project, scratch):
        self.name = name
        self.args = args
        self.workspace = workspace
        self.project = project
        self.scratch = scratch
        self.env = clean_env()
        self.env["BRICKSHIP_CACHE_DIR"] = str(ROOT / "target/bench/plugin-cache")

    def config_file(self, label):
        path = self.scratch / f"{self.name}-{label}.yaml"
        path.write_text(f"variables:\n  checkpoint_root: /mnt/checkpoints/bench-{label}\n", encoding="utf-8")
        return path

    def deploy(self, config_file, expect):
        before = self.workspace.last_seq()
        argv = [str(self.args.brickship), "deploy", PIPELINE, "--environment", ENVIRONMENT,
                "--strategy", "direct", "--no-run", "--project", str(self.project),
                "--host", self.workspace.url, "--output", "json", "--config-file", str(config_file)]
        wall, rss, code, stdout, stderr = measure(argv, self.env, self.project, self.scratch)
        result = last_result(stdout)
        if code != 0 or result is None:
            raise BenchError(f"{self.name}: `brickship deploy` exited {code}\n--- stdout\n{stdout}\n--- stderr\n{stderr}")
        if result["status"] != expect:
            raise BenchError(f"{self.name}: `brickship deploy` ended `{result['status']}`, expected `{expect}`: {result}")
        report_path = next((Path(p) for p in result.get("report") or [] if p.endswith(".json")), None)
        if report_path is None:
            raise BenchError(f"{self.name}: the result names no JSON report: {result}")
        report = json.loads(report_path.read_text(encoding="utf-8"))
        served = self.workspace.api_requests_since(before)
        gate_calls = [g for point in report.get("gates", []) for g in point.get("gates", [])]
        errors = [g for g in gate_calls if g.get("error")]
        if errors:
            raise BenchError(f"{self.name}: a gate failed to run: {errors}")
        deliveries = report.get("notifications", [])
        undelivered = [d for d in deliveries if d.get("outcome") != "delivered"]
        if undelivered:
            raise BenchError(f"{self.name}: a notification was not delivered: {undelivered}")
        return {
            "wall_s": wall, "peak_rss_kib": rss, "status": result["status"],
            "engine_ms": result["duration_ms"], "deployment_id": result["deployment_id"],
            "api_calls": result["api_calls"], "mutating_calls": result["mutating_calls"],
            "served_calls": len(served), "throttled": sum(1 for e in served if e["status"] == 429),
            "gate_calls": len(gate_calls), "gate_ms": sum(g.get("duration_ms", 0) for g in gate_calls),
            "deliveries": len(deliveries),
            "delivery_ms": sum(d.get("duration_ms", 0) for d in deliveries),
            "step_calls": self.step_calls(result["deployment_id"], result["status"]),
            # phase name -> [offset from the deploy's start, duration], whole milliseconds
            "phases": {p["name"]: [p["offset_ms"], p["duration_ms"]] for p in report.get("phases", [])},
        }

    def step_calls(self, deployment_id, status):
        """How many times the strategy's `step` ran: the `step` events of the journal record."""
        if status == "no-op":
            return 0  # an unchanged deploy writes no record and does not call the strategy
        path = f"/Workspace/Shared/.brickship/{PIPELINE}/{ENVIRONMENT}/deployments/{deployment_id}.json"
        record = self.workspace.call(
            "GET", "/api/2.0/workspace/export?" + urllib.parse.urlencode({"path": path, "direct_download": "true"}))
        return sum(1 for event in record.get("events", []) if event.get("event") == "step")


def last_result(stdout):
    result = None
    for line in stdout.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and event.get("event") == "result":
            result = event
    return result


# --- criterion numbers ---------------------------------------------------------------------------

def criterion_medians(folder):
    """`group/function` -> median in seconds, from every `new/estimates.json` under `folder`."""
    medians = {}
    for meta in folder.glob("*/*/new/benchmark.json"):
        try:
            full_id = json.loads(meta.read_text(encoding="utf-8"))["full_id"]
            estimates = json.loads((meta.parent / "estimates.json").read_text(encoding="utf-8"))
            medians[full_id] = estimates["median"]["point_estimate"] / 1e9
        except (OSError, ValueError, KeyError):
            continue
    return medians


# --- the run -------------------------------------------------------------------------------------

def run(args):
    if not args.brickship.exists():
        raise BenchError(f"`{args.brickship}` is missing: run `cargo build --release -p brickship`")
    info = machine()
    info["load_before"] = load_average()
    receiver = Receiver()
    workspaces = []
    try:
        with tempfile.TemporaryDirectory(prefix="brickship-bench-") as tmp:
            tmp = Path(tmp)
            variants = {}
            for name in VARIANTS:
                project = tmp / name / "customer-360"
                shutil.copytree(ROOT / "examples/customer-360", project,
                                ignore=shutil.ignore_patterns(".brickship", "deployments", "monitoring"))
                gates, notifier = VARIANTS[name]
                with open(project / "brickship.yaml", "a", encoding="utf-8") as config:
                    if gates:
                        config.write(GATES_YAML)
                    if notifier:
                        config.write(NOTIFIER_YAML.format(port=receiver.port))
                scratch = tmp / name / "scratch"
                scratch.mkdir()
                workspace = Workspace(args.brickship, None)
                workspaces.append(workspace)
                workspace.call("POST", "/_local/rate-limits", {"enabled": False})
                variants[name] = Variant(name, args, workspace, project, scratch)
            results = measure_all(args, variants)
            results["webhook_posts_received"] = receiver.count
            results["load_after"] = load_average()
            return info, results
    finally:
        for workspace in workspaces:
            workspace.stop()
        receiver.stop()


def measure_all(args, variants):
    progress = lambda text: print(f"plugin_overhead: {text}", file=sys.stderr, flush=True)  # noqa: E731
    for name, variant in variants.items():
        for i in range(args.warmup):
            progress(f"{name}: warm-up {i + 1}/{args.warmup}")
            variant.deploy(variant.config_file(f"warm{i}"), "succeeded")

    def interleaved(scenario, config_for, expect):
        samples = {name: [] for name in variants}
        for i in range(args.iterations):
            progress(f"{scenario}: {i + 1}/{args.iterations}")
            order = list(VARIANTS) if i % 2 == 0 else list(reversed(list(VARIANTS)))
            for name in order:
                samples[name].append(variants[name].deploy(config_for(name, i), expect))
        return samples

    changed = interleaved("changed", lambda name, i: variants[name].config_file(f"c{i}"), "succeeded")
    steady = {name: variant.config_file("steady") for name, variant in variants.items()}
    for name, variant in variants.items():
        variant.deploy(steady[name], "succeeded")
    unchanged = interleaved("unchanged", lambda name, i: steady[name], "no-op")
    return {"changed": changed, "unchanged": unchanged, "criterion": criterion_medians(args.criterion)}


# --- output --------------------------------------------------------------------------------------

def ms(seconds):
    return f"{seconds * 1000:.2f} ms" if seconds < 0.001 else f"{seconds * 1000:.1f} ms"


def spread(values):
    return f"{min(values) * 1000:.1f}–{max(values) * 1000:.1f} ms"


def quartiles(values):
    q = statistics.quantiles(values, n=4)
    return f"{q[0] * 1000:.1f} to {q[2] * 1000:.1f} ms"


def report(args, info, results):
    lines = []
    say = lines.append
    say(f"machine: {info['nproc']} CPUs ({info['cpu']}), {info['rustc']}, {info['date']}; "
        f"load average before {info['load_before']}, after {results['load_after']}")
    say(f"{args.iterations} measured deploys per variant and scenario after {args.warmup} warm-up deploys; "
        f"webhook POSTs received: {results['webhook_posts_received']}")
    say("")
    say("| scenario | variant | wall (median) | wall min–max | engine `duration_ms` (median) | peak RSS (median) "
        "| API calls | gate calls (host-timed sum, median) | deliveries (median sum) | strategy step calls |")
    say("|---|---|---|---|---|---|---|---|---|---|")
    for scenario in ("changed", "unchanged"):
        for name in VARIANTS:
            samples = results[scenario][name]
            walls = [s["wall_s"] for s in samples]
            say(f"| {scenario} | {name} | {ms(statistics.median(walls))} | {spread(walls)} | "
                f"{statistics.median(s['engine_ms'] for s in samples):.0f} ms | "
                f"{statistics.median(s['peak_rss_kib'] for s in samples) / 1024:.1f} MiB | "
                f"{'/'.join(sorted({str(s['api_calls']) for s in samples}))} | "
                f"{'/'.join(sorted({str(s['gate_calls']) for s in samples}))} "
                f"({statistics.median(s['gate_ms'] for s in samples):.0f} ms) | "
                f"{'/'.join(sorted({str(s['deliveries']) for s in samples}))} "
                f"({statistics.median(s['delivery_ms'] for s in samples):.0f} ms) | "
                f"{'/'.join(sorted({str(s['step_calls']) for s in samples}))} |")
    say("")
    what = {"gates": "the 3 gates", "webhook": "the webhook notifier", "plugins": "gates + notifier"}
    for scenario in ("changed", "unchanged"):
        plain = results[scenario]["plain"]
        base = statistics.median(s["wall_s"] for s in plain)
        for name in ("gates", "webhook", "plugins"):
            other = results[scenario][name]
            diffs = [b["wall_s"] - a["wall_s"] for a, b in zip(plain, other)]
            engine = [b["engine_ms"] - a["engine_ms"] for a, b in zip(plain, other)]
            say(f"- {scenario}: {what[name]} add **{ms(statistics.median(diffs))}** per deploy (median of "
                f"{len(diffs)} paired differences with plain, quartiles {quartiles(diffs)}; "
                f"{statistics.median(diffs) / base * 100:.0f}% of the plain deploy's {ms(base)}); "
                f"inside the engine (report `duration_ms`): {statistics.median(engine):.0f} ms")
    say("")
    say("Where the changed deploys' time goes (medians, from the reports' phases, whole milliseconds):")
    say("")
    say("| variant | start → plan (load, validate, plugin loading) | plan → rollout | rollout | verify + gates + record |")
    say("|---|---|---|---|---|")
    for name in VARIANTS:
        samples = results["changed"][name]
        plan = statistics.median(s["phases"]["plan"][0] for s in samples)
        rollout_at = statistics.median(s["phases"]["rollout"][0] for s in samples)
        rollout = statistics.median(s["phases"]["rollout"][1] for s in samples)
        after = statistics.median(
            s["engine_ms"] - s["phases"]["rollout"][0] - s["phases"]["rollout"][1] for s in samples)
        say(f"| {name} | {plan:.0f} ms | {rollout_at - plan:.0f} ms | {rollout:.0f} ms | {after:.0f} ms |")
    say("")
    throttled = sum(s["throttled"] for sc in ("changed", "unchanged") for v in VARIANTS for s in results[sc][v])
    say(f"- requests throttled: {throttled} (rate limits off)")
    say("")
    c = results["criterion"]
    missing = [key for key, full_id in CRITERION.items() if full_id not in c]
    if missing:
        say("bottom-up estimate: criterion numbers missing (run `cargo bench -p plugin-host --bench plugins` "
            f"first): {', '.join(CRITERION[m] for m in missing)}")
    else:
        get = lambda key: c[CRITERION[key]]  # noqa: E731
        strategy = get("startup_plain") + get("rollout")
        extensions = get("startup_plugins") - get("startup_plain") + get("gates") + get("renders")
        say("Bottom-up, from the criterion medians (`deploy-shaped` group):")
        say(f"- the strategy inside every deploy: start-up (runtime, `direct` from the disk cache, "
            f"validate-config) {ms(get('startup_plain'))} + 3 step calls {ms(get('rollout'))} = **{ms(strategy)}**")
        say(f"- gates + notifier, CPU only: extra start-up {ms(get('startup_plugins') - get('startup_plain'))} + "
            f"6 gate calls {ms(get('gates'))} + 4 renders {ms(get('renders'))} = **{ms(extensions)}** "
            f"(the rest of the measured difference is the 4 HTTP deliveries and the larger report and journal)")
    busy = [load for load in (info["load_before"], results["load_after"])
            if load != "unknown" and float(load.split()[0]) > 1.0]
    if busy:
        say("")
        say("WARNING: other work shared the CPUs (1-minute load average above 1): these numbers are "
            "noisier than on a quiet machine; run again when it is idle")
    return "\n".join(lines)


def main():
    args = parse_args()
    try:
        info, results = run(args)
    except BenchError as err:
        print(f"plugin_overhead: {err}", file=sys.stderr)
        return 1
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"machine": info, "args": {k: str(v) for k, v in vars(args).items()},
                                     "results": results}, indent=2), encoding="utf-8")
    print(report(args, info, results))
    print(f"\nevery sample: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
