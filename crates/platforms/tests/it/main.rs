//! Adapter tests against the stateful fakes (crates/fakes), over a real SQLite store.

mod instagram;
mod linkedin;
mod rotation;
mod support;
mod tiktok;
