"""Drives the local workspace's periphery with the official Databricks Python SDK (databricks-sdk).

Run by the periphery test `python_sdk::official_sdk_uses_the_periphery` against an in-process
workspace started with token LW_TOKEN and OAuth client LW_CLIENT_ID/LW_CLIENT_SECRET at LW_HOST.
Covers what the Jobs compatibility script does not: host metadata, SCIM Me and the workspace id,
cluster catalogs and the SDK's selectors, workspace upload/download/list/export/delete, secrets,
the numeric 403 for a bad token, OAuth M2M with token refresh, and retries of injected 429/503.
Every step asserts; the first failure exits non-zero naming the step.
"""

import base64
import json
import os
import sys
import urllib.request

from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound, PermissionDenied, ResourceAlreadyExists, ResourceDoesNotExist
from databricks.sdk.service.workspace import ExportFormat, ImportFormat, Language, ObjectType

HOST = os.environ["LW_HOST"]
TOKEN = os.environ["LW_TOKEN"]
CLIENT_ID = os.environ["LW_CLIENT_ID"]
CLIENT_SECRET = os.environ["LW_CLIENT_SECRET"]
WORKSPACE_ID = int(os.environ["LW_WORKSPACE_ID"])


def step(message):
    print(f"step: {message}", flush=True)


