//! Job definitions: `create`, `get`, `list`, `reset`, `update`, `delete`.

use axum::response::Response;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::permissions;
use super::request::{
    ApiVersion, Query, empty_ok, json_ok, page_token, page_tokens, parse_page_token, req_i64, wrong_type,
};
use super::runs::{Activity, activity, cancel_runs};
use super::settings::{self, PAGE, SettingsView, max_paged_len};
use super::store::JobRecord;
use crate::AppState;
use crate::api_error::{ApiError, ApiResult};

const JOB_PAGE_KIND: &str = "job";
const JOBS_LIST_KIND: &str = "jobs";
const JOBS_LIST_DEFAULT: i64 = 20;
const JOBS_LIST_MAX: i64 = 100;

/// `Job` (get) and `BaseJob` (list), serialised straight from the stored settings.
#[derive(Serialize)]
struct JobOut<'a> {
    job_id: i64,
    creator_user_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    run_as_user_name: Option<&'a str>,
    created_time: i64,
    settings: SettingsView<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    has_more: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
}

/// The user a job runs as: `run_as` if set to a user or service principal, else the creator.
fn run_as_user_name(settings: &Map<String, Value>, creator: &str) -> String {
    let run_as = settings.get("run_as");
    ["user_name", "service_principal_name"]
        .iter()
        .find_map(|field| run_as?.get(*field)?.as_str())
        .unwrap_or(creator)
        .to_owned()
}

/// `POST /jobs/create`.
pub fn create(state: &AppState, version: ApiVersion, mut body: Map<String, Value>) -> ApiResult<Response> {
    let requested = permissions::parse_acl(body.get("access_control_list"))?;
    body.remove("access_control_list");
    settings::strip_empty_arrays(&mut body);
    settings::validate(&body, false)?;
    settings::apply_defaults(&mut body, version, true);
    let creator = state.config.user_name.as_str();
    let acl = permissions::initial_acl(creator, requested)?;
    let job_id = state.jobs.mutate(&state.clock, |store, now| {
        let job_id = store.next_job_id();
        let record = JobRecord {
            job_id,
            created_time: now,
            creator_user_name: creator.to_owned(),
            run_as_user_name: run_as_user_name(&body, creator),
            settings: body,
            acl,
        };
        store.jobs.insert(job_id, record);
        Ok(job_id)
    })?;
    json_ok(&json!({ "job_id": job_id }))
}

/// `GET /jobs/get`; 2.2 pages the arrays over 100 entries with `next_page_token`.
pub fn get(state: &AppState, version: ApiVersion, query: &Query) -> ApiResult<Response> {
    let job_id = query.req_i64("job_id")?;
    let offset = match query.get("page_token").filter(|t| !t.is_empty()) {
        Some(token) => parse_page_token(JOB_PAGE_KIND, token)?,
        None => 0,
    };
    let store = state.jobs.read();
    let job = store
        .jobs
        .get(&job_id)
        .ok_or_else(|| ApiError::job_not_found(job_id))?;
    let (window, next_page_token) = if version >= ApiVersion::V22 {
        let total = max_paged_len(&job.settings);
        if total > PAGE || offset > 0 {
            let next = (offset + PAGE < total).then(|| page_token(JOB_PAGE_KIND, offset + PAGE));
            (Some((offset, PAGE)), next)
        } else {
            (None, None)
        }
    } else {
        (None, None)
    };
    json_ok(&JobOut {
        job_id,
        creator_user_name: &job.creator_user_name,
        run_as_user_name: Some(&job.run_as_user_name),
        created_time: job.created_time,
        settings: SettingsView {
            settings: &job.settings,
            window,
            omit: &[],
        },
        has_more: None,
        next_page_token,
    })
}

/// `GET /jobs/list`: newest first; `name` is an exact, case-insensitive filter.
pub fn list(state: &AppState, version: ApiVersion, query: &Query) -> ApiResult<Response> {
    let limit = query.opt_i64("limit")?.unwrap_or(JOBS_LIST_DEFAULT);
    if !(1..=JOBS_LIST_MAX).contains(&limit) {
        return Err(ApiError::invalid(format!(
            "limit must be between 1 and {JOBS_LIST_MAX}, got {limit}"
        )));
    }
    let limit = usize::try_from(limit).unwrap_or(20);
    let offset = match query.get("page_token").filter(|t| !t.is_empty()) {
        Some(token) => parse_page_token(JOBS_LIST_KIND, token)?,
        None => match query.opt_i64("offset")? {
            Some(offset) if offset < 0 => {
                return Err(ApiError::invalid(format!(
                    "offset must be non-negative, got {offset}"
                )));
            }
            Some(offset) => usize::try_from(offset).unwrap_or(0),
            None => 0,
        },
    };
    let name = query.get("name").filter(|n| !n.is_empty()).map(str::to_lowercase);
    let expand = query.bool("expand_tasks")?;
    let paged = version >= ApiVersion::V22;
    let store = state.jobs.read();
    let matching = store.jobs.values().rev().filter(|job| {
        name.as_deref().is_none_or(|wanted| {
            job.settings
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| n.to_lowercase() == wanted)
        })
    });
    let mut page = Vec::with_capacity(limit);
    let mut has_more = false;
    for job in matching.skip(offset) {
        if page.len() == limit {
            has_more = true;
            break;
        }
        let (window, omit, job_has_more): (_, &[&str], _) = match (expand, paged) {
            (false, _) => (None, &["tasks", "job_clusters"], None),
            (true, true) => (Some((0, PAGE)), &[], Some(max_paged_len(&job.settings) > PAGE)),
            (true, false) => (None, &[], None),
        };
        page.push(JobOut {
            job_id: job.job_id,
            creator_user_name: &job.creator_user_name,
            run_as_user_name: None,
            created_time: job.created_time,
            settings: SettingsView {
                settings: &job.settings,
                window,
                omit,
            },
            has_more: job_has_more,
            next_page_token: None,
        });
    }

    #[derive(Serialize)]
    struct ListOut<'a> {
        #[serde(skip_serializing_if = "Vec::is_empty")]
        jobs: Vec<JobOut<'a>>,
        has_more: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        next_page_token: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        prev_page_token: Option<String>,
    }
    let (next_page_token, prev_page_token) = page_tokens(JOBS_LIST_KIND, offset, limit, has_more);
    json_ok(&ListOut {
        jobs: page,
        has_more,
        next_page_token,
        prev_page_token,
    })
}

