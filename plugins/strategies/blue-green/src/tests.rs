//! Whole blue-green rollouts through the SDK's fake workspace.

use brickship_plugin_sdk::Strategy;
use brickship_plugin_sdk::testing::harness::{
    self, Drive, FakeWorkspace, RunScript, at_most_one_named, at_most_one_unpaused,
};
use brickship_plugin_sdk::testing::{CUSTOMER_360_ACL, CUSTOMER_360_SETTINGS, MONDAY_NOON_MS};
use brickship_plugin_sdk::types::{Approval, Decision, GatePoint, Verdict};
use serde_json::{Value, json};

use super::*;

const NAME: &str = "customer-360-pipeline-prod";
const DAY_MS: u64 = 86_400_000;

/// The live customer-360 job (schedule unpaused, timeout 7200) and a new version (timeout 14400).
fn workspace() -> (FakeWorkspace, i64) {
    let mut ws = FakeWorkspace::new();
    let mut live: Value = serde_json::from_str(CUSTOMER_360_SETTINGS).unwrap();
    live["timeout_seconds"] = json!(7200);
    let id = ws.add_live_job(&live.to_string());
    ws.invariant("unpaused", at_most_one_unpaused(NAME));
    ws.invariant("name", at_most_one_named(NAME));
    ws.invariant("blue", at_most_one_named(&format!("{NAME}-blue")));
    (ws, id)
}

fn deployment(ws: &FakeWorkspace, config: Value) -> Deployment {
    let mut d = ws.deployment(CUSTOMER_360_SETTINGS, &config.to_string());
    d.acl = Some(CUSTOMER_360_ACL.to_owned());
    d
}

fn with_control(d: &Deployment, command: &str, by: &str, at_ms: u64) -> Deployment {
    let mut config: Value = serde_json::from_str(&d.config).unwrap();
    config["control"] = json!({"command": command, "by": by, "at-ms": at_ms});
    let mut d = d.clone();
    d.config = config.to_string();
    d
}

fn with_previous(d: &Deployment, blue: Value) -> Deployment {
    let mut config: Value = serde_json::from_str(&d.config).unwrap();
    config["previous"] =
        json!({"strategy": "blue-green", "deployment-id": "dep-old", "state": {"blue": blue}});
    let mut d = d.clone();
    d.config = config.to_string();
    d
}

fn state(drive: &Drive) -> Value {
    serde_json::from_str(&drive.state()).unwrap()
}

fn live_settings() -> Value {
    let mut live: Value = serde_json::from_str(CUSTOMER_360_SETTINGS).unwrap();
    live["timeout_seconds"] = json!(7200);
    live
}

fn verdict(decision: Decision, summary: &str) -> Verdict {
    Verdict {
        decision,
        summary: summary.to_owned(),
        findings: vec![],
    }
}

/// Blue is exactly as before the deployment: its name, settings and unpaused schedule.
fn assert_blue_untouched(ws: &FakeWorkspace, blue: i64) {
    assert_eq!(ws.jobs[&blue].settings, live_settings(), "blue changed");
    assert_eq!(ws.named(NAME).len(), 1);
    assert!(ws.violations.is_empty(), "{:?}", ws.violations);
}

