//! The media crate end to end: metadata really removed, fixes really applied, and one
//! conformance suite for every object store (the S3 one against a real S3-compatible server).

mod samples;
mod stores;
mod uploads;
