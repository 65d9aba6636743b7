//! Pagination: jobs/list and runs/list over many pages, jobs/get and runs/get array pages, name filter.

use databricks::{ListJobs, ListRuns};
use futures::TryStreamExt as _;
use serde_json::{Value, json};

use crate::support::{Hit, Reply, Stub, client, err, ok};

const JOBS: usize = 250;

fn job(id: usize) -> Value {
    json!({ "job_id": id, "created_time": 1_700_000_000_000u64 + id as u64, "settings": { "name": format!("job-{id}"), "format": "MULTI_TASK" } })
}

/// `jobs/list` over `JOBS` jobs with opaque page tokens `p<offset>`.
fn list_jobs(hit: &Hit) -> Reply {
    let limit: usize = hit.query("limit").and_then(|l| l.parse().ok()).unwrap_or(20);
    if limit > 100 {
        return err(400, "INVALID_PARAMETER_VALUE", "limit must be at most 100");
    }
    let offset: usize = hit
        .query("page_token")
        .and_then(|t| t.strip_prefix('p'))
        .and_then(|o| o.parse().ok())
        .unwrap_or(0);
    let all: Vec<usize> = match hit.query("name") {
        Some(name) => (0..JOBS)
            .filter(|i| format!("job-{i}").eq_ignore_ascii_case(name))
            .collect(),
        None => (0..JOBS).collect(),
    };
    let page: Vec<Value> = all.iter().skip(offset).take(limit).map(|i| job(*i)).collect();
    let mut body = json!({ "jobs": page, "has_more": offset + limit < all.len() });
    if offset + limit < all.len() {
        body["next_page_token"] = json!(format!("p{}", offset + limit));
    }
    ok(body)
}

#[tokio::test]
async fn lists_every_job_across_pages() {
    let stub = Stub::start(|hit, _| list_jobs(hit)).await;
    let (client, _clock) = client(&stub.url).await;
    let jobs = client.list_jobs(&ListJobs::default()).await.expect("jobs");
    assert_eq!(jobs.len(), JOBS);
    let ids: Vec<i64> = jobs.iter().map(|j| j.job_id).collect();
    assert_eq!(ids, (0..JOBS as i64).collect::<Vec<_>>());
    let hits = stub.hits();
    assert_eq!(hits.len(), 3, "250 jobs in pages of 100");
    assert!(hits.iter().all(|h| h.query("limit") == Some("100")));
    assert_eq!(hits[1].query("page_token"), Some("p100"));

    // Page-at-a-time and streaming forms see the same data.
    let first = client
        .list_jobs_page(
            &ListJobs {
                limit: Some(10),
                ..ListJobs::default()
            },
            None,
        )
        .await
        .expect("page");
    assert_eq!(first.items.len(), 10);
    assert_eq!(first.next_page_token.as_deref(), Some("p10"));
    let query = ListJobs::default();
    let streamed: Vec<_> = client
        .list_jobs_stream(&query)
        .try_collect()
        .await
        .expect("stream");
    assert_eq!(streamed.len(), JOBS);
}

#[tokio::test]
async fn find_by_name_uses_the_server_filter() {
    let stub = Stub::start(|hit, _| list_jobs(hit)).await;
    let (client, _clock) = client(&stub.url).await;
    let found = client.find_jobs_by_name("JOB-42").await.expect("found");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].job_id, 42);
    let hits = stub.hits();
    assert_eq!(hits.len(), 1, "never lists every job");
    assert_eq!(hits[0].query("name"), Some("JOB-42"));
    assert!(client.find_jobs_by_name("nope").await.expect("none").is_empty());
}

fn tasks(range: std::ops::Range<usize>) -> Vec<Value> {
    range
        .map(|i| json!({ "task_key": format!("t{i:03}"), "notebook_task": { "notebook_path": "/n" } }))
        .collect()
}

#[tokio::test]
async fn get_job_merges_paginated_arrays() {
    let stub = Stub::start(|hit, _| {
        let page = hit.query("page_token").unwrap_or("");
        let (tasks_page, clusters, next) = match page {
            "" => (tasks(0..100), json!([{ "job_cluster_key": "c1", "new_cluster": { "num_workers": 1 } }]), Some("2")),
            "2" => (tasks(100..200), json!([]), Some("3")),
            "3" => (tasks(200..250), json!([]), None),
            _ => return err(400, "INVALID_PARAMETER_VALUE", "bad token"),
        };
        let mut body = json!({
            "job_id": 9,
            "settings": { "name": "big", "tasks": tasks_page, "job_clusters": clusters, "max_concurrent_runs": 1 },
        });
        if let Some(next) = next {
            body["next_page_token"] = json!(next);
        }
        ok(body)
    })
    .await;
    let (client, _clock) = client(&stub.url).await;
    let job = client.get_job(9).await.expect("job");
    let tasks = job.settings.tasks.as_ref().expect("tasks");
    assert_eq!(tasks.len(), 250);
    assert_eq!(tasks[249].task_key, "t249");
    assert_eq!(job.settings.job_clusters.as_ref().map(Vec::len), Some(1));
    assert_eq!(job.next_page_token, None, "the token is consumed");
    assert_eq!(stub.hits().len(), 3);
    assert!(stub.hits().iter().all(|h| h.query("job_id") == Some("9")));
}

#[tokio::test]
async fn get_run_merges_task_pages_and_lists_runs() {
    let stub = Stub::start(|hit, _| match hit.path.as_str() {
        "/api/2.2/jobs/runs/get" => {
            let page = hit.query("page_token").unwrap_or("");
            let run_tasks: Vec<Value> = match page {
                "" => (0..100).map(|i| json!({ "task_key": format!("t{i}"), "run_id": 1000 + i })).collect(),
                _ => (100..120).map(|i| json!({ "task_key": format!("t{i}"), "run_id": 1000 + i })).collect(),
            };
            let mut body = json!({ "run_id": 5, "job_id": 9, "state": { "life_cycle_state": "RUNNING" }, "tasks": run_tasks });
            if page.is_empty() {
                body["next_page_token"] = json!("more");
            }
            ok(body)
        }
        "/api/2.2/jobs/runs/list" => {
            let offset: usize = hit.query("page_token").and_then(|t| t.parse().ok()).unwrap_or(0);
            let runs: Vec<Value> = (offset..(offset + 25).min(60)).map(|i| json!({ "run_id": 60 - i, "job_id": 9 })).collect();
            let mut body = json!({ "runs": runs });
            if offset + 25 < 60 {
                body["next_page_token"] = json!((offset + 25).to_string());
            }
            ok(body)
        }
        _ => err(404, "NOT_FOUND", "no"),
    })
    .await;
    let (client, _clock) = client(&stub.url).await;
    let run = client.get_run(5).await.expect("run");
    assert_eq!(run.tasks.as_ref().map(Vec::len), Some(120));
    assert_eq!(run.task("t119").and_then(|t| t.run_id), Some(1119));

    let runs = client.list_runs(&ListRuns::for_job(9)).await.expect("runs");
    assert_eq!(runs.len(), 60);
    assert_eq!(runs[0].run_id, 60);
    let recent = client
        .recent_runs(&ListRuns::for_job(9), 5)
        .await
        .expect("recent");
    assert_eq!(recent.len(), 5);
    let list_hits = stub.hits_to("/api/2.2/jobs/runs/list");
    assert_eq!(
        list_hits.len(),
        3 + 1,
        "three pages, then one page for the five most recent"
    );
    assert!(list_hits.iter().all(|h| h.query("limit") == Some("25")));
}