#[test]
fn swap_happy_path() {
    let (mut ws, blue) = workspace();
    let d = deployment(
        &ws,
        json!({"smoke_parameters": {"target_schema": "shadow", "limit": 100}}),
    );
    let drive = ws.drive::<BlueGreen>(&d, None, vec![]);
    assert_eq!(drive.phase(), Phase::Succeeded, "{:?}", drive.messages());
    assert_eq!(
        drive.action_ids(),
        [
            "create-green",
            "green-permissions",
            "smoke-1-run",
            "smoke-1-wait",
            "gate-pre-promote",
            "drain-blue",
            "pause-blue",
            "settle-blue",
            "rename-blue",
            "reset-green",
        ]
    );
    // Green was created paused under the `-green` name and without notifications; the swap's
    // reset gives it the desired settings.
    let ActionKind::CreateJob(create) = &drive.steps[0].result.actions[0].kind else {
        panic!()
    };
    let mut green_settings: Value = serde_json::from_str(&create.settings).unwrap();
    assert_eq!(green_settings["name"], json!(format!("{NAME}-green")));
    assert_eq!(green_settings["schedule"]["pause_status"], json!("PAUSED"));
    assert_eq!(create.label, "green");
    assert!(green_settings.get("email_notifications").is_none());
    assert!(green_settings.get("webhook_notifications").is_none());
    let mut desired: Value = serde_json::from_str(CUSTOMER_360_SETTINGS).unwrap();
    rollout::strip_notifications(&mut desired);
    green_settings["name"] = json!(NAME);
    rollout::set_pause(&mut green_settings, false);
    assert_eq!(green_settings, desired);
    // The smoke run used the parameters and a token derived from the deployment id.
    let ActionKind::RunJob(run) = &drive.steps[1].result.actions[0].kind else {
        panic!()
    };
    assert_eq!(run.idempotency_token, "dep-test-0001-smoke-1");
    assert_eq!(run.job, JobRef::Created("green".into()));
    let params: Vec<(&str, &str)> = run
        .parameters
        .iter()
        .map(|p| (p.name.as_str(), p.value.as_str()))
        .collect();
    assert_eq!(params, [("target_schema", "shadow"), ("limit", "100")]);

    let green = ws.verify(&d).expect("the host's verification passes");
    assert_ne!(green, blue);
    assert_eq!(ws.jobs[&blue].name(), format!("{NAME}-blue"));
    assert_eq!(ws.jobs[&blue].pause_status(), PauseStatus::Paused);
    assert!(ws.violations.is_empty(), "{:?}", ws.violations);

    let s = state(&drive);
    assert_eq!(s["variant"], json!("swap"));
    assert_eq!(s["live_job_id"], json!(green));
    assert_eq!(s["green_job_id"], json!(green));
    assert_eq!(s["green_pause"], json!("unpaused"));
    assert_eq!(
        s["blue"],
        json!({"job_id": blue, "name": format!("{NAME}-blue"), "pause_status_before": "unpaused",
               "expires_ms": ws.now_ms + DAY_MS, "deployment_id": "dep-test-0001"})
    );
    assert_eq!(s["smoke"][0]["result"], json!("success"));
    assert_eq!(
        drive.last().message,
        format!(
            "green job {green} is live as `{NAME}` (schedule unpaused); blue job {blue} stays paused as `{NAME}-blue` until {} for rollback",
            rollout::instant(ws.now_ms + DAY_MS)
        )
    );
    assert_eq!(
        drive.messages()[1],
        format!("smoke run 1/1 of green job {green} with target_schema=shadow, limit=100")
    );
    assert_eq!(
        drive.messages()[4],
        format!(
            "swapping: blue job {blue} is paused and becomes `{NAME}-blue`, green job {green} becomes `{NAME}` (unpaused), with its notifications"
        )
    );
}

#[test]
fn swap_by_rename_and_unpause_when_green_has_the_notifications() {
    let (mut ws, blue) = workspace();
    let d = deployment(&ws, json!({"smoke_notifications": true}));
    let drive = ws.drive::<BlueGreen>(&d, None, vec![]);
    assert_eq!(drive.phase(), Phase::Succeeded);
    let ids = drive.action_ids();
    assert_eq!(
        ids[ids.len() - 3..],
        ["rename-blue", "rename-green", "unpause-green"]
    );
    let ActionKind::CreateJob(create) = &drive.steps[0].result.actions[0].kind else {
        panic!()
    };
    assert!(create.settings.contains("pagerduty-webhook"));
    ws.verify(&d).unwrap();
    assert_eq!(ws.jobs[&blue].pause_status(), PauseStatus::Paused);
    assert!(ws.violations.is_empty(), "{:?}", ws.violations);
}

#[test]
fn smoke_failure_deletes_green_and_leaves_blue_untouched() {
    let (mut ws, blue) = workspace();
    ws.script(|r| {
        if r.label == Some("green") {
            RunScript::failed(30_000)
        } else {
            RunScript::success(60_000)
        }
    });
    let d = deployment(&ws, json!({}));
    let drive = ws.drive::<BlueGreen>(&d, None, vec![]);
    assert_eq!(drive.phase(), Phase::Failed);
    assert_eq!(
        drive.action_ids()[4..],
        ["cleanup-cancel-green", "cleanup-delete-green"]
    );
    assert_blue_untouched(&ws, blue);
    assert_eq!(ws.jobs.len(), 1, "green is gone");
    let run = ws.started_runs()[0].summary.run_id;
    assert!(
        drive
            .last()
            .message
            .starts_with(&format!("smoke run {run} of green job 1001 ended `failed`")),
        "{}",
        drive.last().message
    );
    assert!(
        drive.last().message.ends_with("; green deleted"),
        "{}",
        drive.last().message
    );
}

#[test]
fn smoke_timeout_cancels_and_deletes_green() {
    let (mut ws, blue) = workspace();
    ws.script(|r| {
        if r.label == Some("green") {
            RunScript::hang()
        } else {
            RunScript::success(60_000)
        }
    });
    let d = deployment(&ws, json!({"smoke_timeout_seconds": 600}));
    let drive = ws.drive::<BlueGreen>(&d, None, vec![]);
    assert_eq!(drive.phase(), Phase::Failed);
    assert!(
        drive
            .last()
            .message
            .contains("did not finish within 10m (`smoke_timeout_seconds`)"),
        "{}",
        drive.last().message
    );
    assert_blue_untouched(&ws, blue);
    assert_eq!(ws.jobs.len(), 1);
}

