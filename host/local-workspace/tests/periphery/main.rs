//! The local workspace's periphery over HTTP: middleware (auth, rate limits, faults, request
//! log, gzip, body limit), the `/_local/` control plane, workspace objects and files, and the
//! neighbouring APIs (catalogs, secrets, SCIM, OIDC).

mod auth;
mod catalog;
mod control;
mod objects;
mod python_sdk;
mod support;
