#!/usr/bin/env python3
"""Blue-green rollback and a full canary on the example: wall time and API calls (issue 5).

Run with `cargo xtask bench rollouts` (builds the release binary first), or directly:
`python3 benches/rollouts.py [--rollbacks N] [--canaries N] [--run-speed X] [--pace S]`.
Standard library only.

Each scenario gets its own `brickship workspace serve --addr 127.0.0.1:0` (release binary, state
in memory, **rate limits on** as a user gets them, runs sped up with `POST /_local/config
{"run_speed": X}`, default 1000: a task the workspace runs for a minute takes 60 ms) and its own
copy of `examples/customer-360`. Every timed command is a process timed from spawn to exit
(`os.wait4`), started `--pace` seconds (default 1.1) after the previous command so the
workspace's per-second rate limits start full, as they would for a command run by hand; the
throttled requests (429) are counted anyway.

1. **Blue-green rollback within the bake window.** `brickship deploy customer-360-pipeline -e prod
   --approve --no-run` (prod's strategy is blue-green) creates the job; a second deploy with a
   changed `checkpoint_root` (`--config-file`) creates green, smoke-runs it, and swaps (blue is
   kept paused for the bake window). Then, `--rollbacks` times: `brickship rollback
   customer-360-pipeline -e prod --approve` (timed), checked to be a swap back (the job named
   `customer-360-pipeline-prod` is blue's job id again, no `-green` job left), then another
   changed blue-green deploy to roll back next time. The mutating calls of each rollback come
   from the workspace's request log (`GET /_local/requests?since=<seq>&mutating=true`), split into
   Jobs/Permissions API calls (the swap; target ≤ 3) and workspace-file writes (lock, index,
   journal record). For comparison, the same loop for a `direct` deployment to `dev`, whose
   rollback re-applies the snapshot.
2. **A full canary.** A `direct` deploy to `staging` creates the live job, which is then run 5
   times (`jobs/run-now`, waited for) as the canary's baseline. Scripted run outputs
   (`POST /_local/scripts`) make `aggregate-gold` report `rows` (1000 for a full run, 100/250/500
   for the canary's 10/25/50 % runs) and `validate-quality` a `null_rate` of 0.01, which the
   canary's metric rules check. `brickship.yaml` gets `strategies: {canary: {...}}` (steps 10,
   25, 50, 100, one run per step, 5 baseline runs, those metrics, a parameter override). Then,
   `--canaries` times: `brickship deploy customer-360-pipeline -e staging --strategy canary
   --no-run --output json` with a changed `checkpoint_root`, with `RUST_LOG=databricks=debug`
   and stdout and stderr in one file, so every API call the client logs falls between the
   `step` events of the JSON stream: that gives the API calls per strategy step (each step
   call and the actions it returned). Checked: status `succeeded`, no `-canary` job left, the
   live job has the new settings. Step durations come from the journal record's events.

Prints Markdown for BENCHMARKS.md; every sample goes to `target/bench/rollouts.json`.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.dont_write_bytecode = True
from deploy_vs_sdk import BenchError, Workspace, clean_env, load_average, machine  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PIPELINE = "customer-360-pipeline"
STEPS = [10, 25, 50, 100]

CANARY_YAML = """
# added by benches/rollouts.py
strategies:
  canary:
    steps: [10, 25, 50, 100]
    runs_per_step: 1
    baseline_runs: 5
    parameter_overrides: {target_schema: canary}
    metrics:
      - {name: "aggregate-gold:rows", scales_with_fraction: true, max_decrease: 0.2}
      - {name: "validate-quality:null_rate", max: 0.05}
