"""The data-contract rule, in plain Python (no WebAssembly imports), so it is unit-testable.

Every notebook task must pass the catalog it writes to as a parameter (``target_catalog`` by
default, or the first of several accepted names), and it must be the catalog of the
environment being deployed: a dev deploy writing to the prod catalog, or a task that forgot the
parameter and falls back to a default, breaks the data contract.
"""

import json

DEFAULT_PARAMETER = "target_catalog"


class ConfigError(Exception):
    """A configuration problem: ``path`` is a JSON pointer into the configuration."""

    def __init__(self, path, message):
        super().__init__(message)
        self.path = path
        self.message = message


def parse_config(text):
    """Parse and check the configuration (JSON text). Returns a dict with defaults applied.

    ``{"parameter": "target_catalog", "catalogs": {"prod": "main"}, "task_types": ["notebook_task"]}``:
    ``parameter`` is a name or a list of accepted names (the first one a task passes counts);
    ``catalogs`` maps an environment to its catalog (default: the environment's own name).
    """
    try:
        config = json.loads(text or "{}")
    except ValueError as e:
        raise ConfigError("", f"the configuration is not JSON: {e}")
    if not isinstance(config, dict):
        raise ConfigError("", "the configuration must be a JSON object")
    unknown = sorted(set(config) - {"parameter", "catalogs", "task_types"})
    if unknown:
        raise ConfigError(f"/{unknown[0]}", f"unknown field `{unknown[0]}`; known: parameter, catalogs, task_types")
    parameter = config.get("parameter", DEFAULT_PARAMETER)
    names = [parameter] if isinstance(parameter, str) else parameter
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        raise ConfigError("/parameter", "must be a parameter name or a non-empty list of names")
    catalogs = config.get("catalogs", {})
    if not isinstance(catalogs, dict):
        raise ConfigError("/catalogs", "must map environment names to catalog names")
    for env, catalog in catalogs.items():
        if not isinstance(catalog, str) or not catalog:
            raise ConfigError(f"/catalogs/{env}", "must be a non-empty catalog name")
    task_types = config.get("task_types", ["notebook_task"])
    if not isinstance(task_types, list) or not all(isinstance(t, str) for t in task_types):
        raise ConfigError("/task_types", "must be a list of task types such as notebook_task")
    return {"parameters": names, "catalogs": catalogs, "task_types": task_types}


def _parameters(task, task_type):
    body = task.get(task_type) or {}
    if task_type == "notebook_task":
        return body.get("base_parameters") or {}, "base_parameters"
    # spark_python_task, python_wheel_task ...: named parameters only
    return body.get("named_parameters") or {}, "named_parameters"


def check(settings, environment, config):
    """The findings for JobSettings ``settings`` deployed to ``environment``.

    Each finding is ``(code, message, json_pointer)``; any finding fails the gate.
    """
    expected = config["catalogs"].get(environment, environment)
    names = config["parameters"]
    findings = []
    checked = 0
    for i, task in enumerate(settings.get("tasks") or []):
        key = task.get("task_key", f"#{i}")
        for task_type in config["task_types"]:
            if task_type not in task:
                continue
            checked += 1
            params, field = _parameters(task, task_type)
            where = f"/tasks/{i}/{task_type}/{field}"
            parameter = next((n for n in names if n in params), None)
            if parameter is None:
                findings.append((
                    "missing-catalog",
                    f"task `{key}` does not pass `{names[0]}`; pass `{names[0]}: {expected}` for `{environment}`",
                    where,
                ))
            elif params[parameter] != expected:
                findings.append((
                    "wrong-catalog",
                    f"task `{key}` writes to catalog `{params[parameter]}`, but `{environment}` deploys write to `{expected}`",
                    f"{where}/{parameter}",
                ))
    return findings, checked, expected
