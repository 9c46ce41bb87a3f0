//! TikTok OAuth v2: consent page with PKCE, code and refresh grants (with rotation), revocation.

use super::Inner;
use super::errors;
use super::state::Code;
use crate::common::{find_app, ok_json, pkce_s256, seconds_until, split_list, valid_pkce_verifier, with_query};
use crate::consent::{self, Consent, ConsentError, ConsentForm, param};
use crate::incoming::Incoming;
use crate::server::lock;
use axum::response::Response;
use serde_json::json;

const KNOWN_SCOPES: &[&str] =
    &["user.info.basic", "user.info.profile", "user.info.stats", "video.publish", "video.upload", "video.list"];

struct Request {
    client_key: String,
    redirect_uri: String,
    state: Option<String>,
    scopes: Vec<String>,
    challenge: Option<String>,
}

fn validate(inner: &Inner, params: &[(String, String)]) -> Result<Request, ConsentError> {
    let st = lock(&inner.state);
    let key = param(params, "client_key").ok_or_else(|| ConsentError::bad("client_key is missing"))?;
    let app = find_app(&st.apps, key).ok_or_else(|| ConsentError::bad("client_key is invalid"))?;
    let redirect_uri = param(params, "redirect_uri").ok_or_else(|| ConsentError::bad("redirect_uri is missing"))?;
    if !app.allows_redirect(redirect_uri) {
        return Err(ConsentError::bad("redirect_uri is not registered for this client"));
    }
    if st.settings.require_https_redirect && !redirect_uri.starts_with("https://") {
        return Err(ConsentError::bad("redirect_uri must use HTTPS"));
    }
    if param(params, "response_type") != Some("code") {
        return Err(ConsentError::bad("response_type must be code"));
    }
    let scopes = split_list(param(params, "scope").unwrap_or(""), &[',']);
    if scopes.is_empty() {
        return Err(ConsentError::bad("scope is missing"));
    }
    if let Some(bad) = scopes.iter().find(|s| !KNOWN_SCOPES.contains(&s.as_str())) {
        return Err(ConsentError::bad(format!("scope {bad} is invalid (scopes are comma-separated)")));
    }
    let challenge = param(params, "code_challenge").map(str::to_owned);
    if challenge.is_some() && param(params, "code_challenge_method") != Some("S256") {
        return Err(ConsentError::bad("code_challenge_method must be S256"));
    }
    Ok(Request {
        client_key: app.client_id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        state: param(params, "state").map(str::to_owned),
        scopes,
        challenge,
    })
}

pub(super) fn authorize_page(inner: &Inner, req: &Incoming) -> Response {
    let request = match validate(inner, &req.query) {
        Ok(r) => r,
        Err(e) => return e.page("TikTok"),
    };
    let st = lock(&inner.state);
    ConsentForm {
        network: "TikTok",
        app_name: request.client_key,
        action: req.path.clone(),
        hidden: req.query.clone(),
        accounts: st.creators.iter().map(|c| (c.open_id.clone(), format!("@{}", c.spec.username))).collect(),
        scopes: request.scopes,
    }
    .render()
}

pub(super) fn authorize_submit(inner: &Inner, req: &Incoming) -> Response {
    let outcome = consent::parse_submission(&req.body).and_then(|(c, params)| decide(inner, &params, &c));
    consent::respond("TikTok", outcome)
}

pub(super) fn decide(inner: &Inner, params: &[(String, String)], consent: &Consent) -> Result<String, ConsentError> {
    let request = validate(inner, params)?;
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    if !consent.allow {
        pairs.push(("error", "access_denied"));
        pairs.push(("error_description", "The user denied the authorization request."));
        if let Some(s) = request.state.as_deref() {
            pairs.push(("state", s));
        }
        return Ok(with_query(&request.redirect_uri, &pairs, None));
    }
    let now = inner.now();
    let mut st = lock(&inner.state);
    let open_id = match &consent.account {
        Some(id) if st.creator(id).is_some() => id.clone(),
        Some(id) => return Err(ConsentError::bad(format!("no such creator: {id}"))),
        None => st
            .creators
            .first()
            .map(|c| c.open_id.clone())
            .ok_or_else(|| ConsentError::bad("the fake has no creator"))?,
    };
    let scopes = consent::granted_scopes(&request.scopes, consent);
    let code = format!("fakeTikTokCode{:06}", st.ids.next("code"));
    let expires_at = now.checked_add(st.settings.code_ttl).unwrap_or(now);
    st.codes.insert(
        code.clone(),
        Code {
            client_key: request.client_key,
            redirect_uri: request.redirect_uri.clone(),
            open_id,
            scopes: scopes.clone(),
            challenge: request.challenge,
            expires_at,
            used: false,
        },
    );
    let joined = scopes.join(",");
    pairs.push(("code", &code));
    pairs.push(("scopes", &joined));
    if let Some(s) = request.state.as_deref() {
        pairs.push(("state", s));
    }
    Ok(with_query(&request.redirect_uri, &pairs, None))
}

