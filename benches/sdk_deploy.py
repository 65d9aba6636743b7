#!/usr/bin/env python3
"""The seed's direct deploy, written with the official Databricks SDK (`databricks-sdk`).

This is the baseline `benches/deploy_vs_sdk.py` times against `brickship deploy`. It makes the
calls of the seed's `_deploy_direct` (shared/seed/deploy-workflow.md) and nothing else:

1. find the job by name -- with the server-side filter `jobs.list(name=...)`, not the seed's
   `jobs.list()` over every job in the workspace, so the comparison does not punish the SDK for
   the seed's bug;
2. if it exists: list its active runs and cancel them (`_stop_active_runs`), then `jobs.reset`
   with the new settings (always, changed or not, as the seed does);
3. else `jobs.create` with the settings and the access control list;
4. `jobs.run_now` when the job has no schedule, unless `--no-run`.

No validation, lock, journal, code sync, permissions update, verification or report: the seed's
`_deploy_direct` does none of them.

Usage: sdk_deploy.py SETTINGS_JSON [--no-run]
The workspace comes from DATABRICKS_HOST and DATABRICKS_TOKEN, like the seed's
`WorkspaceClient(host=..., token=...)`. SETTINGS_JSON holds the job settings in the Jobs API
shape, optionally with `access_control_list`. Prints one JSON line: the action taken, the job id,
and how long the imports and the API calls took inside the process.
"""

import time

_START = time.perf_counter()

import argparse  # noqa: E402
import inspect  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402

from databricks.sdk import WorkspaceClient  # noqa: E402
from databricks.sdk.service.jobs import JobAccessControlRequest, JobSettings  # noqa: E402

_IMPORTED = time.perf_counter()


def find_job_by_name(client, name):
    """The seed's `_find_job_by_name`, with the server-side name filter."""
    for job in client.jobs.list(name=name):
        if job.settings is not None and job.settings.name == name:
            return job
    return None


def stop_active_runs(client, job_id):
    """The seed's `_stop_active_runs`."""
    for run in client.jobs.list_runs(job_id=job_id, active_only=True):
        client.jobs.cancel_run(run_id=run.run_id)


def deploy_direct(client, config, run):
    """The seed's `_deploy_direct`."""
    settings = dict(config)
    acl = settings.pop("access_control_list", None)
    job_settings = JobSettings.from_dict(settings)
    existing = find_job_by_name(client, job_settings.name)
    if existing is not None:
        stop_active_runs(client, existing.job_id)
        client.jobs.reset(job_id=existing.job_id, new_settings=job_settings)
        job_id, action = existing.job_id, "updated"
    else:
        # `jobs.create` takes the settings as typed keyword arguments.
        accepted = inspect.signature(client.jobs.create).parameters
        kwargs = {
            name: getattr(job_settings, name)
            for name in accepted
            if getattr(job_settings, name, None) is not None
        }
        if acl:
            kwargs["access_control_list"] = [JobAccessControlRequest.from_dict(entry) for entry in acl]
        job_id, action = client.jobs.create(**kwargs).job_id, "created"
    run_id = None
    if run and not settings.get("schedule"):
        run_id = client.jobs.run_now(job_id=job_id).run_id
    return {"action": action, "job_id": job_id, "run_id": run_id}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("settings", help="job settings JSON file (Jobs API shape)")
    parser.add_argument("--no-run", action="store_true", help="never trigger a run")
    args = parser.parse_args()
    with open(args.settings, encoding="utf-8") as handle:
        config = json.load(handle)
    client = WorkspaceClient(host=os.environ["DATABRICKS_HOST"], token=os.environ["DATABRICKS_TOKEN"])
    calls_start = time.perf_counter()
    result = deploy_direct(client, config, run=not args.no_run)
    done = time.perf_counter()
    result["import_ms"] = round((_IMPORTED - _START) * 1000, 2)
    result["client_ms"] = round((calls_start - _IMPORTED) * 1000, 2)
    result["calls_ms"] = round((done - calls_start) * 1000, 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
