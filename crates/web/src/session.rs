//! Sessions, CSRF and the request extractors of the server-rendered pages.
//!
//! * The session lives in the `np_session` cookie (HttpOnly, SameSite=Lax, Secure behind
//!   https); its value is the secret token `Services::login` handed out.
//! * Every state-changing form goes through [`CsrfForm`] (signed-in forms: a hidden `csrf` field
//!   carrying `Services::csrf_token(session)`) or [`PublicForm`] (sign-up, login, password reset,
//!   e-mail verification: a double-submit of the random `np_csrf` cookie). Both first refuse
//!   cross-site requests (`Sec-Fetch-Site: cross-site`, or an `Origin` that is not the public
//!   URL's), then read the urlencoded body themselves, so that oversized bodies, invalid UTF-8,
//!   unknown fields and wrong types become a page with a sentence instead of a plain-text
//!   rejection. Nothing reaches a handler before all of that passed.

use crate::AppState;
use crate::ui::PageError;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header::{COOKIE, ORIGIN, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::response::{IntoResponse, IntoResponseParts, Redirect, Response, ResponseParts};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use nanopost_storage::User;
use serde::de::DeserializeOwned;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

pub const SESSION_COOKIE: &str = "np_session";
pub const PRE_CSRF_COOKIE: &str = "np_csrf";
/// The hidden field every form carries.
pub const CSRF_FIELD: &str = "csrf";
/// Forms are small; anything larger is refused before it is parsed.
pub const MAX_FORM_BYTES: usize = 256 * 1024;

// ---------------------------------------------------------------------------------------------
// Cookies
// ---------------------------------------------------------------------------------------------

/// The value of the first cookie called `name`, from every `Cookie` header of the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| k.trim() == name)
        .map(|(_, v)| v.trim().trim_matches('"'))
        .filter(|v| !v.is_empty())
}

fn secure(state: &AppState) -> bool {
    state.config.public_url.trim_start().to_ascii_lowercase().starts_with("https://")
}

/// Characters a cookie value may hold without quoting; our tokens are URL-safe base64.
fn cookie_safe(v: &str) -> bool {
    !v.is_empty() && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

fn cookie_header(s: String) -> HeaderValue {
    HeaderValue::try_from(s).unwrap_or_else(|_| HeaderValue::from_static("np_invalid=; Max-Age=0; Path=/"))
}

/// `Set-Cookie` for a new session.
pub fn session_cookie(state: &AppState, token: &str) -> HeaderValue {
    let ttl = state.services.config().session_ttl.as_secs().max(0);
    let token = if cookie_safe(token) { token } else { "" };
    let sec = if secure(state) { "; Secure" } else { "" };
    cookie_header(format!("{SESSION_COOKIE}={token}; HttpOnly; SameSite=Lax; Path=/; Max-Age={ttl}{sec}"))
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_session_cookie(state: &AppState) -> HeaderValue {
    let sec = if secure(state) { "; Secure" } else { "" };
    cookie_header(format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0{sec}"))
}

fn random_token() -> String {
    let mut b = [0u8; 32];
    // The OS random source failing is not something a page can recover from; an empty token
    // would never verify, so the form is refused rather than weakened.
    if getrandom::fill(&mut b).is_err() {
        return String::new();
    }
    URL_SAFE_NO_PAD.encode(b)
}

/// Equality that takes as long for every input of the same length.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

// ---------------------------------------------------------------------------------------------
// The signed-in user
// ---------------------------------------------------------------------------------------------

/// The signed-in user of a page. Absent or expired session: a redirect to `/login?next=…`.
pub struct CurrentUser {
    pub user: User,
    /// The session token (the cookie's value), for CSRF tokens and logout.
    pub token: String,
}

impl CurrentUser {
    pub fn csrf(&self, state: &AppState) -> String {
        state.services.csrf_token(&self.token)
    }
}

/// Where to send someone who must sign in first, coming back to `next` afterwards.
pub fn login_redirect(next: &str) -> Response {
    let next = safe_next(next);
    if next == "/" {
        return Redirect::to("/login").into_response();
    }
    let q = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
    Redirect::to(&format!("/login?{q}")).into_response()
}

/// A local path to return to after signing in; anything else (other hosts, `//evil`, `/\evil`)
/// becomes `/`.
pub fn safe_next(next: &str) -> &str {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control() || c == '\\')
        && next.len() <= 2000;
    if ok { next } else { "/" }
}

async fn current_user(parts: &Parts, state: &AppState) -> Result<Option<CurrentUser>, PageError> {
    let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else { return Ok(None) };
    let token = token.to_owned();
    if !cookie_safe(&token) || token.len() > 200 {
        return Ok(None);
    }
    Ok(state.services.authenticate_session(&token).await?.map(|user| CurrentUser { user, token }))
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match current_user(parts, state).await {
            Ok(Some(u)) => Ok(u),
            Ok(None) => {
                let next = if parts.method == Method::GET {
                    parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
                } else {
                    "/"
                };
                Err(login_redirect(next))
            }
            Err(e) => Err(e.into_response()),
        }
    }
}

/// The signed-in user if there is one; pages that work either way.
pub struct MaybeUser(pub Option<CurrentUser>);

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        current_user(parts, state).await.map(MaybeUser).map_err(IntoResponse::into_response)
    }
}