/// `POST /v2/oauth/token/`.
pub(super) fn token(inner: &Inner, req: &Incoming) -> Response {
    let now = inner.now();
    let mut st = lock(&inner.state);
    let log_id = st.log_id();
    let p = |k: &str| req.form_value(k);
    let key = p("client_key").unwrap_or_default();
    let secret_ok =
        find_app(&st.apps, &key).is_some_and(|a| Some(a.client_secret.as_str()) == p("client_secret").as_deref());
    if !secret_ok {
        return errors::oauth(401, "invalid_client", "Client key or secret is incorrect.", &log_id);
    }
    let (open_id, scopes, grant) = match p("grant_type").as_deref() {
        Some("authorization_code") => {
            let value = p("code").unwrap_or_default();
            let Some(code) = st.codes.get(&value).cloned() else {
                return errors::oauth(400, "invalid_grant", "Authorization code is invalid.", &log_id);
            };
            if code.used || code.expires_at <= now || code.client_key != key {
                return errors::oauth(400, "invalid_grant", "Authorization code is expired or already used.", &log_id);
            }
            if Some(code.redirect_uri.as_str()) != p("redirect_uri").as_deref() {
                return errors::oauth(
                    400,
                    "invalid_grant",
                    "redirect_uri does not match the authorization request.",
                    &log_id,
                );
            }
            if let Some(challenge) = &code.challenge {
                let verifier = p("code_verifier").unwrap_or_default();
                if !valid_pkce_verifier(&verifier) || &pkce_s256(&verifier) != challenge {
                    return errors::oauth(
                        400,
                        "invalid_grant",
                        "Code verifier does not match the code challenge.",
                        &log_id,
                    );
                }
            }
            if let Some(c) = st.codes.get_mut(&value) {
                c.used = true;
            }
            (code.open_id, code.scopes, None)
        }
        Some("refresh_token") => {
            let value = p("refresh_token").unwrap_or_default();
            let Some(old) = st.refresh_tokens.get(&value).cloned() else {
                return errors::oauth(400, "invalid_grant", "Refresh token is invalid or expired.", &log_id);
            };
            if old.revoked || old.expires_at <= now || old.client_key != key {
                return errors::oauth(400, "invalid_grant", "Refresh token is invalid or expired.", &log_id);
            }
            if st.settings.rotate_refresh_tokens {
                // Rotation: the old refresh token stops working the moment a new one is issued.
                if let Some(t) = st.refresh_tokens.get_mut(&value) {
                    t.revoked = true;
                }
            } else {
                let (access, access_token, _, _) =
                    st.issue(&old.open_id, &key, old.scopes.clone(), now, Some(old.grant));
                return ok_json(json!({
                    "open_id": old.open_id,
                    "scope": old.scopes.join(","),
                    "access_token": access,
                    "expires_in": seconds_until(now, access_token.expires_at),
                    "refresh_token": value,
                    "refresh_expires_in": seconds_until(now, old.expires_at),
                    "token_type": "Bearer",
                }));
            }
            (old.open_id, old.scopes, Some(old.grant))
        }
        _ => {
            return errors::oauth(
                400,
                "invalid_request",
                "grant_type must be authorization_code or refresh_token.",
                &log_id,
            );
        }
    };
    let (access, access_token, refresh, refresh_token) = st.issue(&open_id, &key, scopes.clone(), now, grant);
    ok_json(json!({
        "open_id": open_id,
        "scope": scopes.join(","),
        "access_token": access,
        "expires_in": seconds_until(now, access_token.expires_at),
        "refresh_token": refresh,
        "refresh_expires_in": seconds_until(now, refresh_token.expires_at),
        "token_type": "Bearer",
    }))
}

/// `POST /v2/oauth/revoke/` (form `client_key, client_secret, token`): revokes the whole grant.
pub(super) fn revoke(inner: &Inner, req: &Incoming) -> Response {
    let mut st = lock(&inner.state);
    let log_id = st.log_id();
    let p = |k: &str| req.form_value(k);
    let key = p("client_key").unwrap_or_default();
    let secret_ok =
        find_app(&st.apps, &key).is_some_and(|a| Some(a.client_secret.as_str()) == p("client_secret").as_deref());
    if !secret_ok {
        return errors::oauth(401, "invalid_client", "Client key or secret is incorrect.", &log_id);
    }
    let token = p("token").unwrap_or_default();
    let found = st.tokens.get(&token).or_else(|| st.refresh_tokens.get(&token)).map(|t| (t.grant, t.open_id.clone()));
    match found {
        Some((grant, open_id)) => {
            let grants: Vec<u64> = if st.settings.revoke_ends_every_grant_of_the_user {
                st.tokens.values().filter(|t| t.open_id == open_id && t.client_key == key).map(|t| t.grant).collect()
            } else {
                vec![grant]
            };
            for g in grants {
                st.revoke_grant(g);
            }
            ok_json(json!({}))
        }
        None => errors::oauth(400, "invalid_request", "The token is invalid.", &log_id),
    }
}
