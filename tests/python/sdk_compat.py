"""Drives a local workspace with the official Databricks Python SDK (databricks-sdk from PyPI).

Run by the end-to-end test `sdk_compat` against `brickship workspace serve`; needs DATABRICKS_HOST
and DATABRICKS_TOKEN in the environment. Every step asserts what a real workspace answers; the
first failed assertion ends the script with a non-zero exit and a message naming the step.
"""

import json
import os
import sys
import urllib.request
from datetime import timedelta

from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound, ResourceDoesNotExist, InvalidParameterValue
from databricks.sdk.service import jobs, iam

HOST = os.environ["DATABRICKS_HOST"]
NAME = "customer-360-pipeline-sdk-compat"


def step(message):
    print(f"step: {message}", flush=True)


def control(method, path, body=None):
    """Calls the local workspace's test control plane (/_local/), which no SDK knows."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(HOST + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        text = response.read()
        return json.loads(text) if text else {}


def customer_360(name):
    """The seed's customer-360 job (shared/seed/deploy-workflow.md), as JobSettings."""
    return jobs.JobSettings.from_dict({
        "name": name,
        "job_clusters": [
            {"job_cluster_key": "bronze-cluster", "new_cluster": {
                "spark_version": "13.3.x-scala2.12", "node_type_id": "i3.xlarge", "num_workers": 4,
                "autoscale": {"min_workers": 2, "max_workers": 8},
                "spark_conf": {"spark.databricks.delta.preview.enabled": "true"},
                "aws_attributes": {"availability": "SPOT_WITH_FALLBACK", "zone_id": "auto", "spot_bid_price_percent": 100},
                "custom_tags": {"Environment": "production", "Pipeline": "customer-360"}}},
            {"job_cluster_key": "silver-cluster", "new_cluster": {
                "spark_version": "13.3.x-scala2.12", "node_type_id": "i3.2xlarge", "num_workers": 8,
                "autoscale": {"min_workers": 4, "max_workers": 16}, "runtime_engine": "PHOTON"}},
        ],
        "tasks": [
            {"task_key": "ingest-bronze", "job_cluster_key": "bronze-cluster",
             "notebook_task": {"notebook_path": "/Workspace/pipelines/customer-360/bronze",
                               "base_parameters": {"target_catalog": "prod", "target_schema": "bronze"}},
             "libraries": [{"pypi": {"package": "great-expectations==0.18.0"}}],
             "timeout_seconds": 3600, "max_retries": 2, "min_retry_interval_millis": 300000, "retry_on_timeout": True},
            {"task_key": "process-silver", "depends_on": [{"task_key": "ingest-bronze"}], "job_cluster_key": "silver-cluster",
             "notebook_task": {"notebook_path": "/Workspace/pipelines/customer-360/silver"}, "timeout_seconds": 5400, "max_retries": 2},
            {"task_key": "aggregate-gold", "depends_on": [{"task_key": "process-silver"}], "job_cluster_key": "silver-cluster",
             "notebook_task": {"notebook_path": "/Workspace/pipelines/customer-360/gold"}, "timeout_seconds": 3600},
            {"task_key": "validate-quality", "depends_on": [{"task_key": "aggregate-gold"}], "job_cluster_key": "silver-cluster",
             "notebook_task": {"notebook_path": "/Workspace/pipelines/customer-360/quality-checks"}, "timeout_seconds": 1800},
            {"task_key": "send-notification", "depends_on": [{"task_key": "validate-quality"}],
             "python_wheel_task": {"package_name": "notifications", "entry_point": "send_completion_notification",
                                   "parameters": ["customer-360-pipeline", "prod"]},
             "libraries": [{"whl": "/Workspace/libs/notifications-1.0.0-py3-none-any.whl"}]},
        ],
        "schedule": {"quartz_cron_expression": "0 0 2 * * ?", "timezone_id": "UTC", "pause_status": "UNPAUSED"},
        "email_notifications": {"on_start": ["data-engineering@company.com"], "on_failure": ["data-platform-oncall@company.com"],
                                "no_alert_for_skipped_runs": False},
        "webhook_notifications": {"on_failure": [{"id": "pagerduty-webhook"}]},
        "timeout_seconds": 14400,
        "max_concurrent_runs": 1,
        "tags": {"environment": "production", "pipeline": "customer-360", "sla": "critical"},
    })


