//! nanopost-ai's one integration-test binary: the OpenAI-compatible provider against the
//! stateful fake (success, failure and privacy paths), and the offline provider's output.

mod support;

mod offline_cards;
mod offline_text;
mod openai_failures;
mod openai_success;
mod privacy;