#[test]
fn a_failed_create_fails_without_cleanup() {
    let (mut ws, blue) = workspace();
    ws.fail_when(|a| (a.id == "create-green").then(|| harness::failure("QUOTA_EXCEEDED", "too many jobs")));
    let d = deployment(&ws, json!({}));
    let drive = ws.drive::<BlueGreen>(&d, None, vec![]);
    assert_eq!(drive.phase(), Phase::Failed);
    assert_eq!(drive.action_ids(), ["create-green", "green-permissions"]);
    assert_eq!(
        drive.last().message,
        "action `create-green` failed: too many jobs (QUOTA_EXCEEDED)"
    );
    assert_blue_untouched(&ws, blue);
}

#[test]
fn failing_gates_delete_green() {
    let (mut ws, blue) = workspace();
    ws.gates(|point, evidence| {
        assert_eq!(point, GatePoint::PrePromote);
        assert_eq!(evidence.len(), 2);
        verdict(Decision::Fail, "row count dropped 40%")
    });
    let d = deployment(&ws, json!({"smoke_runs": 2}));
    let drive = ws.drive::<BlueGreen>(&d, None, vec![]);
    assert_eq!(drive.phase(), Phase::Failed);
    assert!(
        drive
            .last()
            .message
            .starts_with("the pre-promote gates failed green: row count dropped 40%"),
        "{}",
        drive.last().message
    );
    let tokens: Vec<String> = ws.started_runs().iter().map(|r| r.token.clone()).collect();
    assert_eq!(tokens, ["dep-test-0001-smoke-1", "dep-test-0001-smoke-2"]);
    assert_blue_untouched(&ws, blue);
    assert_eq!(ws.jobs.len(), 1);
}

#[test]
fn inconclusive_gates_pause_then_promote_swaps() {
    let (mut ws, blue) = workspace();
    ws.gates(|_, _| verdict(Decision::Inconclusive, "no row counts in the output"));
    let d = deployment(&ws, json!({}));
    let paused = ws.drive::<BlueGreen>(&d, None, vec![]);
    assert_eq!(paused.phase(), Phase::Paused);
    assert_eq!(
        paused.last().message,
        "paused: the pre-promote gates are inconclusive about green job 1001 (no row counts in the output); \
         `brickship promote dep-test-0001` swaps anyway, `brickship resume dep-test-0001` asks the gates again, \
         `brickship abort dep-test-0001` deletes green and leaves blue untouched"
    );
    // Calling again without a command stays paused and asks for nothing.
    let again = ws.drive::<BlueGreen>(&d, Some(paused.state()), vec![]);
    assert_eq!((again.phase(), again.steps.len()), (Phase::Paused, 1));

    let promoted = with_control(&d, "promote", "alice", MONDAY_NOON_MS + 1);
    let drive = ws.drive::<BlueGreen>(&promoted, Some(again.state()), vec![]);
    assert_eq!(drive.phase(), Phase::Succeeded, "{:?}", drive.messages());
    assert_eq!(drive.action_ids()[..2], ["drain-blue", "pause-blue"]);
    ws.verify(&d).unwrap();
    assert_eq!(ws.jobs[&blue].name(), format!("{NAME}-blue"));
    assert!(ws.violations.is_empty(), "{:?}", ws.violations);
    assert_eq!(
        state(&drive)["gates"],
        json!("inconclusive: no row counts in the output (promoted by alice)")
    );
}

#[test]
fn inconclusive_gates_pause_then_abort_cleans_up() {
    let (mut ws, blue) = workspace();
    ws.gates(|_, _| verdict(Decision::Inconclusive, "no data"));
    let d = deployment(&ws, json!({}));
    let paused = ws.drive::<BlueGreen>(&d, None, vec![]);
    let aborted = with_control(&d, "abort", "bob", MONDAY_NOON_MS + 5);
    let drive = ws.drive::<BlueGreen>(&aborted, Some(paused.state()), vec![]);
    assert_eq!(drive.phase(), Phase::Failed);
    assert_eq!(drive.last().message, "aborted by bob; green deleted");
    assert_blue_untouched(&ws, blue);
    assert_eq!(ws.jobs.len(), 1);
}

