//! The Jobs service of the local workspace over HTTP: job CRUD and validation, runs through the
//! simulated task DAG, job permissions, scripted run outcomes and restart persistence.

mod crud;
mod permissions;
mod persistence;
mod runs;
mod scripting;
mod support;
