//! The SMTP transport against a real SMTP server (aiosmtpd, started per test by
//! `nanopost_mail::testing::SmtpSink`).

mod smtp;