#[test]
fn resume_asks_the_gates_again_with_a_new_action_id() {
    let (mut ws, _) = workspace();
    let mut answers = vec![
        verdict(Decision::Pass, "ok"),
        verdict(Decision::Inconclusive, "late data"),
    ];
    ws.gates(move |_, _| answers.pop().unwrap());
    let d = deployment(&ws, json!({}));
    let paused = ws.drive::<BlueGreen>(&d, None, vec![]);
    assert_eq!(paused.phase(), Phase::Paused);
    let resumed = with_control(&d, "resume", "carol", MONDAY_NOON_MS + 9);
    let drive = ws.drive::<BlueGreen>(&resumed, Some(paused.state()), vec![]);
    assert_eq!(drive.phase(), Phase::Succeeded);
    assert_eq!(drive.action_ids()[0], "gate-pre-promote-2");
    ws.verify(&d).unwrap();
    // A control already acted on is not acted on again.
    let again = ws.drive::<BlueGreen>(&resumed, Some(drive.state()), vec![]);
    assert_eq!(again.phase(), Phase::Succeeded);
    assert!(again.action_ids().is_empty());
}

#[test]
fn approval_granted_rejected_or_given_later() {
    let config = json!({"require_approval_before_swap": true});
    // Granted at the prompt.
    let (mut ws, _) = workspace();
    let d = deployment(&ws, config.clone());
    let drive = ws.drive::<BlueGreen>(&d, None, vec![]);
    assert_eq!(drive.phase(), Phase::Succeeded);
    assert!(drive.action_ids().contains(&"approve-swap".to_owned()));
    let ActionKind::RequestApproval(question) = &drive.steps[3].result.actions[0].kind else {
        panic!()
    };
    assert!(
        question.starts_with(&format!(
            "Promote `{NAME}` (deployment dep-test-0001)? Green job 1001: 1 smoke run(s) succeeded"
        )),
        "{question}"
    );
    assert_eq!(state(&drive)["approved_by"], json!("approver"));

    // Rejected.
    let (mut ws, blue) = workspace();
    ws.approvals(|_| {
        OutcomeKind::Rejected(Approval {
            by: "bob".into(),
            comment: "not during the close".into(),
        })
    });
    let drive = ws.drive::<BlueGreen>(&d, None, vec![]);
    assert_eq!(drive.phase(), Phase::Failed);
    assert_eq!(
        drive.last().message,
        "action `approve-swap` was rejected by bob: not during the close; green deleted"
    );
    assert_blue_untouched(&ws, blue);
}

#[test]
fn approval_without_an_answer_waits_for_brickship_approve() {
    let (mut ws, _) = workspace();
    let d = deployment(&ws, json!({"require_approval_before_swap": true}));
    // Drive by hand up to the approval request.
    let r = ws.step::<BlueGreen>(&d, None, vec![]);
    let r = ws.step::<BlueGreen>(&d, Some(r.result.state), r.outcomes);
    let r = ws.step::<BlueGreen>(&d, Some(r.result.state), r.outcomes);
    let asking = ws.step::<BlueGreen>(&d, Some(r.result.state), r.outcomes);
    assert_eq!(asking.result.actions[0].id, "approve-swap");
    // The host parked instead of answering: no outcome.
    let waiting = ws.step::<BlueGreen>(&d, Some(asking.result.state), vec![]);
    assert_eq!(waiting.result.phase, Phase::Paused);
    assert!(
        waiting.result.message.starts_with("paused: waiting for approval to promote green job 1001; `brickship approve dep-test-0001` goes on"),
        "{}",
        waiting.result.message
    );
    let approved = with_control(&d, "approve", "dana", MONDAY_NOON_MS + 60_000);
    let drive = ws.drive::<BlueGreen>(&approved, Some(waiting.result.state), vec![]);
    assert_eq!(drive.phase(), Phase::Succeeded);
    assert_eq!(state(&drive)["approved_by"], json!("dana"));
    ws.verify(&d).unwrap();
}

