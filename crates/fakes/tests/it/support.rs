//! Shared test helpers: an HTTP client that never follows redirects, and small decoders.

use std::sync::Once;
use std::time::Duration;

/// A client that keeps redirects visible (consent pages answer 302) and gives up after 10 s.
pub fn client() -> reqwest::Client {
    static PROVIDER: Once = Once::new();
    PROVIDER.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http client")
}

/// The query parameters of a redirect `Location` (fragment ignored).
pub fn location_params(location: &str) -> Vec<(String, String)> {
    let without_fragment = location.split('#').next().unwrap_or(location);
    let query = without_fragment.split_once('?').map(|(_, q)| q).unwrap_or("");
    serde_urlencoded::from_str(query).expect("query string")
}

pub fn param(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

pub fn location(response: &reqwest::Response) -> String {
    response.headers().get("location").expect("a Location header").to_str().expect("ascii").to_owned()
}