/// The client's address for login rate limits: the socket peer when the server recorded it,
/// else the loopback address (tests, or a server started without connect info).
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        Ok(ClientIp(ip))
    }
}

// ---------------------------------------------------------------------------------------------
// Pre-login CSRF (double submit)
// ---------------------------------------------------------------------------------------------

/// The double-submit value for the forms shown before sign-in: the `np_csrf` cookie if the
/// browser sent a well-formed one, else a fresh random value. Return it with the page
/// (`(pre, page)`) so a fresh value is set as the cookie.
pub struct PreCsrf {
    pub value: String,
    fresh: bool,
    secure: bool,
}

impl FromRequestParts<AppState> for PreCsrf {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let secure = secure(state);
        match cookie(&parts.headers, PRE_CSRF_COOKIE).filter(|v| cookie_safe(v) && v.len() >= 32 && v.len() <= 64) {
            Some(v) => Ok(PreCsrf { value: v.to_owned(), fresh: false, secure }),
            None => Ok(PreCsrf { value: random_token(), fresh: true, secure }),
        }
    }
}

impl IntoResponseParts for PreCsrf {
    type Error = Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        if self.fresh && !self.value.is_empty() {
            let sec = if self.secure { "; Secure" } else { "" };
            let v = cookie_header(format!(
                "{PRE_CSRF_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age=86400{sec}",
                self.value
            ));
            res.headers_mut().append(SET_COOKIE, v);
        }
        Ok(res)
    }
}

// ---------------------------------------------------------------------------------------------
// Forms
// ---------------------------------------------------------------------------------------------

/// The origin (`scheme://host[:port]`, lower case, default port dropped) of a URL.
pub fn origin_of(url: &str) -> Option<String> {
    let url = url.trim();
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit_once('@').map(|(_, h)| h).unwrap_or(authority).to_ascii_lowercase();
    if authority.is_empty() {
        return None;
    }
    let authority = match (scheme.as_str(), authority.rsplit_once(':')) {
        ("http", Some((h, "80"))) | ("https", Some((h, "443"))) => h.to_owned(),
        _ => authority,
    };
    Some(format!("{scheme}://{authority}"))
}

/// Refuses requests another site made the browser send.
pub fn check_same_origin(headers: &HeaderMap, state: &AppState) -> Result<(), PageError> {
    let refuse = || {
        PageError::forbidden(
            "This form was sent from another site, so it was refused. Open the page here and try again.",
        )
    };
    if headers.get("sec-fetch-site").is_some_and(|site| site.as_bytes().eq_ignore_ascii_case(b"cross-site")) {
        return Err(refuse());
    }
    if let Some(origin) = headers.get(ORIGIN) {
        let expected = origin_of(&state.config.public_url);
        let got = origin.to_str().ok().and_then(origin_of);
        if expected.is_none() || got != expected {
            return Err(refuse());
        }
    }
    Ok(())
}