#[test]
fn active_runs_wait_cancel_and_fail() {
    // wait: the drain waits them out.
    let (mut ws, blue) = workspace();
    ws.active.insert(
        blue,
        vec![brickship_plugin_sdk::testing::run_summary(
            7,
            brickship_plugin_sdk::types::RunResult::Success,
            &["a"],
        )],
    );
    let d = deployment(&ws, json!({}));
    assert_eq!(ws.drive::<BlueGreen>(&d, None, vec![]).phase(), Phase::Succeeded);

    // wait, stuck: blue was never paused; green is deleted.
    let (mut ws, blue) = workspace();
    ws.active.insert(
        blue,
        vec![brickship_plugin_sdk::testing::run_summary(
            7,
            brickship_plugin_sdk::types::RunResult::Success,
            &["a"],
        )],
    );
    ws.active_runs_stuck = true;
    let d = deployment(&ws, json!({"active_runs_timeout_seconds": 60}));
    let drive = ws.drive::<BlueGreen>(&d, None, vec![]);
    assert_eq!(drive.phase(), Phase::Failed);
    assert_eq!(
        drive.action_ids()[drive.action_ids().len() - 3..],
        ["drain-blue", "cleanup-cancel-green", "cleanup-delete-green"]
    );
    assert!(drive.last().message.starts_with(&format!(
        "blue job {blue} still had active runs after 1m (`active_runs: wait`)"
    )));
    assert_blue_untouched(&ws, blue);

    // cancel.
    let (mut ws, blue) = workspace();
    ws.active.insert(
        blue,
        vec![brickship_plugin_sdk::testing::run_summary(
            7,
            brickship_plugin_sdk::types::RunResult::Success,
            &["a"],
        )],
    );
    let d = deployment(&ws, json!({"active_runs": "cancel"}));
    let drive = ws.drive::<BlueGreen>(&d, None, vec![]);
    assert_eq!(drive.phase(), Phase::Succeeded);
    assert!(drive.action_ids().contains(&"cancel-blue-runs".to_owned()));

    // fail.
    let (mut ws, blue) = workspace();
    ws.active.insert(
        blue,
        vec![brickship_plugin_sdk::testing::run_summary(
            7,
            brickship_plugin_sdk::types::RunResult::Success,
            &["a"],
        )],
    );
    let d = deployment(&ws, json!({"active_runs": "fail"}));
    let drive = ws.drive::<BlueGreen>(&d, None, vec![]);
    assert_eq!(drive.phase(), Phase::Failed);
    assert!(
        drive
            .last()
            .message
            .contains("has 1 active run(s) (7) and `active_runs` is `fail`")
    );
    assert_blue_untouched(&ws, blue);
}

#[test]
fn a_swap_that_fails_half_way_is_undone() {
    // Blue renamed, green's rename fails: blue first (rename back, unpause), then green.
    let (mut ws, blue) = workspace();
    ws.fail_when(|a| (a.id == "rename-green").then(|| harness::failure("INTERNAL_ERROR", "boom")));
    let d = deployment(&ws, json!({"smoke_notifications": true}));
    let drive = ws.drive::<BlueGreen>(&d, None, vec![]);
    assert_eq!(drive.phase(), Phase::Failed);
    let ids = drive.action_ids();
    assert_eq!(
        ids[ids.len() - 4..],
        [
            "cleanup-rename-blue",
            "cleanup-unpause-blue",
            "cleanup-cancel-green",
            "cleanup-delete-green"
        ]
    );
    assert_eq!(
        drive.last().message,
        "the swap failed: action `rename-green` failed: boom (INTERNAL_ERROR); blue renamed back, blue's schedule restored, green deleted"
    );
    assert_blue_untouched(&ws, blue);

    // Green renamed, its unpause fails: green goes first, then blue comes back.
    let (mut ws, blue) = workspace();
    ws.fail_when(|a| (a.id == "unpause-green").then(|| harness::failure("INTERNAL_ERROR", "boom")));
    let d = deployment(&ws, json!({"smoke_notifications": true}));
    let drive = ws.drive::<BlueGreen>(&d, None, vec![]);
    let ids = drive.action_ids();
    assert_eq!(
        ids[ids.len() - 4..],
        [
            "cleanup-cancel-green",
            "cleanup-delete-green",
            "cleanup-rename-blue",
            "cleanup-unpause-blue"
        ]
    );
    assert_blue_untouched(&ws, blue);
}

#[test]
fn a_run_blue_started_after_the_drain_that_outlasts_the_swap_undoes_the_pause() {
    let (mut ws, blue) = workspace();
    ws.fail_when(|a| {
        (a.id == "settle-blue").then(|| harness::failure("TIMEOUT", "run 9 of blue is still running"))
    });
    let d = deployment(&ws, json!({"active_runs": "cancel"}));
    let drive = ws.drive::<BlueGreen>(&d, None, vec![]);
    assert_eq!(drive.phase(), Phase::Failed);
    let ids = drive.action_ids();
    // The host skips the rest of the swap step after the failed settle.
    let swap = drive
        .steps
        .iter()
        .find(|s| s.result.actions.iter().any(|a| a.id == "settle-blue"))
        .unwrap();
    assert!(
        matches!(swap.outcomes[3].kind, OutcomeKind::Skipped),
        "{:?}",
        swap.outcomes
    );
    assert_eq!(
        ids[ids.len() - 8..],
        [
            "pause-blue",
            "cancel-blue-late",
            "settle-blue",
            "rename-blue",
            "reset-green",
            "cleanup-unpause-blue",
            "cleanup-cancel-green",
            "cleanup-delete-green"
        ]
    );
    assert_blue_untouched(&ws, blue);
}

