//! End-to-end tests of the `nanopost` binary: each test runs the real executable in a fresh
//! temporary directory, on a port the kernel picks (`--listen 127.0.0.1:0`; the URL is read from
//! what the binary prints). Every wait is bounded and every child is killed when its handle drops.
//!
//! The PostgreSQL tests need a server where the user may CREATE DATABASE:
//! `NANOPOST_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`), reached with
//! `psql`. They fail, rather than skip, when it is missing; `scripts/test` starts it.

mod admin;
mod config;
mod crash;
mod demo;
mod email;
mod harness;
mod migrate_media;
mod postgres;
mod rotate_keys;
mod scale_out;
mod serve;
