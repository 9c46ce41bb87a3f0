//! Storage integration tests: one binary (see ARCHITECTURE.md, compile time).
//!
//! `contract` runs every case against SQLite and PostgreSQL. PostgreSQL is required: set
//! `NANOPOST_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`) to a server
//! where the user may create databases; each test gets its own and drops it afterwards.

mod accounts;
mod calendar;
mod contract;
mod fixtures;
mod generation;
mod harness;
mod media;
mod notify;
mod privacy;
mod publishing;
mod sqlite_only;
mod telegram;
