//! The Jobs service of the local workspace over HTTP: job CRUD and validation, runs through the
//! simulated task DAG, job permissions, scripted run outcomes, restart persistence, and the
//! official Python SDK driving all of it.

mod crud;
mod load;
mod permissions;
mod persistence;
mod python_sdk;
mod runs;
mod scripting;
mod support;
