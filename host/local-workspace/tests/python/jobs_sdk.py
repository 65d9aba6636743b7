"""Drives the local workspace's Jobs service with the official Python SDK (databricks-sdk).

Run by `tests/jobs/python_sdk.rs` against an in-process workspace at run speed 1000; needs LW_HOST
and LW_TOKEN. Each step asserts what a real workspace answers, with the SDK's own types: every enum
the server sends must parse (the SDK silently maps unknown enum strings to None), pagination
mixins must terminate, and waiters must see terminal states.
"""

import json
import os
import sys
import urllib.request
from datetime import timedelta

from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import InvalidParameterValue, NotFound, OperationFailed, ResourceDoesNotExist
from databricks.sdk.service import jobs

HOST = os.environ["LW_HOST"]
LONG = timedelta(minutes=2)


def step(message):
    print(f"step: {message}", flush=True)


def control(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(HOST + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        text = response.read()
        return json.loads(text) if text else {}


def nb(key, *deps, **extra):
    return jobs.Task(task_key=key, notebook_task=jobs.NotebookTask(notebook_path=f"/Workspace/p/{key}"),
                     depends_on=[jobs.TaskDependency(task_key=d) for d in deps] or None, **extra)


def check_states(run):
    """Both state shapes are present and every enum parsed."""
    assert run.state is not None and run.state.life_cycle_state is not None, run.state
    assert run.status is not None and run.status.state is not None, run.status
    if run.status.termination_details is not None:
        assert run.status.termination_details.code is not None, run.status
        assert run.status.termination_details.type is not None, run.status
    for task in run.tasks or []:
        assert task.state is not None and task.state.life_cycle_state is not None, task
        assert task.status is not None and task.status.state is not None, task
        if task.state.result_state is None:
            assert task.state.life_cycle_state not in (jobs.RunLifeCycleState.TERMINATED,), task.state


def main():
    w = WorkspaceClient(host=HOST, token=os.environ["LW_TOKEN"])
    control("POST", "/_local/rate-limits", {"enabled": False})

    step("a job of 150 tasks reads back whole through the get() pagination mixin")
    wide = w.jobs.create(name="sdk-wide", tasks=[nb(f"t{i:03}") for i in range(150)],
                         parameters=[jobs.JobParameterDefinition(name="env", default="dev")]).job_id
    job = w.jobs.get(wide)
    assert len(job.settings.tasks) == 150, len(job.settings.tasks)
    assert len({t.task_key for t in job.settings.tasks}) == 150
    assert [p.name for p in job.settings.parameters] == ["env"]
    assert job.settings.format == jobs.Format.MULTI_TASK
    assert job.settings.queue.enabled is True
    assert job.settings.tasks[0].run_if == jobs.RunIf.ALL_SUCCESS
    assert job.settings.tasks[0].notebook_task.source == jobs.Source.WORKSPACE

    step("list with expand_tasks fetches the whole job when has_more")
    listed = list(w.jobs.list(name="SDK-WIDE", expand_tasks=True))
    assert len(listed) == 1 and len(listed[0].settings.tasks) == 150, len(listed[0].settings.tasks)

    step("a run of the 150 tasks reads back whole through the get_run() mixin")
    run = w.jobs.run_now_and_wait(wide, job_parameters={"env": "prod"}, timeout=LONG)
    check_states(run)
    assert run.state.result_state == jobs.RunResultState.SUCCESS, run.state
    assert len(run.tasks) == 150, len(run.tasks)
    assert len({t.run_id for t in run.tasks}) == 150
    assert run.job_parameters[0].name == "env" and run.job_parameters[0].value == "prod", run.job_parameters
    assert run.run_type == jobs.RunType.JOB_RUN and run.trigger == jobs.TriggerType.ONE_TIME
    assert run.status.termination_details.code == jobs.TerminationCodeCode.SUCCESS
    assert run.status.termination_details.type == jobs.TerminationTypeType.SUCCESS

    step("a failing task makes run_now_and_wait raise, as against a real workspace")
    failing = w.jobs.create(name="sdk-failing", tasks=[nb("ingest", max_retries=1), nb("silver", "ingest")]).job_id
    control("POST", "/_local/scripts", {"job_id": failing, "task_key": "ingest", "outcomes": ["FAILED"],
                                        "error": "AnalysisException: table not found"})
    try:
        w.jobs.run_now_and_wait(failing, timeout=LONG)
        raise AssertionError("a failed run must raise OperationFailed")
    except OperationFailed as err:
        assert "Task ingest failed with message" in str(err), err
    run = next(iter(w.jobs.list_runs(job_id=failing)))
    run = w.jobs.get_run(run.run_id)
    check_states(run)
    assert run.state.life_cycle_state == jobs.RunLifeCycleState.INTERNAL_ERROR
    assert run.state.result_state == jobs.RunResultState.FAILED
    assert run.status.state == jobs.RunLifecycleStateV2State.TERMINATED
    assert run.status.termination_details.code == jobs.TerminationCodeCode.RUN_EXECUTION_ERROR
    attempts = [t for t in run.tasks if t.task_key == "ingest"]
    assert [t.attempt_number for t in attempts] == [0, 1], attempts
    silver = next(t for t in run.tasks if t.task_key == "silver")
    assert silver.state.result_state == jobs.RunResultState.UPSTREAM_FAILED, silver.state
    output = w.jobs.get_run_output(attempts[-1].run_id)
    assert output.error == "AnalysisException: table not found", output.error
    assert output.metadata.state.result_state == jobs.RunResultState.FAILED
    try:
        w.jobs.get_run_output(run.run_id)
        raise AssertionError("get-output of a multi-task run must be refused")
    except InvalidParameterValue as err:
        assert "multiple tasks" in str(err), err

    step("queued runs parse and start when the first is cancelled")
    queued_job = w.jobs.create(name="sdk-queue", tasks=[nb("a")]).job_id
    control("POST", "/_local/scripts", {"job_id": queued_job, "outcomes": ["HANG"], "remaining": 1})
    first = w.jobs.run_now(queued_job).run_id
    second = w.jobs.run_now(queued_job).run_id
    queued = w.jobs.get_run(second)
    check_states(queued)
    assert queued.state.life_cycle_state == jobs.RunLifeCycleState.QUEUED, queued.state
    assert queued.status.state == jobs.RunLifecycleStateV2State.QUEUED
    assert queued.status.queue_details.code == jobs.QueueDetailsCodeCode.MAX_CONCURRENT_RUNS_REACHED
    cancelled = w.jobs.cancel_run_and_wait(first, timeout=LONG)
    assert cancelled.state.result_state == jobs.RunResultState.CANCELED
    assert cancelled.status.termination_details.code == jobs.TerminationCodeCode.USER_CANCELED
    done = w.jobs.wait_get_run_job_terminated_or_skipped(second, timeout=LONG)
    assert done.state.result_state == jobs.RunResultState.SUCCESS, done.state

    step("a run over the limit without queueing is SKIPPED and the waiter returns it")
    no_queue = w.jobs.create(name="sdk-skip", tasks=[nb("a")], queue=jobs.QueueSettings(enabled=False)).job_id
    control("POST", "/_local/scripts", {"job_id": no_queue, "outcomes": ["HANG"], "remaining": 1})
    hanging = w.jobs.run_now(no_queue).run_id
    skipped = w.jobs.run_now_and_wait(no_queue, timeout=LONG)
    assert skipped.state.life_cycle_state == jobs.RunLifeCycleState.SKIPPED, skipped.state
    assert skipped.state.result_state == jobs.RunResultState.MAXIMUM_CONCURRENT_RUNS_REACHED
    assert skipped.status.termination_details.code == jobs.TerminationCodeCode.MAX_CONCURRENT_RUNS_EXCEEDED
    w.jobs.cancel_all_runs(job_id=no_queue)
    assert w.jobs.wait_get_run_job_terminated_or_skipped(hanging, timeout=LONG).state.result_state == jobs.RunResultState.CANCELED

    step("one-time runs with submit_and_wait, idempotently")
    submitted = w.jobs.submit_and_wait(run_name="sdk-once", tasks=[jobs.SubmitTask(
        task_key="py", spark_python_task=jobs.SparkPythonTask(python_file="/Workspace/x.py"))],
        idempotency_token="sdk-once-1", timeout=LONG)
    assert submitted.run_type == jobs.RunType.SUBMIT_RUN and submitted.state.result_state == jobs.RunResultState.SUCCESS
    again = w.jobs.submit(run_name="sdk-once", tasks=[jobs.SubmitTask(
        task_key="py", spark_python_task=jobs.SparkPythonTask(python_file="/Workspace/x.py"))],
        idempotency_token="sdk-once-1").run_id
    assert again == submitted.run_id
    logs = w.jobs.get_run_output(submitted.tasks[0].run_id)
    assert logs.logs is not None and logs.logs_truncated is False, logs

    step("list_runs pages newest first, filters and deletes")
    runs = list(w.jobs.list_runs(job_id=wide, limit=1)) + list(w.jobs.list_runs(job_id=failing, limit=1))
    assert len(runs) == 2
    all_runs = list(w.jobs.list_runs(limit=2))
    ids = [r.run_id for r in all_runs]
    assert ids == sorted(ids, reverse=True) and len(ids) == len(set(ids)) >= 6, ids
    assert list(w.jobs.list_runs(active_only=True)) == []
    w.jobs.delete_run(submitted.run_id)
    try:
        w.jobs.get_run(submitted.run_id)
        raise AssertionError("a deleted run must not be found")
    except ResourceDoesNotExist as err:
        assert f"Run {submitted.run_id} does not exist." in str(err), err

    step("permissions through the SDK")
    perms = w.jobs.get_permissions(str(wide))
    owners = [a for a in perms.access_control_list for p in a.all_permissions
              if p.permission_level == jobs.JobPermissionLevel.IS_OWNER]
    assert len(owners) == 1 and owners[0].user_name, perms
    admins = next(a for a in perms.access_control_list if a.group_name == "admins")
    assert admins.all_permissions[0].inherited and admins.all_permissions[0].inherited_from_object == ["/jobs/"]
    updated = w.jobs.update_permissions(str(wide), access_control_list=[
        jobs.JobAccessControlRequest(group_name="analysts", permission_level=jobs.JobPermissionLevel.CAN_VIEW)])
    assert any(a.group_name == "analysts" for a in updated.access_control_list)
    try:
        w.jobs.set_permissions(str(wide), access_control_list=[
            jobs.JobAccessControlRequest(group_name="analysts", permission_level=jobs.JobPermissionLevel.IS_OWNER)])
        raise AssertionError("a group cannot own a job")
    except InvalidParameterValue:
        pass

    step("errors map to the SDK's exception classes")
    for job_id in (wide, failing, queued_job, no_queue):
        w.jobs.delete(job_id)
    try:
        w.jobs.get(wide)
        raise AssertionError("deleted")
    except ResourceDoesNotExist as err:
        assert f"Job {wide} does not exist." in str(err)
    try:
        w.jobs.get_permissions(str(wide))
        raise AssertionError("deleted")
    except NotFound:
        pass
    print("jobs sdk compatibility: all steps passed")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as err:
        print(f"FAILED: {err!r}", file=sys.stderr)
        raise
