//! Sign-up, login, logout, e-mail verification, password reset and invitations.

use super::{
    Chrome, FieldError, FormOutcome, PageError, PageResult, form_outcome, form_urlencoded_get, one_error, redirect_msg,
    render,
};
use crate::AppState;
use crate::session::{
    ClientIp, CsrfForm, CurrentUser, MaybeUser, PreCsrf, PublicForm, clear_session_cookie, login_redirect, safe_next,
    session_cookie,
};
use askama::Template;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use nanopost_services::{ServiceError, SignUpInput};
use serde::Deserialize;

/// A form with nothing but its CSRF field.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

fn query_value(uri: &Uri, key: &str) -> Option<String> {
    uri.query().and_then(|q| form_urlencoded_get(q, key))
}

/// `/`: the first workspace, or the login page.
pub async fn home(State(state): State<AppState>, MaybeUser(user): MaybeUser, uri: Uri) -> PageResult {
    let Some(cu) = user else { return Ok(Redirect::to("/login").into_response()) };
    let list = state.services.workspaces_of(&cu.user).await?;
    if let Some((ws, _)) = list.first() {
        let mut target = format!("/w/{}", ws.id);
        if let Some(q) = uri.query().filter(|q| !q.is_empty()) {
            // Keep a confirmation message across the hop.
            if let Some(msg) =
                form_urlencoded_get(q, "msg").filter(|m| m.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            {
                target = format!("{target}?msg={msg}");
            }
        }
        return Ok(Redirect::to(&target).into_response());
    }
    let chrome = Chrome::for_user(&state, &cu, None).await?.with_flash(uri.query());
    Ok(render(StatusCode::OK, &NoWorkspace { chrome, errors: vec![] }))
}

#[derive(Template)]
#[template(path = "no_workspace.html")]
pub struct NoWorkspace {
    pub chrome: Chrome,
    pub errors: Vec<FieldError>,
}

// ---------------------------------------------------------------------------------------------
// Sign-up
// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "signup.html")]
struct SignupPage {
    chrome: Chrome,
    csrf: String,
    errors: Vec<FieldError>,
    email: String,
    display_name: String,
    workspace_name: String,
    age_confirmed: bool,
    next: String,
}

pub async fn signup_page(pre: PreCsrf, MaybeUser(user): MaybeUser, uri: Uri) -> Response {
    let next = safe_next(&query_value(&uri, "next").unwrap_or_default()).to_owned();
    if user.is_some() {
        return Redirect::to(&next).into_response();
    }
    let page = SignupPage {
        chrome: Chrome::anonymous(),
        csrf: pre.value.clone(),
        errors: vec![],
        email: String::new(),
        display_name: String::new(),
        workspace_name: String::new(),
        age_confirmed: false,
        next,
    };
    (pre, render(StatusCode::OK, &page)).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignupForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    workspace_name: String,
    /// The checkbox: present (any value) only when ticked.
    #[serde(default)]
    age_confirmed: Option<String>,
    #[serde(default)]
    next: String,
}

pub async fn signup(State(state): State<AppState>, ClientIp(ip): ClientIp, form: PublicForm<SignupForm>) -> PageResult {
    let PublicForm { data: f, pre } = form;
    let age_confirmed = f.age_confirmed.is_some();
    let next = safe_next(&f.next).to_owned();
    let input = SignUpInput {
        email: f.email.clone(),
        password: f.password.clone(),
        display_name: f.display_name.clone(),
        workspace_name: f.workspace_name.clone(),
        age_confirmed,
    };
    match state.services.sign_up(input).await {
        Ok(user) => {
            // Sign the new account in straight away; if that is refused, the login page.
            match state.services.login(user.email.as_str(), &f.password, ip).await {
                Ok((_, token)) => {
                    let dest = if next == "/" { "/?msg=welcome".to_owned() } else { next };
                    let mut res = Redirect::to(&dest).into_response();
                    res.headers_mut().append(SET_COOKIE, session_cookie(&state, token.expose()));
                    Ok(res)
                }
                Err(_) => Ok(redirect_msg("/login", "signed_up")),
            }
        }
        Err(e) => {
            let (status, errors) = match form_outcome(e) {
                FormOutcome::Rerender(s, errs) => (s, errs),
                FormOutcome::Page(p) => return Err(p),
            };
            let page = SignupPage {
                chrome: Chrome::anonymous(),
                csrf: pre.value.clone(),
                errors,
                email: f.email,
                display_name: f.display_name,
                workspace_name: f.workspace_name,
                age_confirmed,
                next,
            };
            Ok(render(status, &page))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Login and logout
// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Chrome,
    csrf: String,
    errors: Vec<FieldError>,
    email: String,
    next: String,
    signup_href: String,
}

fn signup_href(next: &str) -> String {
    if next == "/" {
        "/signup".into()
    } else {
        format!("/signup?{}", serde_urlencoded::to_string([("next", next)]).unwrap_or_default())
    }
}

pub async fn login_page(pre: PreCsrf, MaybeUser(user): MaybeUser, uri: Uri) -> Response {
    let next = safe_next(&query_value(&uri, "next").unwrap_or_default()).to_owned();
    if user.is_some() {
        return Redirect::to(&next).into_response();
    }
    let page = LoginPage {
        chrome: Chrome::anonymous().with_flash(uri.query()),
        csrf: pre.value.clone(),
        errors: vec![],
        email: String::new(),
        signup_href: signup_href(&next),
        next,
    };
    (pre, render(StatusCode::OK, &page)).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

pub async fn login(State(state): State<AppState>, ClientIp(ip): ClientIp, form: PublicForm<LoginForm>) -> PageResult {
    let PublicForm { data: f, pre } = form;
    let next = safe_next(&f.next).to_owned();
    match state.services.login(&f.email, &f.password, ip).await {
        Ok((_, token)) => {
            let mut res = Redirect::to(&next).into_response();
            res.headers_mut().append(SET_COOKIE, session_cookie(&state, token.expose()));
            Ok(res)
        }
        Err(ServiceError::Unauthorized(m)) => {
            let page = LoginPage {
                chrome: Chrome::anonymous(),
                csrf: pre.value.clone(),
                errors: vec![FieldError { label: String::new(), message: super::sentence(m) }],
                email: f.email,
                signup_href: signup_href(&next),
                next,
            };
            Ok(render(StatusCode::UNAUTHORIZED, &page))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn logout(State(state): State<AppState>, form: CsrfForm<Empty>) -> PageResult {
    state.services.logout(&form.session).await?;
    let mut res = redirect_msg("/login", "signed_out");
    res.headers_mut().append(SET_COOKIE, clear_session_cookie(&state));
    Ok(res)
}

// ---------------------------------------------------------------------------------------------
// E-mail verification
// ---------------------------------------------------------------------------------------------

/// A page with one button that sends a token back (so that link scanners, which only GET,
/// cannot use the token up).
#[derive(Template)]
#[template(path = "token_action.html")]
struct TokenActionPage {
    chrome: Chrome,
    title: &'static str,
    text: &'static str,
    action: &'static str,
    button: &'static str,
    csrf: String,
    token: String,
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub chrome: Chrome,
    pub title: String,
    pub text: String,
    pub link: String,
    pub link_text: String,
}

fn token_param(uri: &Uri) -> Result<String, PageError> {
    query_value(uri, "token").filter(|t| !t.is_empty() && t.len() <= 200).ok_or_else(|| {
        PageError::bad_request("This link is incomplete: it has no token. Copy the whole link from the e-mail.")
    })
}

pub async fn verify_page(pre: PreCsrf, uri: Uri) -> PageResult {
    let token = token_param(&uri)?;
    let page = TokenActionPage {
        chrome: Chrome::anonymous(),
        title: "Confirm your e-mail address",
        text: "Press the button to confirm that this e-mail address is yours.",
        action: "/verify-email",
        button: "Confirm my address",
        csrf: pre.value.clone(),
        token,
    };
    Ok((pre, render(StatusCode::OK, &page)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenForm {
    #[serde(default)]
    token: String,
}

pub async fn verify(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    form: PublicForm<TokenForm>,
) -> PageResult {
    state.services.verify_email(&form.data.token).await?;
    let chrome = match &user {
        Some(cu) => Chrome::for_user(&state, cu, None).await?,
        None => Chrome::anonymous(),
    };
    let chrome = Chrome { unverified: false, ..chrome };
    let (link, link_text) = if user.is_some() { ("/", "Continue") } else { ("/login", "Sign in") };
    let page = MessagePage {
        chrome,
        title: "Address confirmed".into(),
        text: "Your e-mail address is confirmed. Thank you.".into(),
        link: link.into(),
        link_text: link_text.into(),
    };
    Ok(render(StatusCode::OK, &page))
}

pub async fn resend_verification(State(state): State<AppState>, cu: CurrentUser, _form: CsrfForm<Empty>) -> PageResult {
    state.services.resend_verification(&cu.user).await?;
    Ok(redirect_msg("/", "verification_sent"))
}

// ---------------------------------------------------------------------------------------------
// Password reset
// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "forgot.html")]
struct ForgotPage {
    chrome: Chrome,
    csrf: String,
}

pub async fn forgot_page(pre: PreCsrf) -> Response {
    let page = ForgotPage { chrome: Chrome::anonymous(), csrf: pre.value.clone() };
    (pre, render(StatusCode::OK, &page)).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
}

pub async fn forgot(State(state): State<AppState>, form: PublicForm<ForgotForm>) -> PageResult {
    state.services.request_password_reset(&form.data.email).await?;
    let page = MessagePage {
        chrome: Chrome::anonymous(),
        title: "Check your e-mail".into(),
        text: "If an account exists for that address, we sent it a link to choose a new password. The link works once, for one hour.".into(),
        link: "/login".into(),
        link_text: "Back to sign in".into(),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "reset.html")]
struct ResetPage {
    chrome: Chrome,
    csrf: String,
    token: String,
    errors: Vec<FieldError>,
}

pub async fn reset_page(pre: PreCsrf, uri: Uri) -> PageResult {
    let token = token_param(&uri)?;
    let page = ResetPage { chrome: Chrome::anonymous(), csrf: pre.value.clone(), token, errors: vec![] };
    Ok((pre, render(StatusCode::OK, &page)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

pub async fn reset(State(state): State<AppState>, form: PublicForm<ResetForm>) -> PageResult {
    let PublicForm { data: f, pre } = form;
    let rerender = |status, errors| {
        let page = ResetPage { chrome: Chrome::anonymous(), csrf: pre.value.clone(), token: f.token.clone(), errors };
        Ok(render(status, &page))
    };
    if f.password != f.password_confirm {
        return rerender(StatusCode::UNPROCESSABLE_ENTITY, one_error("password", "the two passwords differ"));
    }
    match state.services.reset_password(&f.token, &f.password).await {
        Ok(()) => {
            let mut res = redirect_msg("/login", "password_reset");
            res.headers_mut().append(SET_COOKIE, clear_session_cookie(&state));
            Ok(res)
        }
        Err(ServiceError::Invalid(errs)) => rerender(StatusCode::UNPROCESSABLE_ENTITY, super::field_errors(&errs)),
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------------------------
// Invitations
// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "accept.html")]
struct AcceptPage {
    chrome: Chrome,
    csrf: String,
    token: String,
    email: String,
}

/// Shows the accept button to a signed-in user; others sign in (or up) first and come back.
pub async fn accept_page(State(state): State<AppState>, MaybeUser(user): MaybeUser, uri: Uri) -> PageResult {
    let token = token_param(&uri)?;
    let Some(cu) = user else {
        let here = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        return Ok(login_redirect(here));
    };
    let chrome = Chrome::for_user(&state, &cu, None).await?;
    let page = AcceptPage { csrf: chrome.csrf.clone(), chrome, token, email: cu.user.email.to_string() };
    Ok(render(StatusCode::OK, &page))
}

pub async fn accept(State(state): State<AppState>, cu: CurrentUser, form: CsrfForm<TokenForm>) -> PageResult {
    let (ws, _role) = state.services.accept_invitation(&cu.user, &form.data.token).await?;
    Ok(redirect_msg(&format!("/w/{ws}"), "joined"))
}
