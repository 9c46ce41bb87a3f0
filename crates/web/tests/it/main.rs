//! The web crate's one integration-test binary.

mod support;

mod api;
mod health;
mod telegram;
mod ui;
