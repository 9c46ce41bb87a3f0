//! Checking configured addresses before the first mail needs them.

use lettre::message::Mailbox;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an e-mail address (write `name@example.com` or `Name <name@example.com>`)")]
pub struct AddressError(pub String);

/// Accepts `a@b.c` and `Name <a@b.c>`; refuses anything a mail header cannot carry.
pub fn check_mailbox(s: &str) -> Result<(), AddressError> {
    if s.contains(['\r', '\n']) {
        return Err(AddressError(s.into()));
    }
    s.trim().parse::<Mailbox>().map(|_| ()).map_err(|_| AddressError(s.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailboxes_with_and_without_names() {
        assert!(check_mailbox("no-reply@example.com").is_ok());
        assert!(check_mailbox("Nanopost <no-reply@example.com>").is_ok());
        assert!(check_mailbox("not an address").is_err());
        assert!(check_mailbox("a@b.c\r\nBcc: x@y.z").is_err());
        assert!(check_mailbox("").is_err());
    }
}