fn settings_field(
    body: &mut Map<String, Value>,
    field: &str,
    required: bool,
) -> ApiResult<Option<Map<String, Value>>> {
    match body.remove(field) {
        None | Some(Value::Null) if required => {
            Err(ApiError::invalid(format!("Missing required field: {field}")))
        }
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(settings)) => Ok(Some(settings)),
        Some(other) => Err(wrong_type(field, "an object", &other)),
    }
}

/// `POST /jobs/reset`: replaces the settings wholesale, except that an omitted `run_as` keeps
/// the previous one (a real-workspace quirk).
pub fn reset(state: &AppState, version: ApiVersion, mut body: Map<String, Value>) -> ApiResult<Response> {
    let job_id = req_i64(&body, "job_id")?;
    let mut new_settings = settings_field(&mut body, "new_settings", true)?.unwrap_or_default();
    settings::strip_empty_arrays(&mut new_settings);
    settings::validate(&new_settings, false)?;
    settings::apply_defaults(&mut new_settings, version, true);
    state.jobs.mutate(&state.clock, |store, _now| {
        let job = store
            .jobs
            .get_mut(&job_id)
            .ok_or_else(|| ApiError::job_not_found(job_id))?;
        if new_settings.get("run_as").is_none_or(Value::is_null)
            && let Some(run_as) = job.settings.get("run_as").filter(|v| !v.is_null())
        {
            new_settings.insert("run_as".into(), run_as.clone());
        }
        job.run_as_user_name = run_as_user_name(&new_settings, &job.creator_user_name);
        job.settings = new_settings;
        Ok(())
    })?;
    empty_ok()
}

/// `POST /jobs/update`: top-level fields replace, keyed arrays merge, `fields_to_remove` removes.
pub fn update(state: &AppState, version: ApiVersion, mut body: Map<String, Value>) -> ApiResult<Response> {
    let job_id = req_i64(&body, "job_id")?;
    let mut new_settings = settings_field(&mut body, "new_settings", false)?.unwrap_or_default();
    new_settings.remove("access_control_list");
    settings::strip_empty_arrays(&mut new_settings);
    let remove: Vec<String> = match body.get("fields_to_remove") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(fields)) => fields
            .iter()
            .map(|field| {
                field
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| wrong_type("fields_to_remove", "an array of strings", field))
            })
            .collect::<ApiResult<_>>()?,
        Some(other) => return Err(wrong_type("fields_to_remove", "an array", other)),
    };
    state.jobs.mutate(&state.clock, |store, _now| {
        let job = store
            .jobs
            .get_mut(&job_id)
            .ok_or_else(|| ApiError::job_not_found(job_id))?;
        let mut merged = job.settings.clone();
        settings::merge_update(&mut merged, new_settings, &remove)?;
        settings::validate(&merged, false)?;
        settings::apply_defaults(&mut merged, version, false);
        job.run_as_user_name = run_as_user_name(&merged, &job.creator_user_name);
        job.settings = merged;
        Ok(())
    })?;
    empty_ok()
}

/// `POST /jobs/delete`: removes the job and its permissions and cancels its active runs.
pub fn delete(state: &AppState, _version: ApiVersion, body: Map<String, Value>) -> ApiResult<Response> {
    let job_id = req_i64(&body, "job_id")?;
    state.jobs.mutate(&state.clock, |store, now| {
        if store.jobs.remove(&job_id).is_none() {
            return Err(ApiError::job_not_found(job_id));
        }
        let active: Vec<i64> = store
            .runs
            .values()
            .filter(|run| run.job_id == job_id && activity(store, run, now) != Activity::Done)
            .map(|run| run.run_id)
            .collect();
        cancel_runs(store, &active, now);
        Ok(())
    })?;
    empty_ok()
}