"""

ANSI = re.compile(r"\x1b\[[0-9;]*m")
API_CALL = re.compile(r'databricks api call method="?([A-Z]+)"? path=(\S+) status=(\d+)')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brickship", type=Path, default=ROOT / "target/release/brickship",
                        help="the brickship binary (default: target/release/brickship)")
    parser.add_argument("--rollbacks", type=int, default=10, help="timed blue-green rollbacks")
    parser.add_argument("--direct-rollbacks", type=int, default=5, help="timed direct rollbacks (comparison)")
    parser.add_argument("--canaries", type=int, default=5, help="timed canary deploys")
    parser.add_argument("--run-speed", type=float, default=1000.0, help="the local workspace's run speed")
    parser.add_argument("--pace", type=float, default=1.1, help="seconds between commands")
    parser.add_argument("--json", type=Path, default=ROOT / "target/bench/rollouts.json",
                        help="where to write every sample")
    return parser.parse_args()


# --- processes -----------------------------------------------------------------------------------

def run_timed(argv, env, cwd, scratch, merge=False):
    """Runs `argv`: (wall seconds, peak RSS KiB, exit code, stdout, stderr or "" when merged)."""
    out_path, err_path = scratch / "stdout", scratch / "stderr"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.perf_counter()
        process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT if merge else err)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
    return (wall, usage.ru_maxrss, os.waitstatus_to_exitcode(status),
            out_path.read_text(encoding="utf-8", errors="replace"),
            err_path.read_text(encoding="utf-8", errors="replace"))


def json_events(text):
    events = []
    for line in text.splitlines():
        if not line.startswith("{"):
            continue
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


class Scenario:
    """One workspace, one project copy, and the brickship commands against them."""

    def __init__(self, args, tmp, name, extra_yaml=""):
        self.args = args
        self.project = tmp / name / "customer-360"
        shutil.copytree(ROOT / "examples/customer-360", self.project,
                        ignore=shutil.ignore_patterns(".brickship", "deployments", "monitoring"))
        if extra_yaml:
            with open(self.project / "brickship.yaml", "a", encoding="utf-8") as config:
                config.write(extra_yaml)
        self.scratch = tmp / name / "scratch"
        self.scratch.mkdir()
        self.workspace = Workspace(args.brickship, None)
        self.workspace.call("POST", "/_local/config", {"run_speed": args.run_speed})
        self.env = clean_env()
        self.env["BRICKSHIP_CACHE_DIR"] = str(ROOT / "target/bench/plugin-cache")

    def stop(self):
        self.workspace.stop()

    def config_file(self, label):
        path = self.scratch / f"deploy-{label}.yaml"
        path.write_text(f"variables:\n  checkpoint_root: /mnt/checkpoints/bench-{label}\n", encoding="utf-8")
        return path

    def command(self, args, expect="succeeded", env=None, merge=False):
        """One timed brickship command with `--output json`; its result event and the requests."""
        time.sleep(self.args.pace)
        before = self.workspace.last_seq()
        argv = [str(self.args.brickship), *args, "--project", str(self.project),
                "--host", self.workspace.url, "--output", "json"]
        wall, rss, code, stdout, stderr = run_timed(argv, env or self.env, self.project, self.scratch, merge)
        events = json_events(stdout)
        result = next((e for e in reversed(events) if e.get("event") == "result"), None)
        if code != 0 or result is None or result.get("status") != expect:
            raise BenchError(f"`brickship {' '.join(args)}` exited {code}, expected status `{expect}`\n"
                             f"--- stdout\n{stdout[-4000:]}\n--- stderr\n{stderr[-4000:]}")
        served = self.workspace.api_requests_since(before)
        report_path = next((Path(p) for p in result.get("report") or [] if p.endswith(".json")), None)
        report = json.loads(report_path.read_text(encoding="utf-8")) if report_path else {}
        return {
            "wall_s": wall, "peak_rss_kib": rss, "result": result, "report": report,
            "stdout": stdout, "served": served,
        }

    def deploy(self, environment, label):
        """`brickship deploy` of the pipeline with `checkpoint_root` following `label`."""
        return self.command(["deploy", PIPELINE, "-e", environment, "--approve", "--no-run",
                             "--config-file", str(self.config_file(f"{environment}-{label}"))])

    def job_ids(self, name):
        listing = self.workspace.call("GET", "/api/2.2/jobs/list?" + urllib.parse.urlencode({"name": name}))
        return [job["job_id"] for job in listing.get("jobs", [])]

    def live_job(self, name):
        ids = self.job_ids(name)
        if len(ids) != 1:
            raise BenchError(f"expected one job named `{name}`, found {ids}")
        return ids[0]

    def record(self, environment, deployment_id):
        path = f"/Workspace/Shared/.brickship/{PIPELINE}/{environment}/deployments/{deployment_id}.json"
        return self.workspace.call(
            "GET", "/api/2.0/workspace/export?" + urllib.parse.urlencode({"path": path, "direct_download": "true"}))


def split_mutations(served):
    """(Jobs/Permissions API mutations, workspace-file mutations, 429s) among `served`."""
    mutating = [e for e in served if e["mutating"]]
    jobs = [e for e in mutating if "/jobs/" in e["path"] or "/permissions/" in e["path"]]
    return jobs, [e for e in mutating if e not in jobs], sum(1 for e in served if e["status"] == 429)


# --- 1. rollbacks --------------------------------------------------------------------------------

def rollbacks(args, tmp, progress):
    out = {}
    for environment, count, swap in (("prod", args.rollbacks, True), ("dev", args.direct_rollbacks, False)):
        deploys, samples = [], []
        for i in range(count):
            # A fresh workspace each time: deploy, deploy a change, roll that change back.
            scenario = Scenario(args, tmp, f"rollback-{environment}-{i}")
            try:
                progress(f"{environment}: cycle {i + 1}/{count}")
                scenario.deploy(environment, "v0")
                deployed, sample = rollback_cycle(scenario, environment, "v1", swap, strict=True)
                deploys.append(deployed)
                samples.append(sample)
                if swap and i == count - 1:
                    # The same again in this workspace: the second rollback should swap back too.
                    progress(f"{environment}: second deploy and rollback in one workspace")
                    _, again = rollback_cycle(scenario, environment, "v2", swap, strict=False)
                    out["second_cycle"] = again
            finally:
                scenario.stop()
        out[environment] = {"deploys": deploys, "rollbacks": samples}
    return out


def rollback_cycle(scenario, environment, label, swap, strict):
    """Deploys a change, rolls it back (timed): (deploy summary, rollback sample)."""
    name = f"{PIPELINE}-{environment}"
    blue = scenario.live_job(name)
    deployed = summary(scenario.deploy(environment, label))
    rolled = scenario.command(["rollback", PIPELINE, "-e", environment, "--approve"])
    live = scenario.live_job(name)
    jobs, files, throttled = split_mutations(rolled["served"])
    sample = summary(rolled)
    sample.update({
        "job_mutations": [f"{e['method']} {e['path']}" for e in jobs],
        "file_mutations": len(files), "throttled": throttled,
        "actions": [a["action"]["id"] for a in rolled["report"].get("actions", [])],
        "restores": rolled["report"].get("restores"),
        "detail": next((p.get("detail") for p in rolled["report"].get("phases", []) if p["name"] == "rollout"), None),
        "swapped_back": live == blue and not scenario.job_ids(f"{name}-green"),
        "jobs_after": {job: scenario.job_ids(job) for job in (name, f"{name}-blue", f"{name}-green")},
    })
    if swap and strict:
        if not sample["swapped_back"]:
            raise BenchError(f"the rollback was not a swap back: live job {live}, blue was {blue}: {sample}")
        if len(jobs) > 3:
            raise BenchError(f"the rollback made {len(jobs)} Jobs/Permissions API mutations: {sample['job_mutations']}")
    return deployed, sample


def summary(done):
    result = done["result"]
    return {
        "wall_s": done["wall_s"], "peak_rss_kib": done["peak_rss_kib"], "status": result["status"],
        "deployment_id": result["deployment_id"], "engine_ms": result["duration_ms"],
        "api_calls": result["api_calls"], "mutating_calls": result["mutating_calls"],
        "served_calls": len(done["served"]), "served_mutating": sum(1 for e in done["served"] if e["mutating"]),
        "throttled": sum(1 for e in done["served"] if e["status"] == 429),
    }


# --- 2. canary -----------------------------------------------------------------------------------

def canaries(args, tmp, progress):
    scenario = Scenario(args, tmp, "canary", CANARY_YAML)
    try:
        name = f"{PIPELINE}-staging"
        progress("staging: first deploy (direct)")
        scenario.command(["deploy", PIPELINE, "-e", "staging", "--strategy", "direct", "--no-run",
                          "--config-file", str(scenario.config_file("v0"))])
        live = scenario.live_job(name)
        script(scenario, {"task_key": "aggregate-gold", "output": json.dumps({"rows": 1000})})
        script(scenario, {"task_key": "validate-quality", "output": json.dumps({"null_rate": 0.01})})
        for fraction, rows in (("0.1", 100), ("0.25", 250), ("0.5", 500)):
            script(scenario, {"task_key": "aggregate-gold", "parameters": {"brickship_canary_fraction": fraction},
                              "output": json.dumps({"rows": rows})})
        progress("baseline: 5 runs of the live job, one after the other")
        for _ in range(5):
            scenario.workspace.call("POST", "/api/2.2/jobs/run-now", {"job_id": live})
            wait_idle(scenario, live)
        env = dict(scenario.env)
        env["RUST_LOG"] = "databricks=debug"
        samples = []
        for i in range(args.canaries):
            progress(f"canary {i + 1}/{args.canaries}")
            label = f"canary{i + 1}"
            done = scenario.command(["deploy", PIPELINE, "-e", "staging", "--strategy", "canary", "--no-run",
                                     "--config-file", str(scenario.config_file(label))], env=env, merge=True)
            if scenario.job_ids(f"{name}-canary"):
                raise BenchError(f"canary {i + 1}: a `-canary` job is left: {scenario.job_ids(f'{name}-canary')}")
            settings = scenario.workspace.call("GET", f"/api/2.2/jobs/get?job_id={scenario.live_job(name)}")
            if f"bench-{label}/" not in json.dumps(settings):
                raise BenchError(f"canary {i + 1}: the live job does not have the new settings")
            sample = summary(done)
            sample["steps"] = per_step(done, scenario.record("staging", done["result"]["deployment_id"]))
            logged = sum(len(s["calls"]) for s in sample["steps"])
            if logged != len(done["served"]):
                raise BenchError(f"canary {i + 1}: the client logged {logged} calls, the workspace served "
                                 f"{len(done['served'])}")
            waits = [a for a in done["report"].get("actions", []) if a["action"].get("type") == "wait-run"]
            sample["wait_ms"] = sum(a["duration_ms"] for a in waits)
            sample["waited_runs_ms"] = sum(
                (a.get("outcome") or {}).get("run", {}).get("duration_ms", 0) for a in waits)
            sample["waits"] = len(waits)
            sample["analysis"] = next((p.get("detail") for p in done["report"].get("phases", [])
                                       if p["name"] == "rollout"), None)
            samples.append(sample)
        return {"live_job": live, "samples": samples}
    finally:
        scenario.stop()


def script(scenario, rule):
    rule = {"job_name": f"{PIPELINE}-staging*", **rule}
    scenario.workspace.call("POST", "/_local/scripts", rule)


def wait_idle(scenario, job_id, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        active = scenario.workspace.call("GET", f"/api/2.2/jobs/runs/list?job_id={job_id}&active_only=true")
        if not active.get("runs"):
            return
        time.sleep(0.1)
    raise BenchError(f"the baseline runs of job {job_id} did not finish within {timeout:.0f} s")


def per_step(done, record):
    """The API calls between consecutive `step` events of the merged stream, with step timings."""
    steps = [{"step": 0, "label": "before the rollout (load, validate, plan, lock, journal)", "calls": [],
              "actions": []}]
    in_rollout = True
    for raw in done["stdout"].splitlines():
        line = ANSI.sub("", raw)
        if line.startswith("{"):
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == "step":
                steps.append({"step": event["step"], "label": "", "calls": [], "actions": [],
                              "message": event.get("message", "")})
            elif event.get("event") == "action":
                steps[-1]["actions"].append(event["action"]["id"])
            elif event.get("event") == "phase" and event.get("phase") in ("verify", "record") and in_rollout:
                in_rollout = False
                steps.append({"step": None, "label": "after the rollout (verify, record, unlock)", "calls": [],
                              "actions": []})
            continue
        match = API_CALL.search(line)
        if match:
            method, path, status = match.groups()
            steps[-1]["calls"].append({"method": method, "path": path, "status": int(status)})
    at = {event["step"]: event["at_ms"] for event in record.get("events", []) if event.get("event") == "step"}
    end_ms = record.get("finished_at_ms")
    for entry in steps:
        if entry["step"]:
            entry["label"] = step_label(entry["actions"])
            nxt = at.get(entry["step"] + 1)
            entry["ms"] = (nxt if nxt is not None else end_ms or at[entry["step"]]) - at[entry["step"]]
        calls = entry["calls"]
        entry["count"] = len(calls)
        entry["job_mutations"] = sum(1 for c in calls if c["method"] != "GET" and (
            "/jobs/" in c["path"] or "/permissions/" in c["path"]))
        entry["file_writes"] = sum(1 for c in calls if c["method"] != "GET" and "/workspace" in c["path"])
        entry["reads"] = sum(1 for c in calls if c["method"] == "GET")
    return steps


def step_label(actions):
    """What a strategy step did, from its action ids."""
    if not actions:
        return "final call: succeeded"
    first = actions[0]
    match = re.match(r"s(\d+)(a\d+)?-", first)
    if match:
        k = int(match.group(1))
        return f"canary step {k}/{len(STEPS)} ({STEPS[k - 1]}%): run, wait, output, gates"
    if first.startswith("baseline-history") or first == "create-canary":
        return "baseline history, create the canary job"
    if first.startswith("baseline-output"):
        return "baseline run outputs"
    if first in ("reset-live", "promote-canary"):
        return "promotion (100%): reset live, permissions, delete the canary"
    if first.startswith("post-"):
        return "post-promotion check: run, wait, output"
    return ", ".join(actions)


# --- output --------------------------------------------------------------------------------------

def ms(seconds):
    return f"{seconds * 1000:.0f} ms"


def stats(values):
    return f"{ms(statistics.median(values))} ({ms(min(values))}–{ms(max(values))})"


def distinct(values):
    return "/".join(str(v) for v in sorted(set(values)))


def report(args, info, results):
    lines = []
    say = lines.append
    say(f"machine: {info['nproc']} CPUs ({info['cpu']}), {info['rustc']}, {info['date']}; "
        f"load average before {info['load_before']}, after {results['load_after']}; "
        f"run speed {args.run_speed:g}, {args.pace:g} s between commands")
    say("")
    say("Rollbacks (wall = process spawn to exit; median (min–max)):")
    say("")
    say("| rollback | n | wall | engine `duration_ms` | Jobs/Permissions API mutations | workspace-file writes "
        "| API calls (all) | 429s |")
    say("|---|---|---|---|---|---|---|---|")
    for environment, label in (("prod", "blue-green, within the bake window (swap back)"),
                               ("dev", "direct (re-applies the snapshot), for comparison")):
        samples = results["rollbacks"][environment]["rollbacks"]
        if not samples:
            continue
        say(f"| {label} | {len(samples)} | {stats([s['wall_s'] for s in samples])} | "
            f"{statistics.median(s['engine_ms'] for s in samples):.0f} ms | "
            f"{distinct(len(s['job_mutations']) for s in samples)} | {distinct(s['file_mutations'] for s in samples)} | "
            f"{distinct(s['served_calls'] for s in samples)} | {sum(s['throttled'] for s in samples)} |")
    for environment in ("prod", "dev"):
        samples = results["rollbacks"][environment]["rollbacks"]
        if samples:
            say(f"- {environment} rollback mutations (first run): {', '.join(samples[0]['job_mutations'])}; "
                f"actions {', '.join(samples[0]['actions'])}; {samples[0]['detail']}")
    again = results["rollbacks"].get("second_cycle")
    if again:
        say(f"- a second deploy and rollback in the same workspace (deploy, deploy, rollback, deploy, rollback): "
            f"{'swapped back' if again['swapped_back'] else '**not a swap back**'}, restored `{again['restores']}`, "
            f"{len(again['job_mutations'])} Jobs/Permissions mutations ({', '.join(again['job_mutations'])}), "
            f"{again['detail']}; jobs after: {again['jobs_after']}")
    deploys = results["rollbacks"]["prod"]["deploys"]
    if deploys:
        say(f"- for context, the blue-green deploys of a change before them (green, smoke run, swap): "
            f"{stats([s['wall_s'] for s in deploys])}, API calls {distinct(s['served_calls'] for s in deploys)}, "
            f"mutating {distinct(s['served_mutating'] for s in deploys)}")
    say("")
    samples = results["canary"]["samples"]
    if not samples:
        return "\n".join(lines)
    say(f"Canary, {len(samples)} deploys: wall {stats([s['wall_s'] for s in samples])}, engine "
        f"{statistics.median(s['engine_ms'] for s in samples):.0f} ms, API calls "
        f"{distinct(s['served_calls'] for s in samples)} (mutating {distinct(s['served_mutating'] for s in samples)}), "
        f"429s {sum(s['throttled'] for s in samples)}")
    say("")
    say("| strategy step | what | API calls | reads | Jobs API mutations | journal/lock writes | step time |")
    say("|---|---|---|---|---|---|---|")
    rows = len(samples[0]["steps"])
    for index in range(rows):
        column = [s["steps"][index] for s in samples if len(s["steps"]) == rows]
        first = column[0]
        step = "—" if not first["step"] else str(first["step"])
        time_cell = (f"{statistics.median(e['ms'] for e in column):.0f} ms "
                     f"({min(e['ms'] for e in column)}–{max(e['ms'] for e in column)})") if "ms" in first else ""
        say(f"| {step} | {first['label']} | {distinct(e['count'] for e in column)} | "
            f"{distinct(e['reads'] for e in column)} | {distinct(e['job_mutations'] for e in column)} | "
            f"{distinct(e['file_writes'] for e in column)} | {time_cell} |")
    say("")
    say(f"- waiting for runs (`wait-run` actions, {distinct(s['waits'] for s in samples)} per deploy): "
        f"{statistics.median(s['wait_ms'] for s in samples):.0f} ms of the engine's "
        f"{statistics.median(s['engine_ms'] for s in samples):.0f} ms (median); the runs themselves took "
        f"{statistics.median(s['waited_runs_ms'] for s in samples):.0f} ms of simulated time at this speed")
    say(f"- verdict of the first run: {samples[0]['analysis']}")
    busy = [load for load in (info["load_before"], results["load_after"])
            if load != "unknown" and float(load.split()[0]) > 1.0]
    if busy:
        say("")
        say("WARNING: other work shared the CPUs (1-minute load average above 1): these numbers are "
            "noisier than on a quiet machine; run again when it is idle")
    return "\n".join(lines)


def run(args):
    if not args.brickship.exists():
        raise BenchError(f"`{args.brickship}` is missing: run `cargo build --release -p brickship`")
    info = machine()
    info["load_before"] = load_average()
    progress = lambda text: print(f"rollouts: {text}", file=sys.stderr, flush=True)  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="brickship-bench-") as tmp:
        tmp = Path(tmp)
        results = {"rollbacks": rollbacks(args, tmp, progress), "canary": canaries(args, tmp, progress)}
    results["load_after"] = load_average()
    return info, results


def main():
    args = parse_args()
    try:
        info, results = run(args)
    except BenchError as err:
        print(f"rollouts: {err}", file=sys.stderr)
        return 1
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"machine": info, "args": {k: str(v) for k, v in vars(args).items()},
                                     "results": results}, indent=2), encoding="utf-8")
    print(report(args, info, results))
    print(f"\nevery sample: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
