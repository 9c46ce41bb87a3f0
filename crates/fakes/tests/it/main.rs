//! The fakes crate's one integration-test binary: each fake driven over plain HTTP on loopback.

mod support;

mod failures;
mod instagram;
mod linkedin;
mod telegram;
mod tiktok;
