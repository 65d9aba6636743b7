//! Whole canary rollouts through the SDK's fake workspace.

use brickship_plugin_sdk::Strategy;
use brickship_plugin_sdk::testing::harness::{
    self, Drive, FakeWorkspace, RunRequest, RunScript, at_most_one_named,
};
use brickship_plugin_sdk::testing::{CUSTOMER_360_ACL, CUSTOMER_360_SETTINGS, MONDAY_NOON_MS};
use brickship_plugin_sdk::types::{Approval, Decision, RunResult, Verdict};
use serde_json::{Value, json};

use super::*;

const NAME: &str = "customer-360-pipeline-prod";

fn live_settings() -> Value {
    let mut live: Value = serde_json::from_str(CUSTOMER_360_SETTINGS).unwrap();
    live["timeout_seconds"] = json!(7200);
    live
}

/// A live job with 5 successful runs of 60 s reporting 1000 rows; canary runs take 30 s and
/// report rows in proportion to their fraction; the post-promotion run is like the baseline.
fn workspace() -> (FakeWorkspace, i64) {
    let mut ws = FakeWorkspace::new();
    let id = ws.add_live_job(&live_settings().to_string());
    ws.add_history(
        id,
        5,
        RunScript::success(60_000).output(r#"{"rows": 1000, "null_rate": 0.01}"#),
    );
    ws.script(healthy);
    ws.invariant("name", at_most_one_named(NAME));
    (ws, id)
}

fn fraction(r: &RunRequest<'_>) -> f64 {
    r.parameter("brickship_canary_fraction")
        .and_then(|f| f.parse().ok())
        .unwrap_or(1.0)
}

fn healthy(r: &RunRequest<'_>) -> RunScript {
    if r.label == Some("canary") {
        let rows = 1000.0 * fraction(r);
        RunScript::success(30_000).output(&format!(r#"{{"rows": {rows}, "null_rate": 0.01}}"#))
    } else {
        RunScript::success(61_000).output(r#"{"rows": 1002, "null_rate": 0.01}"#)
    }
}

fn config(extra: Value) -> Value {
    let mut c = json!({
        "parameter_overrides": {"target_schema": "canary"},
        "metrics": [{"name": "rows", "max_decrease": 0.1, "max_increase": 0.1, "scales_with_fraction": true},
                    {"name": "null_rate", "max": 0.02}]
    });
    if let (Value::Object(c), Value::Object(extra)) = (&mut c, extra) {
        c.extend(extra);
    }
    c
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

fn state(drive: &Drive) -> Value {
    serde_json::from_str(&drive.state()).unwrap()
}

fn step_ids(drive: &Drive, prefix: &str) -> Vec<String> {
    drive
        .action_ids()
        .into_iter()
        .filter(|id| id.starts_with(prefix))
        .collect()
}

/// The live job is exactly as before and no other job exists.
fn assert_untouched(ws: &FakeWorkspace, live: i64) {
    assert_eq!(ws.jobs[&live].settings, live_settings(), "the live job changed");
    assert_eq!(
        ws.jobs.len(),
        1,
        "left behind: {:?}",
        ws.jobs.keys().collect::<Vec<_>>()
    );
    assert!(ws.violations.is_empty(), "{:?}", ws.violations);
}

#[test]
fn passes_every_step_then_promotes_and_checks() {
    let (mut ws, live) = workspace();
    let d = deployment(&ws, config(json!({})));
    let drive = ws.drive::<Canary>(&d, None, vec![]);
    assert_eq!(drive.phase(), Phase::Succeeded, "{:#?}", drive.messages());
    let mut expected = vec!["baseline-history".to_owned(), "create-canary".to_owned()];
    // The five history runs (ids 50000 to 50004), newest first.
    expected.extend((50_000..=50_004).rev().map(|id| format!("baseline-output-{id}")));
    for s in 1..=3 {
        expected.extend([
            format!("s{s}-run-1"),
            format!("s{s}-wait-1"),
            format!("s{s}-output-1"),
            format!("s{s}-gate"),
        ]);
    }
    expected.extend(
        [
            "reset-live",
            "live-permissions",
            "cancel-canary-runs",
            "delete-canary",
            "post-run",
            "post-wait-1",
            "post-output-1",
        ]
        .map(str::to_owned),
    );
    assert_eq!(drive.action_ids(), expected);

    // The canary: `-canary`, paused, quiet, with its share and overrides as defaults.
    let ActionKind::CreateJob(create) = &drive.steps[0].result.actions[1].kind else {
        panic!()
    };
    let canary: Value = serde_json::from_str(&create.settings).unwrap();
    assert_eq!(canary["name"], json!(format!("{NAME}-canary")));
    assert_eq!(canary["schedule"]["pause_status"], json!("PAUSED"));
    assert!(canary.get("email_notifications").is_none());
    assert_eq!(
        canary["parameters"],
        json!([{"name": "brickship_canary_fraction", "default": "0.1"}, {"name": "target_schema", "default": "canary"}])
    );
    // Each step's run: its fraction, the overrides and a token per step and run.
    let tokens: Vec<&str> = ws.started_runs().iter().map(|r| r.token.as_str()).collect();
    assert_eq!(
        tokens,
        [
            "dep-test-0001-s1-r1",
            "dep-test-0001-s2-r1",
            "dep-test-0001-s3-r1",
            "dep-test-0001-post"
        ]
    );
    let fractions: Vec<String> = ws
        .started_runs()
        .iter()
        .map(|r| format!("{:?}", r.summary.parameters))
        .collect();
    assert_eq!(
        fractions[1],
        r#"[("brickship_canary_fraction", "0.25"), ("target_schema", "canary")]"#
    );
    assert_eq!(fractions[3], "[]", "the post-promotion run is a normal run");

    assert_eq!(ws.verify(&d).unwrap(), live);
    assert_eq!(ws.jobs.len(), 1, "the canary is gone");
    assert!(ws.violations.is_empty(), "{:?}", ws.violations);

    let messages = drive.messages();
    assert_eq!(
        messages[0],
        format!(
            "creating canary job `{NAME}-canary` (schedule paused); steps 10% → 25% → 50% → 100%; reading the live job's last 5 runs as the baseline"
        )
    );
    assert_eq!(
        messages[2],
        "step 1/4 (10%): 1 canary run(s) of job 1001 with brickship_canary_fraction=0.1, then the pre-promote gates"
    );
    assert_eq!(
        messages[3],
        "step 1/4 (10%): pass — 1/1 run succeeded, 0 failed tasks, 0 retried tasks (1 allowed), duration 30s vs p90 1m (+50% allowed), \
         rows 100 vs baseline 100 (+0%), null_rate 0.01, gates pass: all gates passed; \
         step 2/4 (25%): 1 canary run(s) of job 1001 with brickship_canary_fraction=0.25, then the pre-promote gates"
    );
    assert_eq!(
        drive.last().message,
        format!(
            "promoted to 100%: live job {live} has the new settings; canary job 1001 deleted; steps 10% pass, 25% pass, 50% pass; \
             post-promotion check pass — 1/1 run succeeded, 0 failed tasks, 0 retried tasks (1 allowed), duration 1m 1s vs p90 1m (+50% allowed), \
             rows 1002 vs baseline 1000 (+0.2%), null_rate 0.01"
        )
    );
    let s = state(&drive);
    assert_eq!(s["baseline"].as_array().unwrap().len(), 5);
    assert_eq!(
        s["baseline"][0]["metrics"],
        json!({"rows": 1000.0, "null_rate": 0.01})
    );
    assert_eq!(s["results"].as_array().unwrap().len(), 3);
    assert_eq!(s["results"][2]["weight"], json!(50));
    assert_eq!(s["post"]["status"], json!("pass"));
}

#[test]
fn fails_at_step_two_deletes_the_canary_and_leaves_the_live_job_untouched() {
    let (mut ws, live) = workspace();
    ws.script(|r| {
        if fraction(r) == 0.25 {
            RunScript::failed(20_000)
        } else {
            healthy(r)
        }
    });
    let d = deployment(&ws, config(json!({})));
    let drive = ws.drive::<Canary>(&d, None, vec![]);
    assert_eq!(drive.phase(), Phase::Failed);
    let ids = drive.action_ids();
    assert_eq!(
        ids[ids.len() - 2..],
        ["cleanup-cancel-canary", "cleanup-delete-canary"]
    );
    assert!(step_ids(&drive, "s3").is_empty());
    let run = ws.started_runs()[1].summary.run_id;
    assert!(
        drive.last().message.starts_with(&format!(
            "step 2/4 (25%): fail — 1 of 1 run failed (run {run} failed; 0 allowed), 1 failed task (0 allowed)"
        )),
        "{}",
        drive.last().message
    );
    assert!(
        drive
            .last()
            .message
            .ends_with("; canary deleted; the live job was not changed"),
        "{}",
        drive.last().message
    );
    assert_untouched(&ws, live);
}

#[test]
fn inconclusive_pauses_then_promote_goes_on() {
    let (mut ws, live) = workspace();
    // Step 2's run reports no rows.
    ws.script(|r| {
        if fraction(r) == 0.25 {
            RunScript::success(30_000).output(r#"{"null_rate": 0.01}"#)
        } else {
            healthy(r)
        }
    });
    let d = deployment(&ws, config(json!({})));
    let paused = ws.drive::<Canary>(&d, None, vec![]);
    assert_eq!(paused.phase(), Phase::Paused);
    let run = ws.started_runs()[1].summary.run_id;
    assert!(
        paused.last().message.starts_with(&format!(
            "paused at step 2/4 (25%): inconclusive — rows missing from the output of run {run}"
        )),
        "{}",
        paused.last().message
    );
    assert!(paused.last().message.ends_with(
        "; `brickship promote dep-test-0001` treats this step as passed and goes to 50%, \
         `brickship promote dep-test-0001 --full` goes to 100%, `brickship resume dep-test-0001` runs this step again, \
         `brickship abort dep-test-0001` deletes the canary and leaves the live job untouched"
    ));
    // No command: still paused, nothing done.
    let again = ws.drive::<Canary>(&d, Some(paused.state()), vec![]);
    assert_eq!((again.phase(), again.action_ids().len()), (Phase::Paused, 0));

    let promoted = with_control(&d, "promote", "alice", MONDAY_NOON_MS + 10);
    let drive = ws.drive::<Canary>(&promoted, Some(again.state()), vec![]);
    assert_eq!(drive.phase(), Phase::Succeeded, "{:#?}", drive.messages());
    assert_eq!(drive.action_ids()[0], "s3-run-1");
    assert_eq!(ws.verify(&d).unwrap(), live);
    assert!(
        drive
            .last()
            .message
            .contains("steps 10% pass, 25% inconclusive (promoted by alice), 50% pass"),
        "{}",
        drive.last().message
    );
    assert_eq!(state(&drive)["results"][1]["promoted_by"], json!("alice"));
}

#[test]
fn inconclusive_pauses_then_abort_cleans_up() {
    let (mut ws, live) = workspace();
    ws.gates(|_, _| Verdict {
        decision: Decision::Inconclusive,
        summary: "freshness unknown".into(),
        findings: vec![],
    });
    let d = deployment(&ws, config(json!({})));
    let paused = ws.drive::<Canary>(&d, None, vec![]);
    assert_eq!(paused.phase(), Phase::Paused);
    assert!(
        paused
            .last()
            .message
            .contains("gates inconclusive: freshness unknown"),
        "{}",
        paused.last().message
    );
    let aborted = with_control(&d, "abort", "bob", MONDAY_NOON_MS + 10);
    let drive = ws.drive::<Canary>(&aborted, Some(paused.state()), vec![]);
    assert_eq!(drive.phase(), Phase::Failed);
    assert_eq!(
        drive.last().message,
        "aborted by bob; canary deleted; the live job was not changed"
    );
    assert_untouched(&ws, live);
}

#[test]
fn resume_runs_the_step_again_with_new_ids_and_tokens() {
    let (mut ws, live) = workspace();
    let mut first = true;
    ws.script(move |r| {
        if fraction(r) == 0.1 && std::mem::take(&mut first) {
            RunScript::success(30_000)
        } else {
            healthy(r)
        }
    });
    let d = deployment(&ws, config(json!({})));
    let paused = ws.drive::<Canary>(&d, None, vec![]);
    assert_eq!(paused.phase(), Phase::Paused);
    let resumed = with_control(&d, "resume", "carol", MONDAY_NOON_MS + 10);
    let drive = ws.drive::<Canary>(&resumed, Some(paused.state()), vec![]);
    assert_eq!(drive.phase(), Phase::Succeeded, "{:#?}", drive.messages());
    assert_eq!(
        drive.action_ids()[..4],
        ["s1a2-run-1", "s1a2-wait-1", "s1a2-output-1", "s1a2-gate"]
    );
    assert_eq!(ws.started_runs()[1].token, "dep-test-0001-s1-r1-a2");
    assert_eq!(
        drive.messages()[0],
        "step 1/4 (10%): 1 canary run(s) of job 1001 with brickship_canary_fraction=0.1 (attempt 2), then the pre-promote gates"
    );
    assert_eq!(ws.verify(&d).unwrap(), live);
}

#[test]
fn promote_full_skips_to_the_promotion() {
    let (mut ws, live) = workspace();
    ws.script(|r| {
        if fraction(r) == 0.1 {
            RunScript::success(30_000)
        } else {
            healthy(r)
        }
    });
    let d = deployment(&ws, config(json!({})));
    let paused = ws.drive::<Canary>(&d, None, vec![]);
    let full = with_control(&d, "promote-full", "dana", MONDAY_NOON_MS + 10);
    let drive = ws.drive::<Canary>(&full, Some(paused.state()), vec![]);
    assert_eq!(drive.phase(), Phase::Succeeded);
    assert_eq!(drive.action_ids()[0], "reset-live");
    assert_eq!(ws.verify(&d).unwrap(), live);
    assert!(step_ids(&drive, "s2").is_empty());
}

#[test]
fn a_repeated_step_repeats_the_same_actions_and_starts_no_second_run() {
    let (mut ws, _) = workspace();
    let d = deployment(&ws, config(json!({"runs_per_step": 2})));
    let r1 = ws.step::<Canary>(&d, None, vec![]);
    let r2 = ws.step::<Canary>(&d, Some(r1.result.state.clone()), r1.outcomes.clone());
    // The host crashed while performing step 1's runs; it calls `step` again with the same
    // state and outcomes, gets the same actions, and performs them again.
    let a = Canary::step(d.clone(), Some(r2.result.state.clone()), r2.outcomes.clone()).unwrap();
    let b = Canary::step(d.clone(), Some(r2.result.state.clone()), r2.outcomes.clone()).unwrap();
    assert_eq!(a, b);
    let tokens: Vec<String> = a
        .actions
        .iter()
        .filter_map(|x| match &x.kind {
            ActionKind::RunJob(r) => Some(r.idempotency_token.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(tokens, ["dep-test-0001-s1-r1", "dep-test-0001-s1-r2"]);
    let first: Vec<OutcomeKind> = a.actions.iter().take(1).map(|x| ws.perform(x)).collect();
    let mut outcomes = Vec::new();
    for x in &a.actions {
        outcomes.push(Outcome {
            action_id: x.id.clone(),
            kind: ws.perform(x),
        });
    }
    assert_eq!(first[0], outcomes[0].kind, "the same token started no second run");
    assert_eq!(ws.started_runs().len(), 2);
    let ids: Vec<String> = a.actions.iter().map(|x| x.id.clone()).collect();
    ws.forget_action_ids(&ids);
    let drive = ws.drive::<Canary>(&d, Some(a.state), outcomes);
    assert_eq!(drive.phase(), Phase::Succeeded, "{:#?}", drive.messages());
}

#[test]
fn no_live_job_promotes_the_canary_itself() {
    let mut ws = FakeWorkspace::new();
    ws.script(healthy);
    let d = deployment(&ws, json!({"allow_empty_baseline": true, "steps": [50, 100]}));
    let drive = ws.drive::<Canary>(&d, None, vec![]);
    assert_eq!(drive.phase(), Phase::Succeeded, "{:#?}", drive.messages());
    assert_eq!(
        drive.action_ids(),
        [
            "create-canary",
            "s1-run-1",
            "s1-wait-1",
            "s1-output-1",
            "s1-gate",
            "promote-canary",
            "canary-permissions",
            "post-run",
            "post-wait-1",
            "post-output-1"
        ]
    );
    let id = ws.verify(&d).unwrap();
    assert_eq!(id, 1000);
    assert!(
        drive
            .last()
            .message
            .starts_with(&format!("promoted to 100%: canary job 1000 is now `{NAME}`"))
    );

    // Without a baseline the first step cannot be judged.
    let mut ws = FakeWorkspace::new();
    let d = deployment(&ws, json!({}));
    let drive = ws.drive::<Canary>(&d, None, vec![]);
    assert_eq!(drive.phase(), Phase::Paused);
    assert!(
        drive
            .last()
            .message
            .contains("baseline has 0 successful runs, 3 needed"),
        "{}",
        drive.last().message
    );
}

#[test]
fn first_step_replaces_the_smaller_steps() {
    let (ws, _) = workspace();
    let steps = |extra: Value| -> Vec<u32> {
        let d = deployment(&ws, config(extra));
        let r = Canary::step(d, None, vec![]).unwrap();
        let s: Value = serde_json::from_str(&r.state).unwrap();
        serde_json::from_value(s["steps"].clone()).unwrap()
    };
    assert_eq!(steps(json!({})), [10, 25, 50, 100]);
    assert_eq!(steps(json!({"first_step": 5})), [5, 10, 25, 50, 100]);
    assert_eq!(steps(json!({"first_step": 30})), [30, 50, 100]);
    assert_eq!(steps(json!({"first_step": 100})), [100]);

    // 100 straight away: no canary run, only the promotion and its check.
    let (mut ws, live) = workspace();
    let d = deployment(&ws, config(json!({"first_step": 100})));
    let drive = ws.drive::<Canary>(&d, None, vec![]);
    assert_eq!(drive.phase(), Phase::Succeeded);
    assert!(step_ids(&drive, "s1").is_empty());
    assert_eq!(ws.verify(&d).unwrap(), live);
}

#[test]
fn a_failed_post_promotion_check_fails_for_the_host_to_roll_back() {
    let (mut ws, live) = workspace();
    ws.script(|r| {
        if r.live {
            RunScript::failed(5_000)
        } else {
            healthy(r)
        }
    });
    let d = deployment(&ws, config(json!({})));
    let drive = ws.drive::<Canary>(&d, None, vec![]);
    assert_eq!(drive.phase(), Phase::Failed);
    assert!(
        drive
            .last()
            .message
            .starts_with("the post-promotion check failed: fail — 1 of 1 run failed"),
        "{}",
        drive.last().message
    );
    assert!(
        drive
            .last()
            .message
            .ends_with("; the host rolls the job back to its previous settings")
    );
    // The live job has the new settings until the host restores its snapshot; no canary is left.
    assert_eq!(ws.verify(&d).unwrap(), live);
    assert_eq!(ws.jobs.len(), 1);
}

#[test]
fn a_post_run_skipped_for_concurrency_is_inconclusive() {
    let (mut ws, live) = workspace();
    let mut busy = true;
    ws.script(move |r| {
        if r.live && std::mem::take(&mut busy) {
            RunScript {
                result: RunResult::MaximumConcurrentRunsReached,
                ..RunScript::success(0)
            }
        } else {
            healthy(r)
        }
    });
    let d = deployment(&ws, config(json!({})));
    let paused = ws.drive::<Canary>(&d, None, vec![]);
    assert_eq!(paused.phase(), Phase::Paused);
    assert!(
        paused
            .last()
            .message
            .starts_with("paused after the promotion: the post-promotion check is inconclusive"),
        "{}",
        paused.last().message
    );
    assert!(
        paused
            .last()
            .message
            .contains("was skipped because the job was already running")
    );
    let resumed = with_control(&d, "resume", "eve", MONDAY_NOON_MS + 10);
    let drive = ws.drive::<Canary>(&resumed, Some(paused.state()), vec![]);
    assert_eq!(drive.phase(), Phase::Succeeded);
    assert_eq!(
        drive.action_ids(),
        ["post-a2-run", "post-a2-wait-1", "post-a2-output-1"]
    );
    assert_eq!(ws.started_runs().last().unwrap().token, "dep-test-0001-post-a2");
    assert_eq!(ws.verify(&d).unwrap(), live);
}

#[test]
fn gates_failing_or_a_hanging_run_fail_the_step() {
    let (mut ws, live) = workspace();
    ws.gates(|_, evidence| Verdict {
        decision: if evidence[0].parameters[0].1 == "0.5" {
            Decision::Fail
        } else {
            Decision::Pass
        },
        summary: "schema drift".into(),
        findings: vec![],
    });
    let d = deployment(&ws, config(json!({})));
    let drive = ws.drive::<Canary>(&d, None, vec![]);
    assert_eq!(drive.phase(), Phase::Failed);
    assert!(
        drive
            .last()
            .message
            .starts_with("step 3/4 (50%): fail — gates fail: schema drift"),
        "{}",
        drive.last().message
    );
    assert_untouched(&ws, live);

    let (mut ws, live) = workspace();
    ws.script(|r| {
        if r.label == Some("canary") {
            RunScript::hang()
        } else {
            healthy(r)
        }
    });
    let d = deployment(&ws, config(json!({"run_timeout_seconds": 120})));
    let drive = ws.drive::<Canary>(&d, None, vec![]);
    assert_eq!(drive.phase(), Phase::Failed);
    assert!(
        drive.last().message.contains("timed-out"),
        "{}",
        drive.last().message
    );
    assert!(
        drive.last().message.contains("did not finish within 2m"),
        "{}",
        drive.last().message
    );
    assert_untouched(&ws, live);
}

#[test]
fn an_action_failure_fails_the_rollout() {
    let (mut ws, live) = workspace();
    ws.fail_when(|a| (a.id == "s2-run-1").then(|| harness::failure("QUOTA_EXCEEDED", "too many runs")));
    let d = deployment(&ws, config(json!({})));
    let drive = ws.drive::<Canary>(&d, None, vec![]);
    assert_eq!(drive.phase(), Phase::Failed);
    assert_eq!(
        drive.last().message,
        "step 2/4 (25%): action `s2-run-1` failed: too many runs (QUOTA_EXCEEDED); canary deleted; the live job was not changed"
    );
    assert_untouched(&ws, live);

    // A failure to create the canary leaves nothing to clean.
    let (mut ws, live) = workspace();
    ws.fail_when(|a| {
        (a.id == "create-canary").then(|| harness::failure("INVALID_PARAMETER_VALUE", "bad cluster"))
    });
    let drive = ws.drive::<Canary>(&d, None, vec![]);
    assert_eq!(drive.phase(), Phase::Failed);
    assert_eq!(drive.action_ids(), ["baseline-history", "create-canary"]);
    assert_untouched(&ws, live);
}

#[test]
fn approval_before_promotion() {
    let (mut ws, live) = workspace();
    let d = deployment(&ws, config(json!({"require_approval_before_promotion": true})));
    let drive = ws.drive::<Canary>(&d, None, vec![]);
    assert_eq!(drive.phase(), Phase::Succeeded);
    let ask = drive
        .steps
        .iter()
        .find_map(|s| s.result.actions.iter().find(|a| a.id == "approve-promotion"))
        .unwrap();
    let ActionKind::RequestApproval(question) = &ask.kind else {
        panic!()
    };
    assert_eq!(
        question,
        &format!(
            "Promote `{NAME}` to 100% (deployment dep-test-0001)? Canary job 1001: 10% pass, 25% pass, 50% pass; approving resets live job {live} to the new settings and deletes the canary"
        )
    );

    let (mut ws, live) = workspace();
    ws.approvals(|_| {
        OutcomeKind::Rejected(Approval {
            by: "frank".into(),
            comment: String::new(),
        })
    });
    let drive = ws.drive::<Canary>(&d, None, vec![]);
    assert_eq!(drive.phase(), Phase::Failed);
    assert_eq!(
        drive.last().message,
        "action `approve-promotion` was rejected by frank; canary deleted; the live job was not changed"
    );
    assert_untouched(&ws, live);
}

#[test]
fn scheduled_share_keeps_the_canary_schedule() {
    let (ws, _) = workspace();
    let d = deployment(&ws, config(json!({"scheduled_share": 0.2})));
    let r = Canary::step(d, None, vec![]).unwrap();
    let ActionKind::CreateJob(create) = &r.actions[1].kind else {
        panic!()
    };
    let canary: Value = serde_json::from_str(&create.settings).unwrap();
    assert_eq!(canary["schedule"]["pause_status"], json!("UNPAUSED"));
    assert_eq!(
        canary["parameters"][0],
        json!({"name": "brickship_canary_fraction", "default": "0.2"})
    );
    assert!(
        r.message
            .contains("(schedule kept, 20% of the work per scheduled run)"),
        "{}",
        r.message
    );
}

#[test]
fn the_state_stays_small_with_a_large_baseline() {
    let mut ws = FakeWorkspace::new();
    let live = ws.add_live_job(&live_settings().to_string());
    ws.add_history(
        live,
        100,
        RunScript::success(60_000).output(r#"{"rows": 1000, "null_rate": 0.01}"#),
    );
    ws.script(healthy);
    let d = deployment(
        &ws,
        config(
            json!({"baseline_runs": 100, "steps": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100], "runs_per_step": 10}),
        ),
    );
    let drive = ws.drive::<Canary>(&d, None, vec![]);
    assert_eq!(drive.phase(), Phase::Succeeded, "{:#?}", drive.messages());
    assert!(drive.state().len() < 32 * 1024, "{} bytes", drive.state().len());
}

#[test]
fn validates_config() {
    assert!(Canary::validate_config("{}").is_ok());
    assert!(Canary::validate_config(&Canary::describe().config_example.unwrap()).is_ok());
    assert!(
        Canary::validate_config(r#"{"first_step": 5, "control": {"command": "abort", "at-ms": 3}}"#).is_ok()
    );
    let paths = |c: &str| -> Vec<String> {
        Canary::validate_config(c)
            .unwrap_err()
            .into_iter()
            .map(|p| p.path)
            .collect()
    };
    assert_eq!(paths(r#"{"steps": [50, 25, 100]}"#), ["/steps"]);
    assert_eq!(paths(r#"{"steps": [10, 50]}"#), ["/steps"]);
    assert_eq!(paths(r#"{"steps": []}"#), ["/steps"]);
    assert_eq!(
        paths(r#"{"first_step": 0, "runs_per_step": 0}"#),
        ["/first_step", "/runs_per_step"]
    );
    assert_eq!(paths(r#"{"scheduled_share": 1.5}"#), ["/scheduled_share"]);
    assert_eq!(paths(r#"{"metrics": [{"name": "rows"}]}"#), ["/metrics/0"]);
    assert_eq!(
        paths(r#"{"metrics": [{"name": "rows", "maxx": 1}]}"#),
        ["/metrics/0/maxx"]
    );
    assert_eq!(paths(r#"{"duration_tolerance": -0.1}"#), ["/duration_tolerance"]);
    assert_eq!(
        paths(r#"{"parameter_overrides": {"s": [1]}}"#),
        ["/parameter_overrides/s"]
    );
    assert_eq!(paths(r#"{"baseline_runs": 101}"#), ["/baseline_runs"]);
}
