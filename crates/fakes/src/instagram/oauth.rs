//! Instagram Login and Facebook Login: consent pages, code exchange, long-lived exchange, refresh.

use super::errors::{self, GraphError, oauth_exchange_error};
use super::state::{AuthCode, Flow, Subject, TokenKind};
use super::{CodeExchangeShape, Inner};
use crate::common::{find_app, ok_json, seconds_until, split_list, with_query};
use crate::consent::{self, Consent, ConsentError, ConsentForm, param};
use crate::incoming::Incoming;
use crate::server::lock;
use axum::response::Response;
use serde_json::json;

/// Instagram-Login scopes the fake knows; the pre-2025 names (`business_basic`…) are refused.
const INSTAGRAM_SCOPES: &[&str] = &[
    "instagram_business_basic",
    "instagram_business_content_publish",
    "instagram_business_manage_comments",
    "instagram_business_manage_messages",
    "instagram_business_manage_insights",
];

/// What Facebook Login for Business grants for a `config_id` (the configuration's permissions).
const CONFIG_ID_SCOPES: &[&str] = &[
    "instagram_basic",
    "instagram_content_publish",
    "pages_show_list",
    "pages_read_engagement",
    "business_management",
];

struct Request {
    app_id: String,
    app_name: String,
    redirect_uri: String,
    state: Option<String>,
    scopes: Vec<String>,
}

fn network_name(flow: Flow) -> &'static str {
    match flow {
        Flow::InstagramLogin => "Instagram",
        Flow::FacebookLogin => "Facebook",
    }
}

fn validate(inner: &Inner, flow: Flow, params: &[(String, String)]) -> Result<Request, ConsentError> {
    let st = lock(&inner.state);
    let apps = match flow {
        Flow::InstagramLogin => &st.instagram_apps,
        Flow::FacebookLogin => &st.facebook_apps,
    };
    let app_id = param(params, "client_id").ok_or_else(|| ConsentError::bad("Invalid Request: missing client_id"))?;
    let app = find_app(apps, app_id).ok_or_else(|| ConsentError::bad(format!("Invalid App ID: {app_id}")))?;
    let redirect_uri =
        param(params, "redirect_uri").ok_or_else(|| ConsentError::bad("Invalid Request: missing redirect_uri"))?;
    if !app.allows_redirect(redirect_uri) {
        return Err(ConsentError::bad(format!("URL blocked: {redirect_uri} is not a valid OAuth redirect URI")));
    }
    let response_type = param(params, "response_type").unwrap_or("code");
    if response_type != "code" {
        return Err(ConsentError::bad(format!("Invalid response_type: {response_type}")));
    }
    let scopes = match (flow, param(params, "scope"), param(params, "config_id")) {
        (Flow::InstagramLogin, Some(scope), _) => {
            let scopes = split_list(scope, &[',', ' ']);
            if let Some(bad) = scopes.iter().find(|s| !INSTAGRAM_SCOPES.contains(&s.as_str())) {
                return Err(ConsentError::bad(format!("Invalid Scopes: {bad}")));
            }
            scopes
        }
        (Flow::InstagramLogin, None, _) => return Err(ConsentError::bad("Invalid Request: missing scope")),
        (Flow::FacebookLogin, Some(scope), _) => split_list(scope, &[',', ' ']),
        (Flow::FacebookLogin, None, Some(_)) => CONFIG_ID_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
        (Flow::FacebookLogin, None, None) => vec!["public_profile".to_owned()],
    };
    Ok(Request {
        app_id: app.client_id.clone(),
        app_name: app.client_id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        state: param(params, "state").map(str::to_owned),
        scopes,
    })
}

pub(super) fn authorize_page(inner: &Inner, req: &Incoming, flow: Flow) -> Response {
    let request = match validate(inner, flow, &req.query) {
        Ok(r) => r,
        Err(e) => return e.page(network_name(flow)),
    };
    let st = lock(&inner.state);
    let accounts = match flow {
        Flow::InstagramLogin => st.accounts.iter().map(|a| (a.id.clone(), format!("@{}", a.username))).collect(),
        Flow::FacebookLogin => st.fb_users.iter().map(|u| (u.id.clone(), u.name.clone())).collect(),
    };
    ConsentForm {
        network: network_name(flow),
        app_name: request.app_name,
        action: req.path.clone(),
        hidden: req.query.clone(),
        accounts,
        scopes: request.scopes,
    }
    .render()
}

pub(super) fn authorize_submit(inner: &Inner, req: &Incoming, flow: Flow) -> Response {
    let outcome = consent::parse_submission(&req.body).and_then(|(c, params)| decide(inner, flow, &params, &c));
    consent::respond(network_name(flow), outcome)
}

pub(super) fn consent_in_process(inner: &Inner, url: &str, consent: &Consent) -> Result<String, ConsentError> {
    let (path, params) = consent::url_query_pairs(url);
    let flow = if path.ends_with("/dialog/oauth") || path.ends_with("/dialog/oauth/") {
        Flow::FacebookLogin
    } else if path.ends_with("/oauth/authorize") || path.ends_with("/oauth/authorize/") {
        Flow::InstagramLogin
    } else {
        return Err(ConsentError::bad(format!("{path} is not an Instagram or Facebook authorize path")));
    };
    decide(inner, flow, &params, consent)
}