/// Decoded `name=value` pairs of an urlencoded body, refusing text that is not UTF-8.
pub fn decode_pairs(body: &[u8]) -> Result<Vec<(String, String)>, PageError> {
    let mut out = Vec::new();
    for piece in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let (k, v) = match piece.iter().position(|b| *b == b'=') {
            Some(i) => (&piece[..i], &piece[i + 1..]),
            None => (piece, &b""[..]),
        };
        let k = percent_decode(k)?;
        let v = percent_decode(v)?;
        out.push((k, v));
        if out.len() > 1_000 {
            return Err(PageError::bad_request("The form has too many fields."));
        }
    }
    Ok(out)
}

fn percent_decode(raw: &[u8]) -> Result<String, PageError> {
    let mut bytes = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (raw.get(i + 1).copied().and_then(hex), raw.get(i + 2).copied().and_then(hex)) {
                    (Some(h), Some(l)) => {
                        bytes.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => bytes.push(b'%'),
                }
            }
            b => bytes.push(b),
        }
        i += 1;
    }
    String::from_utf8(bytes)
        .map_err(|_| PageError::bad_request("The form contained text that is not valid UTF-8, so nothing was saved."))
}

/// Reads the whole body, up to [`MAX_FORM_BYTES`] (or the configured limit, if lower).
async fn read_body(body: Body, state: &AppState) -> Result<Vec<u8>, PageError> {
    let limit = MAX_FORM_BYTES.min(state.config.max_body_bytes.max(1));
    axum::body::to_bytes(body, limit).await.map(|b| b.to_vec()).map_err(|_| {
        PageError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "Form too large",
            format!("The form was larger than {} KiB, so nothing was saved.", limit / 1024),
        )
    })
}

fn is_form_content_type(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
        // A form without a body may come without a content type.
        .unwrap_or(true)
}

/// Splits off the `csrf` field (it must occur exactly once) and turns the rest into `T`.
fn split_form<T: DeserializeOwned>(pairs: Vec<(String, String)>) -> Result<(Option<String>, FormFields<T>), PageError> {
    let mut csrf = None;
    let mut rest = Vec::with_capacity(pairs.len());
    let mut csrf_count = 0;
    for (k, v) in pairs {
        if k == CSRF_FIELD {
            csrf_count += 1;
            csrf = Some(v);
        } else {
            rest.push((k, v));
        }
    }
    if csrf_count > 1 {
        csrf = None;
    }
    Ok((csrf, FormFields { pairs: rest, _t: std::marker::PhantomData }))
}

/// The fields of a form after the CSRF check, not yet turned into `T`.
struct FormFields<T> {
    pairs: Vec<(String, String)>,
    _t: std::marker::PhantomData<T>,
}

impl<T: DeserializeOwned> FormFields<T> {
    fn parse(self) -> Result<T, PageError> {
        let encoded = serde_urlencoded::to_string(&self.pairs)
            .map_err(|_| PageError::bad_request("The form could not be read, so nothing was saved."))?;
        serde_urlencoded::from_str::<T>(&encoded).map_err(|e| {
            PageError::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "The form could not be read",
                format!("The form could not be read ({}), so nothing was saved. Go back and try again.", describe(&e)),
            )
        })
    }
}

/// A short, safe description of a form-decoding problem (serde's messages name fields and
/// expected types, never stored data).
fn describe(e: &serde::de::value::Error) -> String {
    let s = e.to_string();
    let s: String = s.chars().filter(|c| !c.is_control()).take(200).collect();
    if s.is_empty() { "unexpected content".into() } else { s }
}

async fn read_checked_pairs(req: Request, state: &AppState) -> Result<(Parts, Vec<(String, String)>), PageError> {
    let (parts, body) = req.into_parts();
    check_same_origin(&parts.headers, state)?;
    if !is_form_content_type(&parts.headers) {
        return Err(PageError::new(
            axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Not a form",
            "This address takes an HTML form (application/x-www-form-urlencoded).",
        ));
    }
    let body = read_body(body, state).await?;
    let pairs = decode_pairs(&body)?;
    Ok((parts, pairs))
}

