//! Job engine integration tests: one binary.
//!
//! `conformance` runs every case against SQLite (a temporary file), PostgreSQL (a fresh
//! database; `NANOPOST_TEST_PG_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`) and
//! Redis (a unique key prefix; `NANOPOST_TEST_REDIS_URL`, default `redis://127.0.0.1:6379/`).
//! Both servers are required: the tests fail, never skip, when one is down.

mod conformance;
mod harness;
mod runtime;
mod same_transaction;