fn decide(inner: &Inner, flow: Flow, params: &[(String, String)], consent: &Consent) -> Result<String, ConsentError> {
    let request = validate(inner, flow, params)?;
    let state = request.state.as_deref();
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    if !consent.allow {
        pairs.extend([("error", "access_denied")]);
        if flow == Flow::FacebookLogin {
            pairs.push(("error_code", "200"));
            pairs.push(("error_description", "Permissions error"));
            pairs.push(("error_reason", "user_denied"));
        } else {
            pairs.push(("error_reason", "user_denied"));
            pairs.push(("error_description", "The user denied your request."));
        }
        if let Some(s) = state {
            pairs.push(("state", s));
        }
        return Ok(consent::denied(&request.redirect_uri, &pairs, Some("_")));
    }
    let now = inner.now();
    let mut st = lock(&inner.state);
    let subject = match (&consent.account, flow) {
        (Some(id), Flow::InstagramLogin) if st.account(id).is_some() => Some(id.clone()),
        (Some(id), Flow::FacebookLogin) if st.fb_users.iter().any(|u| &u.id == id) => Some(id.clone()),
        (Some(id), _) => return Err(ConsentError::bad(format!("no such user: {id}"))),
        (None, Flow::InstagramLogin) => st.accounts.first().map(|a| a.id.clone()),
        (None, Flow::FacebookLogin) => st.fb_users.first().map(|u| u.id.clone()),
    }
    .ok_or_else(|| ConsentError::bad("the fake has no user who could log in"))?;
    let granted = consent::granted_scopes(&request.scopes, consent);
    let declined = request.scopes.iter().filter(|s| !granted.contains(s)).cloned().collect();
    let expires_at = now.checked_add(st.settings.code_ttl).unwrap_or(now);
    let code = st.issue_code(AuthCode {
        flow,
        app_id: request.app_id,
        redirect_uri: request.redirect_uri.clone(),
        subject,
        scopes: granted,
        declined,
        expires_at,
        used: false,
    });
    let mut pairs = vec![("code", code.as_str())];
    if let Some(s) = state {
        pairs.push(("state", s));
    }
    Ok(with_query(&request.redirect_uri, &pairs, Some("_")))
}

/// Checks a code for the flow and marks it used.
fn redeem(
    inner: &Inner,
    flow: Flow,
    code: &str,
    app_id: &str,
    redirect_uri: Option<&str>,
) -> Result<AuthCode, &'static str> {
    let now = inner.now();
    let mut st = lock(&inner.state);
    let entry = st.codes.get_mut(code).filter(|c| c.flow == flow).ok_or("Invalid authorization code")?;
    if entry.used {
        return Err("This authorization code has been used");
    }
    if entry.expires_at <= now {
        return Err("This authorization code has expired");
    }
    if entry.app_id != app_id {
        return Err("Invalid authorization code");
    }
    if redirect_uri.is_some_and(|r| r != entry.redirect_uri) {
        return Err(
            "Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request",
        );
    }
    entry.used = true;
    Ok(entry.clone())
}

fn app_secret_ok(apps: &[crate::common::AppRegistration], app_id: &str, secret: Option<&str>) -> bool {
    find_app(apps, app_id).is_some_and(|a| Some(a.client_secret.as_str()) == secret)
}

/// `POST api.instagram.com/oauth/access_token`.
pub(super) fn ig_code_exchange(inner: &Inner, req: &Incoming) -> Response {
    let p = |k: &str| req.param(k);
    let (Some(app_id), Some(code)) = (p("client_id"), p("code")) else {
        return oauth_exchange_error("Missing required parameter: client_id and code are required");
    };
    if p("grant_type").as_deref() != Some("authorization_code") {
        return oauth_exchange_error("Invalid grant_type: must be authorization_code");
    }
    if !app_secret_ok(&lock(&inner.state).instagram_apps, &app_id, p("client_secret").as_deref()) {
        return oauth_exchange_error("Invalid Client Secret");
    }
    let Some(redirect_uri) = p("redirect_uri") else {
        return oauth_exchange_error("Missing required parameter: redirect_uri");
    };
    let granted = match redeem(inner, Flow::InstagramLogin, &code, &app_id, Some(&redirect_uri)) {
        Ok(c) => c,
        Err(message) => return oauth_exchange_error(message),
    };
    let now = inner.now();
    let mut st = lock(&inner.state);
    let token = st.issue_token(
        TokenKind::IgShort,
        Subject::Ig(granted.subject.clone()),
        &app_id,
        granted.scopes.clone(),
        granted.declined.clone(),
        now,
        None,
    );
    match st.settings.code_exchange_shape {
        CodeExchangeShape::Flat => ok_json(json!({
            "access_token": token.access_token,
            "user_id": granted.subject.parse::<u64>().map(serde_json::Value::from).unwrap_or(json!(granted.subject)),
            "permissions": granted.scopes,
        })),
        CodeExchangeShape::DataArray => ok_json(json!({"data": [{
            "access_token": token.access_token,
            "user_id": granted.subject,
            "permissions": granted.scopes.join(","),
        }]})),
    }
}

