//! The centre of Nanopost: plain types and rules, no I/O.
//!
//! Every other crate depends on this one and this one depends on none of them. Each rule of the
//! product lives here exactly once: the role matrix in [`role`], the post state machine in
//! [`post`], and invariant I1 (approval bound to content) in [`approval`].

pub mod account;
pub mod approval;
pub mod brand;
pub mod clock;
pub mod error;
pub mod ids;
pub mod network;
pub mod post;
pub mod publication;
pub mod role;
pub mod slots;
pub mod targets;

pub use error::ValidationError;