def create(w, settings, acl=None):
    fields = {f: getattr(settings, f) for f in settings.__dataclass_fields__ if getattr(settings, f) is not None}
    return w.jobs.create(access_control_list=acl, **fields).job_id


def main():
    w = WorkspaceClient(host=HOST, token=os.environ["DATABRICKS_TOKEN"])
    control("POST", "/_local/rate-limits", {"enabled": True})

    step("current user (SCIM Me)")
    me = w.current_user.me()
    assert me.user_name, me

    step("create the customer-360 job with an ACL")
    acl = [
        jobs.JobAccessControlRequest(user_name=me.user_name, permission_level=jobs.JobPermissionLevel.IS_OWNER),
        jobs.JobAccessControlRequest(group_name="data-analysts", permission_level=jobs.JobPermissionLevel.CAN_VIEW),
    ]
    job_id = create(w, customer_360(NAME), acl)
    assert isinstance(job_id, int) and job_id > 0, job_id

    step("get returns the settings with the server defaults")
    job = w.jobs.get(job_id)
    assert job.job_id == job_id
    assert job.settings.name == NAME
    assert [t.task_key for t in job.settings.tasks] == ["ingest-bronze", "process-silver", "aggregate-gold", "validate-quality", "send-notification"]
    assert job.settings.format == jobs.Format.MULTI_TASK, job.settings.format
    assert job.settings.max_concurrent_runs == 1
    assert job.settings.schedule.quartz_cron_expression == "0 0 2 * * ?"
    assert job.settings.schedule.pause_status == jobs.PauseStatus.UNPAUSED
    assert job.settings.tasks[0].run_if == jobs.RunIf.ALL_SUCCESS, job.settings.tasks[0].run_if
    assert job.settings.queue is not None and job.settings.queue.enabled
    assert job.settings.tags["sla"] == "critical"
    assert job.creator_user_name == me.user_name

    step("list by name is exact and case-insensitive")
    found = list(w.jobs.list(name=NAME.upper()))
    assert [j.job_id for j in found] == [job_id], found
    assert list(w.jobs.list(name=NAME + "-nope")) == []

    step("create 105 more jobs (the SDK retries any 429 the workspace's rate limit sends)")
    extra = [create(w, jobs.JobSettings(name=f"sdk-compat-bulk-{i:03d}", tasks=[jobs.Task(
        task_key="main", notebook_task=jobs.NotebookTask(notebook_path="/Shared/bulk"))])) for i in range(105)]
    assert len(set(extra)) == 105

    step("list pages through more than 100 jobs without duplicates")
    ids = [j.job_id for j in w.jobs.list(limit=25)]
    assert len(ids) == len(set(ids)), "duplicate jobs across pages"
    assert set(extra) | {job_id} <= set(ids), "jobs missing from the paginated list"
    expanded = [j for j in w.jobs.list(expand_tasks=True, name=NAME)]
    assert len(expanded[0].settings.tasks) == 5

    step("reset replaces the settings")
    settings = customer_360(NAME)
    settings.timeout_seconds = 7200
    settings.tags["sla"] = "high"
    w.jobs.reset(job_id, settings)
    job = w.jobs.get(job_id)
    assert job.settings.timeout_seconds == 7200 and job.settings.tags["sla"] == "high"

    step("update merges tasks by key and honours fields_to_remove")
    w.jobs.update(job_id, new_settings=jobs.JobSettings(tasks=[jobs.Task(
        task_key="aggregate-gold", depends_on=[jobs.TaskDependency(task_key="process-silver")], job_cluster_key="silver-cluster",
        notebook_task=jobs.NotebookTask(notebook_path="/Workspace/pipelines/customer-360/gold-v2"))]),
        fields_to_remove=["schedule", "tasks/send-notification"])
    job = w.jobs.get(job_id)
    assert job.settings.schedule is None
    keys = [t.task_key for t in job.settings.tasks]
    assert "send-notification" not in keys and len(keys) == 4, keys
    gold = next(t for t in job.settings.tasks if t.task_key == "aggregate-gold")
    assert gold.notebook_task.notebook_path.endswith("gold-v2")
    assert job.settings.timeout_seconds == 7200, "update must keep fields it was not given"

    step("permissions: one owner, inherited admins, set and update")
    perms = w.jobs.get_permissions(str(job_id))
    owners = [a for a in perms.access_control_list for p in a.all_permissions if p.permission_level == jobs.JobPermissionLevel.IS_OWNER]
    assert len(owners) == 1 and owners[0].user_name == me.user_name, perms
    admins = [a for a in perms.access_control_list if a.group_name == "admins"]
    assert admins and admins[0].all_permissions[0].inherited
    w.jobs.set_permissions(str(job_id), access_control_list=[
        jobs.JobAccessControlRequest(user_name=me.user_name, permission_level=jobs.JobPermissionLevel.IS_OWNER),
        jobs.JobAccessControlRequest(group_name="data-engineering", permission_level=jobs.JobPermissionLevel.CAN_MANAGE_RUN)])
    w.jobs.update_permissions(str(job_id), access_control_list=[
        jobs.JobAccessControlRequest(group_name="data-analysts", permission_level=jobs.JobPermissionLevel.CAN_VIEW)])
    perms = w.jobs.get_permissions(str(job_id))
    groups = {a.group_name: a.all_permissions[0].permission_level for a in perms.access_control_list if a.group_name}
    assert groups.get("data-engineering") == jobs.JobPermissionLevel.CAN_MANAGE_RUN, groups
    assert groups.get("data-analysts") == jobs.JobPermissionLevel.CAN_VIEW, groups
    levels = w.jobs.get_permission_levels(str(job_id))
    assert {l.permission_level for l in levels.permission_levels} >= {jobs.JobPermissionLevel.CAN_VIEW, jobs.JobPermissionLevel.IS_OWNER}
    try:
        w.jobs.set_permissions(str(job_id), access_control_list=[
            jobs.JobAccessControlRequest(group_name="data-analysts", permission_level=jobs.JobPermissionLevel.CAN_VIEW)])
        raise AssertionError("a permissions PUT without an owner must be refused")
    except InvalidParameterValue as err:
        assert "exactly one owner" in str(err), err

    step("run-now and wait to a terminal state")
    run = w.jobs.run_now_and_wait(job_id, timeout=timedelta(minutes=2))
    assert run.state.life_cycle_state == jobs.RunLifeCycleState.TERMINATED, run.state
    assert run.state.result_state == jobs.RunResultState.SUCCESS, run.state
    assert run.status.state == jobs.RunLifecycleStateV2State.TERMINATED, run.status
    assert len(run.tasks) == 4 and all(t.state.result_state == jobs.RunResultState.SUCCESS for t in run.tasks)
    assert run.run_page_url

    step("runs/get-output of a task run")
    output = w.jobs.get_run_output(run.tasks[0].run_id)
    assert output.metadata.run_id == run.tasks[0].run_id

    step("list runs, newest first")
    runs = list(w.jobs.list_runs(job_id=job_id))
    assert runs and runs[0].run_id == run.run_id, [r.run_id for r in runs]
    assert list(w.jobs.list_runs(job_id=job_id, active_only=True)) == []

    step("cancel a running run")
    control("POST", "/_local/scripts", {"job_id": job_id, "outcomes": ["HANG"]})
    waiter = w.jobs.run_now(job_id)
    active = list(w.jobs.list_runs(job_id=job_id, active_only=True))
    assert [r.run_id for r in active] == [waiter.run_id], active
    cancelled = w.jobs.cancel_run_and_wait(waiter.run_id, timeout=timedelta(minutes=2))
    assert cancelled.state.result_state == jobs.RunResultState.CANCELED, cancelled.state
    control("DELETE", "/_local/scripts")

    step("delete the job; not found raises the SDK's own exception")
    w.jobs.delete(job_id)
    try:
        w.jobs.get(job_id)
        raise AssertionError("a deleted job must not be found")
    except ResourceDoesNotExist as err:
        assert f"Job {job_id} does not exist" in str(err), err
    try:
        w.jobs.get_run(999999999)
        raise AssertionError("an unknown run must not be found")
    except NotFound:
        pass
    for extra_id in extra:
        w.jobs.delete(extra_id)
    print("sdk compatibility: all steps passed")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as err:
        print(f"FAILED: {err!r}", file=sys.stderr)
        raise
