"""Unit tests of the rule, natively: `python -m unittest` in this folder."""

import unittest

import contract

JOB = {
    "name": "customer-360",
    "tasks": [
        {"task_key": "ingest", "notebook_task": {"notebook_path": "/a", "base_parameters": {"target_catalog": "dev"}}},
        {"task_key": "notify", "python_wheel_task": {"package_name": "n", "entry_point": "main"}},
    ],
}


class ContractTest(unittest.TestCase):
    def test_passes_when_every_notebook_task_writes_to_its_environment(self):
        findings, checked, expected = contract.check(JOB, "dev", contract.parse_config("{}"))
        self.assertEqual((findings, checked, expected), ([], 1, "dev"))

    def test_fails_on_the_wrong_or_a_missing_catalog(self):
        config = contract.parse_config('{"catalogs": {"prod": "main"}}')
        findings, _, expected = contract.check(JOB, "prod", config)
        self.assertEqual(expected, "main")
        self.assertEqual(findings[0][0], "wrong-catalog")
        self.assertEqual(findings[0][2], "/tasks/0/notebook_task/base_parameters/target_catalog")
        job = {"tasks": [{"task_key": "x", "notebook_task": {"notebook_path": "/x"}}]}
        findings, _, _ = contract.check(job, "dev", contract.parse_config("{}"))
        self.assertEqual(findings[0][0], "missing-catalog")

    def test_accepts_several_parameter_names(self):
        job = {"tasks": [
            {"task_key": "a", "notebook_task": {"notebook_path": "/a", "base_parameters": {"target_catalog": "dev"}}},
            {"task_key": "b", "notebook_task": {"notebook_path": "/b", "base_parameters": {"catalog": "prod"}}},
        ]}
        only_target = contract.parse_config("{}")
        self.assertEqual([f[0] for f in contract.check(job, "dev", only_target)[0]], ["missing-catalog"])
        both = contract.parse_config('{"parameter": ["target_catalog", "catalog"]}')
        findings = contract.check(job, "dev", both)[0]
        self.assertEqual([(f[0], f[2]) for f in findings], [("wrong-catalog", "/tasks/1/notebook_task/base_parameters/catalog")])

    def test_checks_the_config(self):
        with self.assertRaises(contract.ConfigError) as e:
            contract.parse_config('{"catalogs": {"prod": ""}}')
        self.assertEqual(e.exception.path, "/catalogs/prod")
        with self.assertRaises(contract.ConfigError) as e:
            contract.parse_config('{"parameter": []}')
        self.assertEqual(e.exception.path, "/parameter")
        with self.assertRaises(contract.ConfigError) as e:
            contract.parse_config('{"colour": "blue"}')
        self.assertEqual(e.exception.path, "/colour")


if __name__ == "__main__":
    unittest.main()