/// `GET graph.instagram.com/access_token?grant_type=ig_exchange_token`.
pub(super) fn ig_exchange_long(inner: &Inner, req: &Incoming) -> Response {
    let now = inner.now();
    let mut st = lock(&inner.state);
    let trace = st.trace();
    if req.param("grant_type").as_deref() != Some("ig_exchange_token") {
        return errors::param("Unsupported grant_type: expected ig_exchange_token").response(&trace);
    }
    let (_, short) = match st.check_token(req.param("access_token").as_deref(), super::state::IG_LISTENER, now) {
        Ok(t) => t,
        Err(e) => return e.response(&trace),
    };
    if short.kind != TokenKind::IgShort {
        return errors::param("The access token is not a short-lived Instagram User token").response(&trace);
    }
    if !app_secret_ok(&st.instagram_apps, &short.app_id, req.param("client_secret").as_deref()) {
        return GraphError::new(101, None, "Error validating client secret.").response(&trace);
    }
    let long = st.issue_token(TokenKind::IgLong, short.subject, &short.app_id, short.scopes, short.declined, now, None);
    token_json(&long, now)
}

/// `GET graph.instagram.com/refresh_access_token?grant_type=ig_refresh_token`.
pub(super) fn ig_refresh(inner: &Inner, req: &Incoming) -> Response {
    let now = inner.now();
    let mut st = lock(&inner.state);
    let trace = st.trace();
    if req.param("grant_type").as_deref() != Some("ig_refresh_token") {
        return errors::param("Unsupported grant_type: expected ig_refresh_token").response(&trace);
    }
    let (_, old) = match st.check_token(req.param("access_token").as_deref(), super::state::IG_LISTENER, now) {
        Ok(t) => t,
        Err(e) => return e.response(&trace),
    };
    if old.kind != TokenKind::IgLong {
        return errors::param("Only long-lived Instagram User tokens can be refreshed").response(&trace);
    }
    if now.duration_since(old.issued_at) < st.settings.refresh_min_age {
        return errors::param("The access token is not eligible for refresh: it must be at least 24 hours old")
            .response(&trace);
    }
    let new = st.issue_token(TokenKind::IgLong, old.subject, &old.app_id, old.scopes, old.declined, now, None);
    token_json(&new, now)
}

fn token_json(token: &super::IssuedToken, now: jiff::Timestamp) -> Response {
    let mut body = json!({"access_token": token.access_token, "token_type": "bearer"});
    if let Some(at) = token.expires_at {
        body["expires_in"] = json!(seconds_until(now, at));
    }
    ok_json(body)
}

/// `GET graph.facebook.com/{v}/oauth/access_token`: code exchange or long-lived exchange.
pub(super) fn fb_access_token(inner: &Inner, req: &Incoming) -> Response {
    let now = inner.now();
    let trace = lock(&inner.state).trace();
    let Some(app_id) = req.param("client_id") else {
        return errors::param("Missing client_id parameter.").response(&trace);
    };
    if !app_secret_ok(&lock(&inner.state).facebook_apps, &app_id, req.param("client_secret").as_deref()) {
        return GraphError::new(1, None, "Error validating client secret.").response(&trace);
    }
    if req.param("grant_type").as_deref() == Some("fb_exchange_token") {
        let mut st = lock(&inner.state);
        let (_, short) = match st.check_token(req.param("fb_exchange_token").as_deref(), super::state::FB_LISTENER, now)
        {
            Ok(t) => t,
            Err(e) => return e.response(&trace),
        };
        if !matches!(short.kind, TokenKind::FbShort | TokenKind::FbLong) || short.app_id != app_id {
            return errors::param("Invalid fb_exchange_token").response(&trace);
        }
        let long = st.issue_token(TokenKind::FbLong, short.subject, &app_id, short.scopes, short.declined, now, None);
        return token_json(&long, now);
    }
    let Some(code) = req.param("code") else {
        return errors::param("Missing authorization code").response(&trace);
    };
    let granted = match redeem(inner, Flow::FacebookLogin, &code, &app_id, req.param("redirect_uri").as_deref()) {
        Ok(c) => c,
        Err(message) => {
            let subcode = match message {
                m if m.contains("used") => 36009,
                m if m.contains("expired") => 36007,
                m if m.contains("redirect_uri") => 36008,
                _ => 36009,
            };
            return GraphError::new(100, Some(subcode), message).response(&trace);
        }
    };
    let mut st = lock(&inner.state);
    let token = st.issue_token(
        TokenKind::FbShort,
        Subject::FbUser(granted.subject),
        &app_id,
        granted.scopes,
        granted.declined,
        now,
        None,
    );
    token_json(&token, now)
}
