//! The typed API methods on [`crate::Client`], and pagination.

mod jobs;
mod misc;
mod permissions;
mod workspace;

pub use jobs::{ListJobs, ListRuns, PollPolicy, WaitForRun};
pub use workspace::WorkspaceApi;

use std::future::Future;

use futures::{Stream, StreamExt as _, TryStreamExt as _};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// One page of a paginated list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// The token of the next page; `None` on the last page.
    pub next_page_token: Option<String>,
}

/// Largest number of pages followed for one listing: a guard against a server that never ends.
const MAX_PAGES: usize = 100_000;

/// A stream of items over `fetch(page_token)` pages, following `next_page_token` until it is
/// absent. A server that hands back the token it was just given is an error, not a loop.
pub(crate) fn paginate<'a, T, F, Fut>(
    what: &'static str,
    fetch: F,
) -> impl Stream<Item = Result<T>> + Send + 'a
where
    T: Send + 'a,
    F: FnMut(Option<String>) -> Fut + Send + 'a,
    Fut: Future<Output = Result<Page<T>>> + Send + 'a,
{
    enum Cursor {
        Start,
        Next(String, usize),
        Done,
    }
    futures::stream::try_unfold((fetch, Cursor::Start), move |(mut fetch, cursor)| async move {
        let (token, pages) = match cursor {
            Cursor::Start => (None, 0),
            Cursor::Next(token, pages) => (Some(token), pages),
            Cursor::Done => return Ok(None),
        };
        let page = fetch(token.clone()).await?;
        let next = match page.next_page_token.filter(|t| !t.is_empty()) {
            Some(next) if Some(&next) == token.as_ref() || pages + 1 >= MAX_PAGES => {
                return Err(Error::Decode {
                    method: "GET".to_owned(),
                    path: what.to_owned(),
                    message: format!(
                        "pagination does not end (page token `{next}` repeated or over {MAX_PAGES} pages)"
                    ),
                    excerpt: None,
                });
            }
            Some(next) => Cursor::Next(next, pages + 1),
            None => Cursor::Done,
        };
        let items = futures::stream::iter(page.items.into_iter().map(Ok::<T, Error>));
        Ok(Some((items, (fetch, next))))
    })
    .try_flatten()
    .boxed()
}

/// Appends every array of `page` to the same-named array of `target` (2.2 `jobs/get` and
/// `runs/get` pagination: later pages carry the next slices; exhausted arrays come back empty).
pub(crate) fn merge_arrays(target: &mut Map<String, Value>, page: Map<String, Value>) {
    for (key, value) in page {
        if let Value::Array(items) = value {
            match target.get_mut(&key) {
                Some(Value::Array(existing)) => existing.extend(items),
                Some(_) => {}
                None => {
                    target.insert(key, Value::Array(items));
                }
            }
        }
    }
}

/// Removes and returns a non-empty `next_page_token`.
pub(crate) fn take_page_token(value: &mut Value) -> Option<String> {
    let token = value.as_object_mut()?.remove("next_page_token")?;
    token.as_str().filter(|t| !t.is_empty()).map(str::to_owned)
}

/// Decodes a JSON value into a model, with the endpoint in the error.
pub(crate) fn from_value<T: serde::de::DeserializeOwned>(
    value: Value,
    method: &str,
    path: &str,
) -> Result<T> {
    let text = value.to_string();
    serde_json::from_value(value).map_err(|err| Error::Decode {
        method: method.to_owned(),
        path: path.to_owned(),
        message: err.to_string(),
        excerpt: Some(crate::error::excerpt(text.as_bytes(), 200)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merges_paginated_arrays() {
        let mut target = json!({"tasks": [{"task_key": "a"}], "name": "x"});
        let page = json!({"tasks": [{"task_key": "b"}], "job_clusters": [{"job_cluster_key": "c"}], "name": "ignored"});
        let (Value::Object(target_map), Value::Object(page_map)) = (&mut target, page) else {
            panic!("objects");
        };
        merge_arrays(target_map, page_map);
        assert_eq!(
            target,
            json!({"tasks": [{"task_key": "a"}, {"task_key": "b"}], "name": "x", "job_clusters": [{"job_cluster_key": "c"}]})
        );
    }

    #[tokio::test]
    async fn paginate_follows_tokens_and_rejects_loops() {
        let items: Vec<i32> = paginate("/x", |token: Option<String>| async move {
            Ok(match token.as_deref() {
                None => Page {
                    items: vec![1, 2],
                    next_page_token: Some("p2".into()),
                },
                Some("p2") => Page {
                    items: vec![3],
                    next_page_token: Some(String::new()),
                },
                Some(other) => panic!("unexpected token {other}"),
            })
        })
        .try_collect()
        .await
        .expect("pages");
        assert_eq!(items, vec![1, 2, 3]);

        let looping: Result<Vec<i32>> = paginate("/x", |_token| async move {
            Ok(Page {
                items: vec![1],
                next_page_token: Some("same".into()),
            })
        })
        .try_collect()
        .await;
        assert!(matches!(looping, Err(Error::Decode { .. })));
    }
}
