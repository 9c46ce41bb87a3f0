//! LinkedIn OAuth 2.0: consent page, code and refresh grants, revocation.

use super::Inner;
use super::errors::oauth_error;
use super::state::Code;
use crate::common::{find_app, ok_json, seconds_until, split_list, with_query};
use crate::consent::{self, Consent, ConsentError, ConsentForm, param};
use crate::incoming::Incoming;
use crate::server::lock;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::json;

const KNOWN_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "w_member_social",
    "r_member_social",
    "w_organization_social",
    "r_organization_social",
    "r_organization_admin",
    "rw_organization_admin",
    "r_basicprofile",
    "r_liteprofile",
    "r_emailaddress",
];

struct Request {
    app: String,
    redirect_uri: String,
    state: Option<String>,
    scopes: Vec<String>,
}

/// `Ok(Err(location))`: an error LinkedIn reports by redirecting (bad scope).
fn validate(inner: &Inner, params: &[(String, String)]) -> Result<Result<Request, String>, ConsentError> {
    let st = lock(&inner.state);
    let client_id = param(params, "client_id").ok_or_else(|| ConsentError::bad("client_id is missing"))?;
    let app = find_app(&st.apps, client_id).ok_or_else(|| ConsentError::bad("The passed in client_id is invalid"))?;
    let redirect_uri = param(params, "redirect_uri").ok_or_else(|| ConsentError::bad("redirect_uri is missing"))?;
    if !app.allows_redirect(redirect_uri) {
        return Err(ConsentError::bad("The redirect_uri does not match the registered value"));
    }
    if param(params, "response_type") != Some("code") {
        return Err(ConsentError::bad("response_type must be code"));
    }
    let state = param(params, "state").map(str::to_owned);
    // Scopes are space-separated; a comma-joined list arrives as one unknown scope.
    let scopes = split_list(param(params, "scope").unwrap_or(""), &[' ']);
    if let Some(bad) = scopes.iter().find(|s| !KNOWN_SCOPES.contains(&s.as_str())) {
        let description = format!("Scope \"{bad}\" is not authorized for your application");
        let mut pairs = vec![("error", "unauthorized_scope_error"), ("error_description", description.as_str())];
        if let Some(s) = state.as_deref() {
            pairs.push(("state", s));
        }
        return Ok(Err(with_query(redirect_uri, &pairs, None)));
    }
    if scopes.is_empty() {
        return Err(ConsentError::bad("scope is missing"));
    }
    Ok(Ok(Request { app: app.client_id.clone(), redirect_uri: redirect_uri.to_owned(), state, scopes }))
}

pub(super) fn authorize_page(inner: &Inner, req: &Incoming) -> Response {
    let request = match validate(inner, &req.query) {
        Ok(Ok(r)) => r,
        Ok(Err(location)) => return crate::common::redirect(&location),
        Err(e) => return e.page("LinkedIn"),
    };
    let st = lock(&inner.state);
    ConsentForm {
        network: "LinkedIn",
        app_name: request.app,
        action: req.path.clone(),
        hidden: req.query.clone(),
        accounts: st.members.iter().map(|m| (m.sub.clone(), m.name())).collect(),
        scopes: request.scopes,
    }
    .render()
}

pub(super) fn authorize_submit(inner: &Inner, req: &Incoming) -> Response {
    let outcome = consent::parse_submission(&req.body).and_then(|(c, params)| decide(inner, &params, &c));
    consent::respond("LinkedIn", outcome)
}

pub(super) fn decide(inner: &Inner, params: &[(String, String)], consent: &Consent) -> Result<String, ConsentError> {
    let request = match validate(inner, params)? {
        Ok(r) => r,
        Err(location) => return Ok(location),
    };
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    if !consent.allow {
        pairs.push(("error", "user_cancelled_authorize"));
        pairs.push(("error_description", "The user cancelled the authorization"));
        if let Some(s) = request.state.as_deref() {
            pairs.push(("state", s));
        }
        return Ok(with_query(&request.redirect_uri, &pairs, None));
    }
    let now = inner.now();
    let mut st = lock(&inner.state);
    let member = match &consent.account {
        Some(sub) if st.member(sub).is_some() => sub.clone(),
        Some(sub) => return Err(ConsentError::bad(format!("no such member: {sub}"))),
        None => st.members.first().map(|m| m.sub.clone()).ok_or_else(|| ConsentError::bad("the fake has no member"))?,
    };
    let code = format!("AQTfakeCode{:06}", st.ids.next("code"));
    let expires_at = now.checked_add(st.settings.code_ttl).unwrap_or(now);
    st.codes.insert(
        code.clone(),
        Code {
            app: request.app,
            redirect_uri: request.redirect_uri.clone(),
            member,
            scopes: consent::granted_scopes(&request.scopes, consent),
            expires_at,
            used: false,
        },
    );
    pairs.push(("code", &code));
    if let Some(s) = request.state.as_deref() {
        pairs.push(("state", s));
    }
    Ok(with_query(&request.redirect_uri, &pairs, None))
}