#[test]
fn a_failed_cleanup_says_so() {
    let (mut ws, _) = workspace();
    ws.fail_when(|a| {
        matches!(a.id.as_str(), "smoke-1-run" | "cleanup-delete-green")
            .then(|| harness::failure("PERMISSION_DENIED", "no"))
    });
    let d = deployment(&ws, json!({}));
    let drive = ws.drive::<BlueGreen>(&d, None, vec![]);
    assert_eq!(drive.phase(), Phase::Failed);
    assert_eq!(
        drive.last().message,
        "action `smoke-1-run` failed: no (PERMISSION_DENIED); cleanup incomplete (`cleanup-delete-green` failed: no (PERMISSION_DENIED)): the host's rollback restores the snapshot"
    );
}

#[test]
fn in_place_keeps_the_job_id() {
    let (mut ws, live) = workspace();
    let d = deployment(&ws, json!({"in_place": true}));
    let drive = ws.drive::<BlueGreen>(&d, None, vec![]);
    assert_eq!(drive.phase(), Phase::Succeeded, "{:?}", drive.messages());
    assert_eq!(
        drive.action_ids(),
        [
            "create-green",
            "smoke-1-run",
            "smoke-1-wait",
            "gate-pre-promote",
            "drain-blue",
            "reset-live",
            "live-permissions",
            "cancel-green-runs",
            "delete-green",
        ]
    );
    assert_eq!(ws.verify(&d).unwrap(), live);
    assert_eq!(ws.jobs.len(), 1);
    let s = state(&drive);
    assert_eq!(
        (s["variant"].clone(), s["blue"].clone()),
        (json!("in-place"), Value::Null)
    );

    // A failure after the reset puts the old settings back and deletes green.
    let (mut ws, live) = workspace();
    ws.fail_when(|a| {
        (a.id == "live-permissions").then(|| harness::failure("INVALID_PARAMETER_VALUE", "no owner"))
    });
    let drive = ws.drive::<BlueGreen>(&d, None, vec![]);
    assert_eq!(drive.phase(), Phase::Failed);
    let ids = drive.action_ids();
    assert_eq!(
        ids[ids.len() - 3..],
        [
            "cleanup-restore-live",
            "cleanup-cancel-green",
            "cleanup-delete-green"
        ]
    );
    assert_blue_untouched(&ws, live);
}

#[test]
fn no_live_job_creates_directly() {
    let mut ws = FakeWorkspace::new();
    let d = deployment(&ws, json!({}));
    let drive = ws.drive::<BlueGreen>(&d, None, vec![]);
    assert_eq!(drive.phase(), Phase::Succeeded);
    assert_eq!(drive.action_ids(), ["create-job", "set-permissions"]);
    let id = ws.verify(&d).unwrap();
    assert_eq!(drive.last().message, format!("created `{NAME}` as job {id}"));
    assert_eq!(state(&drive)["variant"], json!("create"));
}

#[test]
fn unchanged_makes_no_call_and_carries_blue_over() {
    let (mut ws, _) = workspace();
    let mut d = deployment(&ws, json!({}));
    d.plan.action = PlanAction::Unchanged;
    let blue = json!({"job_id": 9, "name": format!("{NAME}-blue"), "pause_status_before": "unpaused",
                      "expires_ms": MONDAY_NOON_MS + DAY_MS, "deployment_id": "dep-old"});
    let d = with_previous(&d, blue.clone());
    let drive = ws.drive::<BlueGreen>(&d, None, vec![]);
    assert_eq!(drive.phase(), Phase::Succeeded);
    assert!(drive.action_ids().is_empty());
    assert_eq!(state(&drive)["blue"], blue);
    assert_eq!(
        drive.last().message,
        "the live job already matches; nothing to do; blue job 9 is kept until 2026-01-06 12:00 UTC"
    );
}