def control(method, path, body=None):
    """Calls the local workspace's test control plane (/_local/), which no SDK knows."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(HOST + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        text = response.read()
        return json.loads(text) if text else {}


def requests_since(seq, path_suffix):
    log = control("GET", f"/_local/requests?since={seq}")
    return [r for r in log["requests"] if r["path"].endswith(path_suffix)]


def last_seq():
    return control("GET", "/_local/requests?since=18446744073709551615")["last_seq"]


def main():
    w = WorkspaceClient(host=HOST, token=TOKEN, auth_type="pat")

    step("host metadata gives the workspace id; SCIM Me names the user")
    assert int(w.config.workspace_id) == WORKSPACE_ID, w.config.workspace_id
    assert w.get_workspace_id() == WORKSPACE_ID
    me = w.current_user.me()
    assert me.user_name == "sdk@example.com", me
    assert me.active and me.emails[0].value == me.user_name
    assert any(g.display == "admins" for g in me.groups)

    step("cluster catalogs and the SDK's selectors")
    node_types = {n.node_type_id: n for n in w.clusters.list_node_types().node_types}
    assert node_types["i3.xlarge"].memory_mb == 31232 and node_types["i3.xlarge"].num_cores == 4.0
    chosen = w.clusters.select_node_type(local_disk=True, min_memory_gb=16)
    assert chosen in node_types and node_types[chosen].memory_mb >= 16 * 1024, chosen
    keys = {v.key for v in w.clusters.spark_versions().versions}
    assert {"13.3.x-scala2.12", "15.4.x-scala2.12", "15.4.x-photon-scala2.12"} <= keys
    assert w.clusters.select_spark_version(long_term_support=True) == "16.4.x-scala2.12"

    step("workspace: mkdirs, upload (multipart), download, status, list")
    w.workspace.mkdirs("/Workspace/Shared/sdk/nested")
    w.workspace.upload("/Workspace/Shared/sdk/lib.py", b"x = 1\n", format=ImportFormat.AUTO)
    assert w.workspace.download("/Shared/sdk/lib.py").read() == b"x = 1\n"
    status = w.workspace.get_status("/Workspace/Shared/sdk/lib.py")
    assert status.object_type == ObjectType.FILE and status.path == "/Shared/sdk/lib.py", status
    w.workspace.upload("/Shared/sdk/etl.py", b"# Databricks notebook source\nprint(1)\n", format=ImportFormat.AUTO)
    assert w.workspace.get_status("/Shared/sdk/etl").object_type == ObjectType.NOTEBOOK
    w.workspace.upload("/Shared/sdk/query", b"select 1", format=ImportFormat.SOURCE, language=Language.SQL)
    exported = w.workspace.export("/Shared/sdk/query", format=ExportFormat.SOURCE)
    assert base64.b64decode(exported.content).startswith(b"-- Databricks notebook source"), exported
    listed = sorted(o.path for o in w.workspace.list("/Shared/sdk"))
    assert listed == ["/Shared/sdk/etl", "/Shared/sdk/lib.py", "/Shared/sdk/nested", "/Shared/sdk/query"], listed
    everything = sorted(o.path for o in w.workspace.list("/Shared", recursive=True))
    assert "/Shared/sdk/lib.py" in everything

    step("workspace: create-if-absent conflict, overwrite, missing paths, delete")
    try:
        w.workspace.upload("/Shared/sdk/lib.py", b"x = 2\n", format=ImportFormat.AUTO)
        raise AssertionError("an upload onto an existing path without overwrite must be refused")
    except ResourceAlreadyExists as err:
        assert "already exists" in str(err), err
    w.workspace.upload("/Shared/sdk/lib.py", b"x = 3\n", format=ImportFormat.AUTO, overwrite=True)
    assert w.workspace.download("/Shared/sdk/lib.py").read() == b"x = 3\n"
    try:
        w.workspace.get_status("/Shared/sdk/missing")
        raise AssertionError("a missing path must not be found")
    except ResourceDoesNotExist as err:
        assert "doesn't exist" in str(err), err
    w.workspace.delete("/Workspace/Shared/sdk", recursive=True)
    try:
        w.workspace.get_status("/Shared/sdk")
        raise AssertionError("a deleted folder must be gone")
    except NotFound:
        pass

    step("secrets: seed, list without values, missing scope")
    w.secrets.create_scope("sdk-scope")
    w.secrets.put_secret("sdk-scope", "password", string_value="hunter2")
    assert [s.key for s in w.secrets.list_secrets("sdk-scope")] == ["password"]
    assert "sdk-scope" in [s.name for s in w.secrets.list_scopes()]
    try:
        list(w.secrets.list_secrets("no-such-scope"))
        raise AssertionError("a missing scope must not be found")
    except NotFound as err:
        assert "does not exist" in str(err), err
    w.secrets.delete_secret("sdk-scope", "password")
    w.secrets.delete_scope("sdk-scope")

    step("the SDK retries injected 429 and 503 (Retry-After) and the faulted calls had no effect")
    control("POST", "/_local/faults", {"endpoint": "POST workspace/mkdirs", "kind": "503", "count": 1, "retry_after_s": 0})
    control("POST", "/_local/faults", {"endpoint": "GET workspace/get-status", "kind": "429", "count": 1, "retry_after_s": 0})
    seq = last_seq()
    w.workspace.mkdirs("/Shared/retried")
    assert w.workspace.get_status("/Shared/retried").object_type == ObjectType.DIRECTORY
    mkdirs = requests_since(seq, "/workspace/mkdirs")
    assert [r["status"] for r in mkdirs] == [503, 200], mkdirs
    statuses = requests_since(seq, "/workspace/get-status")
    assert [r["status"] for r in statuses] == [429, 200], statuses
    control("DELETE", "/_local/faults")

    step("a wrong token gets the numeric 403 as PermissionDenied")
    bad = WorkspaceClient(host=HOST, token="dapi-wrong", auth_type="pat")
    try:
        bad.current_user.me()
        raise AssertionError("a wrong token must be refused")
    except PermissionDenied as err:
        assert "Invalid access token" in str(err), err

    step("OAuth M2M: discovery through host metadata, token, refresh")
    control("POST", "/_local/oauth", {"token_ttl_s": 30})
    seq = last_seq()
    m2m = WorkspaceClient(host=HOST, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, auth_type="oauth-m2m")
    for _ in range(3):
        assert m2m.current_user.me().user_name == me.user_name
    tokens = requests_since(seq, "/oidc/v1/token")
    # A 30 s token is within the SDK's 40 s expiry margin, so every call fetches a new one.
    assert len(tokens) >= 3 and all(t["status"] == 200 for t in tokens), tokens
    wrong = WorkspaceClient(host=HOST, client_id=CLIENT_ID, client_secret="wrong", auth_type="oauth-m2m")
    try:
        wrong.current_user.me()
        raise AssertionError("wrong client credentials must be refused")
    except Exception as err:  # the SDK raises ValueError("invalid_client: ...") from the token source
        assert "invalid_client" in str(err), repr(err)
    control("POST", "/_local/oauth", {"token_ttl_s": 3600})

    print("periphery sdk compatibility: all steps passed")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as err:
        print(f"FAILED: {err!r}", file=sys.stderr)
        raise