fn csrf_failed() -> PageError {
    PageError::forbidden(
        "This form has expired or did not come from this site, so nothing was changed. Reload the page and try again.",
    )
}

/// A form sent by a signed-in user: same-origin, with the session's CSRF token, parsed into
/// `T` (a `serde` struct; use `#[serde(deny_unknown_fields)]`). Without a session: a redirect
/// to the login page.
pub struct CsrfForm<T> {
    pub data: T,
    /// The session token the form was checked against.
    pub session: String,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        // The origin check comes before anything else, even before looking at the session.
        check_same_origin(req.headers(), state).map_err(IntoResponse::into_response)?;
        let Some(session) = cookie(req.headers(), SESSION_COOKIE).map(str::to_owned) else {
            return Err(login_redirect("/"));
        };
        let (_parts, pairs) = read_checked_pairs(req, state).await.map_err(IntoResponse::into_response)?;
        let (csrf, fields) = split_form::<T>(pairs).map_err(IntoResponse::into_response)?;
        let ok = csrf.is_some_and(|c| state.services.verify_csrf(&session, &c));
        if !ok {
            return Err(csrf_failed().into_response());
        }
        let data = fields.parse().map_err(IntoResponse::into_response)?;
        Ok(CsrfForm { data, session })
    }
}

/// A form shown before sign-in (sign-up, login, password reset, e-mail verification):
/// same-origin, with the `csrf` field equal to the `np_csrf` cookie (double submit).
pub struct PublicForm<T> {
    pub data: T,
    /// The double-submit value, to re-render the form with on error.
    pub pre: PreCsrf,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for PublicForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        check_same_origin(req.headers(), state).map_err(IntoResponse::into_response)?;
        let cookie_value = cookie(req.headers(), PRE_CSRF_COOKIE).map(str::to_owned);
        let (_parts, pairs) = read_checked_pairs(req, state).await.map_err(IntoResponse::into_response)?;
        let (csrf, fields) = split_form::<T>(pairs).map_err(IntoResponse::into_response)?;
        let ok = match (&cookie_value, &csrf) {
            (Some(c), Some(f)) => c.len() >= 32 && constant_time_eq(c.as_bytes(), f.as_bytes()),
            _ => false,
        };
        if !ok {
            return Err(csrf_failed().into_response());
        }
        let data = fields.parse().map_err(IntoResponse::into_response)?;
        let pre = PreCsrf { value: cookie_value.unwrap_or_default(), fresh: false, secure: secure(state) };
        Ok(PublicForm { data, pre })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalised() {
        assert_eq!(origin_of("https://Example.com/x").as_deref(), Some("https://example.com"));
        assert_eq!(origin_of("https://example.com:443").as_deref(), Some("https://example.com"));
        assert_eq!(origin_of("http://127.0.0.1:8080/").as_deref(), Some("http://127.0.0.1:8080"));
        assert_eq!(origin_of("null"), None);
    }

    #[test]
    fn pairs_are_decoded_and_bad_utf8_refused() {
        let p = decode_pairs(b"a=1+2&b=%3Cx%3E&c").unwrap();
        assert_eq!(p, vec![("a".into(), "1 2".into()), ("b".into(), "<x>".into()), ("c".into(), "".into())]);
        assert!(decode_pairs(b"a=%FF%FE").is_err());
        assert!(decode_pairs(b"a=\xff").is_err());
        assert_eq!(decode_pairs(b"a=%zz%4").unwrap()[0].1, "%zz%4");
    }

    #[test]
    fn next_must_stay_local() {
        assert_eq!(safe_next("/w/1"), "/w/1");
        assert_eq!(safe_next("//evil.example"), "/");
        assert_eq!(safe_next("https://evil.example"), "/");
        assert_eq!(safe_next("/\\evil"), "/");
    }

    #[test]
    fn cookies_are_found_among_many() {
        let mut h = HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_static("a=1; np_session=abc"));
        h.append(COOKIE, HeaderValue::from_static("np_csrf=zzz"));
        assert_eq!(cookie(&h, "np_session"), Some("abc"));
        assert_eq!(cookie(&h, "np_csrf"), Some("zzz"));
        assert_eq!(cookie(&h, "nope"), None);
    }
}