/// `POST /oauth/v2/accessToken`: `authorization_code` and `refresh_token` grants.
pub(super) fn access_token(inner: &Inner, req: &Incoming) -> Response {
    if !req.is_form() {
        return oauth_error(400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded");
    }
    let p = |k: &str| req.form_value(k);
    let client_id = p("client_id").unwrap_or_default();
    let now = inner.now();
    let mut st = lock(&inner.state);
    let Some(app) = find_app(&st.apps, &client_id) else {
        return oauth_error(401, "invalid_client", "Client authentication failed");
    };
    if Some(app.client_secret.as_str()) != p("client_secret").as_deref() {
        return oauth_error(401, "invalid_client", "Client authentication failed");
    }
    match p("grant_type").as_deref() {
        Some("authorization_code") => {
            let code_value = p("code").unwrap_or_default();
            let usable = st.codes.get(&code_value).is_some_and(|c| {
                !c.used
                    && c.expires_at > now
                    && c.app == client_id
                    && Some(c.redirect_uri.as_str()) == p("redirect_uri").as_deref()
            });
            if !usable {
                return oauth_error(
                    400,
                    "invalid_request",
                    "Unable to retrieve access token: appid/redirect uri/code verifier does not match authorization code. Or authorization code expired. Or external member binding exists",
                );
            }
            let Some(code) = st.codes.get_mut(&code_value) else {
                return oauth_error(400, "invalid_request", "authorization code not found");
            };
            code.used = true;
            let code = code.clone();
            let (access, expires_at, refresh) =
                st.issue_tokens(&code.member, &client_id, code.scopes.clone(), now, None);
            let mut body = json!({
                "access_token": access,
                "expires_in": seconds_until(now, expires_at),
                "scope": code.scopes.join(","),
                "token_type": "Bearer",
            });
            if let Some((value, at)) = refresh {
                body["refresh_token"] = json!(value);
                body["refresh_token_expires_in"] = json!(seconds_until(now, at));
            }
            if code.scopes.iter().any(|s| s == "openid") {
                body["id_token"] = json!(id_token(&code.member, &client_id, now));
            }
            ok_json(body)
        }
        Some("refresh_token") => {
            let value = p("refresh_token").unwrap_or_default();
            let Some(refresh) = st.refresh_tokens.get(&value).cloned() else {
                return oauth_error(
                    400,
                    "invalid_request",
                    "The provided authorization grant or refresh token is invalid, expired or revoked",
                );
            };
            if refresh.revoked || refresh.expires_at <= now || refresh.app != client_id {
                return oauth_error(
                    400,
                    "invalid_request",
                    "The provided authorization grant or refresh token is invalid, expired or revoked",
                );
            }
            let (access, expires_at, _) =
                st.issue_tokens(&refresh.member, &client_id, refresh.scopes.clone(), now, Some(refresh.expires_at));
            ok_json(json!({
                "access_token": access,
                "expires_in": seconds_until(now, expires_at),
                "refresh_token": value,
                "refresh_token_expires_in": seconds_until(now, refresh.expires_at),
                "scope": refresh.scopes.join(","),
                "token_type": "Bearer",
            }))
        }
        _ => oauth_error(400, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token"),
    }
}

/// `POST /oauth/v2/revoke` (form: `client_id, client_secret, token`): revokes the token and, for
/// a refresh token or an access token, the whole grant of that member to that app.
pub(super) fn revoke(inner: &Inner, req: &Incoming) -> Response {
    let p = |k: &str| req.form_value(k);
    let mut st = lock(&inner.state);
    let client_id = p("client_id").unwrap_or_default();
    let secret_ok =
        find_app(&st.apps, &client_id).is_some_and(|a| Some(a.client_secret.as_str()) == p("client_secret").as_deref());
    if !secret_ok {
        return oauth_error(401, "invalid_client", "Client authentication failed");
    }
    let token = p("token").unwrap_or_default();
    let member = st
        .tokens
        .get(&token)
        .map(|t| t.member.clone())
        .or_else(|| st.refresh_tokens.get(&token).map(|t| t.member.clone()));
    let Some(member) = member else {
        return oauth_error(400, "invalid_request", "The token is invalid");
    };
    for t in st.tokens.values_mut().filter(|t| t.member == member && t.app == client_id) {
        t.revoked = true;
    }
    for t in st.refresh_tokens.values_mut().filter(|t| t.member == member && t.app == client_id) {
        t.revoked = true;
    }
    StatusCode::OK.into_response()
}

/// An unsigned JWT-shaped id token (the fake does not sign; nobody should verify it against it).
fn id_token(member: &str, aud: &str, now: jiff::Timestamp) -> String {
    let b64 = |v: serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.{}",
        b64(json!({"alg": "none", "typ": "JWT"})),
        b64(
            json!({"iss": "https://www.linkedin.com/oauth", "sub": member, "aud": aud, "iat": now.as_second(), "exp": now.as_second() + 3600})
        ),
        "fake-signature"
    )
}