#[test]
fn the_previous_blue_goes_after_its_window_or_at_the_swap() {
    let old_blue = |ws: &mut FakeWorkspace, expires_ms: u64| {
        let mut settings = live_settings();
        settings["name"] = json!(format!("{NAME}-blue"));
        brickship_plugin_sdk::rollout::set_pause(&mut settings, true);
        let id = ws.add_job(&settings.to_string());
        let record = json!({"job_id": id, "name": format!("{NAME}-blue"), "pause_status_before": "unpaused",
                            "expires_ms": expires_ms, "deployment_id": "dep-old"});
        (id, record)
    };

    // Window passed: deleted in the first step.
    let (mut ws, blue) = workspace();
    let (old, record) = old_blue(&mut ws, MONDAY_NOON_MS - 1);
    let d = with_previous(&deployment(&ws, json!({})), record);
    let drive = ws.drive::<BlueGreen>(&d, None, vec![]);
    assert_eq!(drive.phase(), Phase::Succeeded);
    assert_eq!(drive.steps[0].result.actions[2].id, "delete-expired-blue");
    assert_eq!(
        drive.steps[0].result.actions[2].kind,
        ActionKind::DeleteJob(JobRef::Id(old))
    );
    assert!(drive.messages()[0].ends_with(&format!(
        "; deleting blue job {old} of the previous deployment (bake window ended 2026-01-05 11:59 UTC)"
    )));
    assert!(!drive.action_ids().contains(&"delete-old-blue".to_owned()));
    assert_eq!(ws.deleted, [old]);
    assert_eq!(state(&drive)["deleted_blue_job_ids"], json!([old]));
    assert_eq!(state(&drive)["blue"]["job_id"], json!(blue));
    assert!(ws.violations.is_empty(), "{:?}", ws.violations);

    // Window not passed: kept while green is smoke-tested, deleted right before blue is renamed.
    let (mut ws, blue) = workspace();
    let (old, record) = old_blue(&mut ws, MONDAY_NOON_MS + 1);
    let d = with_previous(&deployment(&ws, json!({})), record);
    let drive = ws.drive::<BlueGreen>(&d, None, vec![]);
    let swap = drive
        .steps
        .iter()
        .find(|s| s.result.actions.iter().any(|a| a.id == "rename-blue"))
        .unwrap();
    let ids: Vec<&str> = swap.result.actions.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "pause-blue",
            "settle-blue",
            "delete-old-blue",
            "rename-blue",
            "reset-green"
        ]
    );
    assert_eq!(ws.deleted, [old]);
    assert_eq!(ws.named(&format!("{NAME}-blue"))[0].id, blue);
    assert!(
        drive
            .last()
            .message
            .ends_with(&format!("; deleted the previous blue job {old}"))
    );
    assert!(ws.violations.is_empty(), "{:?}", ws.violations);

    // A failure before the swap keeps it (it is still the rollback target).
    let (mut ws, _) = workspace();
    let (old, record) = old_blue(&mut ws, MONDAY_NOON_MS + 1);
    ws.script(|_| RunScript::failed(1000));
    let d = with_previous(&deployment(&ws, json!({})), record);
    assert_eq!(ws.drive::<BlueGreen>(&d, None, vec![]).phase(), Phase::Failed);
    assert!(ws.jobs.contains_key(&old));

    // The expired blue cannot be deleted: the rollout goes on and retries before the swap.
    let (mut ws, _) = workspace();
    let (old, record) = old_blue(&mut ws, MONDAY_NOON_MS - 1);
    let mut refused = true;
    ws.fail_when(move |a| {
        let first = a.id == "delete-expired-blue" && refused;
        refused &= !first;
        first.then(|| harness::failure("TEMPORARILY_UNAVAILABLE", "try later"))
    });
    let d = with_previous(&deployment(&ws, json!({})), record);
    let drive = ws.drive::<BlueGreen>(&d, None, vec![]);
    assert_eq!(drive.phase(), Phase::Succeeded);
    assert!(drive.action_ids().contains(&"delete-old-blue".to_owned()));
    assert_eq!(ws.deleted, [old]);
    assert!(
        drive
            .last()
            .message
            .contains("could not delete the previous blue job"),
        "{}",
        drive.last().message
    );

    // The previous blue is the live job (a swap back happened): never deleted.
    let (mut ws, live) = workspace();
    let record = json!({"job_id": live, "name": format!("{NAME}-blue"), "pause_status_before": "unpaused",
                        "expires_ms": 0, "deployment_id": "dep-old"});
    let d = with_previous(&deployment(&ws, json!({})), record);
    let drive = ws.drive::<BlueGreen>(&d, None, vec![]);
    assert_eq!(drive.phase(), Phase::Succeeded);
    assert!(ws.deleted.is_empty());
}

#[test]
fn a_repeated_step_repeats_the_same_actions_and_starts_no_second_run() {
    let (mut ws, _) = workspace();
    let d = deployment(&ws, json!({"smoke_runs": 2}));
    let first = ws.step::<BlueGreen>(&d, None, vec![]);
    // The host crashed after performing the smoke step; it calls `step` again with the same
    // state and outcomes, and performs the same actions again.
    let smoke = BlueGreen::step(
        d.clone(),
        Some(first.result.state.clone()),
        first.outcomes.clone(),
    )
    .unwrap();
    let again = BlueGreen::step(
        d.clone(),
        Some(first.result.state.clone()),
        first.outcomes.clone(),
    )
    .unwrap();
    assert_eq!(smoke, again);
    let ids: Vec<String> = smoke.actions.iter().map(|a| a.id.clone()).collect();
    let mut outcomes = Vec::new();
    for _ in 0..2 {
        outcomes = smoke
            .actions
            .iter()
            .map(|a| Outcome {
                action_id: a.id.clone(),
                kind: ws.perform(a),
            })
            .collect();
    }
    assert_eq!(ws.started_runs().len(), 1, "the token started one run");
    ws.forget_action_ids(&ids);
    let drive = ws.drive::<BlueGreen>(&d, Some(smoke.state), outcomes);
    assert_eq!(drive.phase(), Phase::Succeeded);
    assert_eq!(ws.started_runs().len(), 2);
}

#[test]
fn desired_pause_status_is_kept() {
    // A paused desired schedule is not unpaused at the swap.
    let (mut ws, _) = workspace();
    let mut desired: Value = serde_json::from_str(CUSTOMER_360_SETTINGS).unwrap();
    desired["schedule"]["pause_status"] = json!("PAUSED");
    let mut d = deployment(&ws, json!({"smoke_notifications": true}));
    d.desired = desired.to_string();
    let drive = ws.drive::<BlueGreen>(&d, None, vec![]);
    let ids = drive.action_ids();
    assert_eq!(ids[ids.len() - 2..], ["rename-blue", "rename-green"]);
    ws.verify(&d).unwrap();

    // Mixed blocks: one reset of green sets the name and every pause status.
    let (mut ws, _) = workspace();
    let mut desired: Value = serde_json::from_str(CUSTOMER_360_SETTINGS).unwrap();
    desired["trigger"] = json!({"pause_status": "PAUSED", "file_arrival": {"url": "s3://in/"}});
    let mut d = deployment(&ws, json!({"smoke_notifications": true}));
    d.desired = desired.to_string();
    let drive = ws.drive::<BlueGreen>(&d, None, vec![]);
    let ids = drive.action_ids();
    assert_eq!(ids[ids.len() - 2..], ["rename-blue", "reset-green"]);
    ws.verify(&d).unwrap();
    assert!(ws.violations.is_empty(), "{:?}", ws.violations);
}

#[test]
fn abort_after_success_is_ignored() {
    let (mut ws, _) = workspace();
    let d = deployment(&ws, json!({}));
    let drive = ws.drive::<BlueGreen>(&d, None, vec![]);
    let late = with_control(&d, "abort", "eve", MONDAY_NOON_MS + DAY_MS);
    let again = ws.drive::<BlueGreen>(&late, Some(drive.state()), vec![]);
    assert_eq!(again.phase(), Phase::Succeeded);
    assert!(again.action_ids().is_empty());
    ws.verify(&d).unwrap();
}

#[test]
fn validates_config() {
    assert!(BlueGreen::validate_config("{}").is_ok());
    let example = BlueGreen::describe().config_example.unwrap();
    assert!(BlueGreen::validate_config(&example).is_ok());
    let host_input = r#"{"control": {"command": "promote", "by": "a", "at-ms": 1}, "previous": {"strategy": "blue-green", "state": {}}}"#;
    assert!(BlueGreen::validate_config(host_input).is_ok());
    let paths = |c: &str| -> Vec<String> {
        BlueGreen::validate_config(c)
            .unwrap_err()
            .into_iter()
            .map(|p| p.path)
            .collect()
    };
    assert_eq!(
        paths(r#"{"smoke_runs": 0, "smoke_timeout_seconds": 0}"#),
        ["/smoke_runs", "/smoke_timeout_seconds"]
    );
    assert_eq!(
        paths(r#"{"smoke_parameters": {"a/b": {"x": 1}}}"#),
        ["/smoke_parameters/a~1b"]
    );
    assert_eq!(paths(r#"{"active_runs": "kill"}"#), ["/active_runs"]);
    assert_eq!(paths(r#"{"smoke_run": 1}"#), ["/smoke_run"]);
    assert_eq!(
        paths(r#"{"control": {"command": "go", "at-ms": 1}}"#),
        ["/control"]
    );
    let schema: Value = serde_json::from_str(&BlueGreen::describe().config_schema.unwrap()).unwrap();
    assert_eq!(
        schema["properties"]["bake_window_seconds"]["default"],
        json!(86400)
    );
    let err = BlueGreen::step(
        deployment(&workspace().0, json!({})),
        Some("nonsense".into()),
        vec![],
    )
    .unwrap_err();
    assert_eq!(err.code, "bad-state");
}
