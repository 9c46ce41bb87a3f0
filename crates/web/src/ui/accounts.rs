//! A brand's connected accounts: the list, Connect buttons (to the network's consent page), the
//! OAuth callbacks, and Disconnect.

use super::auth::Empty;
use super::{Chrome, PageError, PageResult, WsCtx, fmt_ts, redirect_msg, render};
use crate::AppState;
use crate::session::{CsrfForm, CurrentUser};
use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use nanopost_domain::ids::BrandId;
use nanopost_domain::network::Network;
use nanopost_domain::role::Permission;
use nanopost_platforms::network::Flavour;
use nanopost_services::{AccountView, Accounts, RevocationOutcome, ServiceError};
use nanopost_storage::ConnectedAccountId;
use serde::Deserialize;
use std::collections::BTreeMap;

struct AccountRow {
    id: String,
    name: String,
    handle: Option<String>,
    network: &'static str,
    kind: &'static str,
    reconnect_needed: bool,
    reason: Option<String>,
    connected: String,
}

fn row(a: &AccountView) -> AccountRow {
    AccountRow {
        id: a.id.to_string(),
        name: a.display_name.clone(),
        handle: a.handle.clone(),
        network: a.network.label(),
        kind: kind_label(a.kind),
        reconnect_needed: a.reconnect_needed,
        reason: a.status_reason.clone(),
        connected: fmt_ts(a.connected_at),
    }
}

fn kind_label(k: nanopost_storage::AccountKind) -> &'static str {
    use nanopost_storage::AccountKind as K;
    match k {
        K::InstagramLogin => "professional account",
        K::InstagramFacebook => "through a Facebook Page",
        K::LinkedinMember => "member profile",
        K::LinkedinOrganization => "Company Page",
        K::Tiktok => "creator account",
    }
}

struct LoginButton {
    value: &'static str,
    label: &'static str,
}

fn login_label(f: Flavour) -> &'static str {
    match f {
        Flavour::InstagramLogin => "Instagram",
        Flavour::FacebookLogin => "Instagram through Facebook",
        Flavour::Linkedin => "LinkedIn",
        Flavour::Tiktok => "TikTok",
    }
}

#[derive(Template)]
#[template(path = "connected_accounts.html")]
struct AccountsPage {
    chrome: Chrome,
    ws: String,
    csrf: String,
    brand_id: String,
    brand_name: String,
    accounts: Vec<AccountRow>,
    logins: Vec<LoginButton>,
    can_manage: bool,
    tiktok_private: bool,
}

fn accounts_path(ctx: &WsCtx, brand: BrandId) -> String {
    format!("{}/brands/{brand}/accounts", ctx.ws_path())
}

/// The site's policy with the consent pages added to `form-action`, so the Connect buttons'
/// redirect to the network is allowed.
fn policy_with_consent_origins(origins: &[String]) -> String {
    format!(
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self' {}; base-uri 'none'",
        origins.join(" ")
    )
}

pub async fn page(State(state): State<AppState>, ctx: WsCtx) -> PageResult {
    let brand_id: BrandId = ctx.id("id")?;
    let brand = state.services.brand(&ctx.actor, brand_id).await?;
    let (accounts, logins, tiktok_private, origins) = match &state.accounts {
        Some(acc) => {
            let listed = acc.connected_accounts(&ctx.actor, brand_id).await?;
            let logins = Network::ALL
                .into_iter()
                .flat_map(|n| acc.logins(n))
                .map(|f| LoginButton { value: f.as_str(), label: login_label(f) })
                .collect();
            (listed.iter().map(row).collect(), logins, acc.tiktok_posts_private(), acc.consent_origins())
        }
        None => (vec![], vec![], false, vec![]),
    };
    let p = AccountsPage {
        ws: ctx.ws_path(),
        csrf: ctx.chrome.csrf.clone(),
        brand_id: brand_id.to_string(),
        brand_name: brand.profile.name,
        accounts,
        logins,
        can_manage: ctx.actor.can(Permission::ManageMembers),
        tiktok_private,
        chrome: ctx.chrome,
    };
    let mut res = render(StatusCode::OK, &p);
    if !origins.is_empty()
        && let Ok(v) = HeaderValue::try_from(policy_with_consent_origins(&origins))
    {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    Ok(res)
}

fn not_configured() -> PageError {
    PageError::bad_request("No network is set up on this installation yet.")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectForm {
    login: String,
}

/// Starts a connection and sends the browser to the network's consent page.
pub async fn connect(State(state): State<AppState>, ctx: WsCtx, form: CsrfForm<ConnectForm>) -> PageResult {
    let brand: BrandId = ctx.id("id")?;
    ctx.actor.require(Permission::ManageMembers)?;
    let accounts = state.accounts.as_ref().ok_or_else(not_configured)?;
    let flavour: Flavour = form
        .data
        .login
        .parse()
        .map_err(|_| PageError::bad_request("Choose one of the networks offered on the page."))?;
    let url = accounts.begin_connect(&ctx.actor, brand, flavour).await?;
    Ok(Redirect::to(&url).into_response())
}

pub async fn disconnect(State(state): State<AppState>, ctx: WsCtx, _form: CsrfForm<Empty>) -> PageResult {
    let brand: BrandId = ctx.id("id")?;
    let id: ConnectedAccountId = ctx.id("account")?;
    ctx.actor.require(Permission::ManageMembers)?;
    let accounts = state.accounts.as_ref().ok_or_else(PageError::not_found)?;
    // Only an account of this brand, from this brand's page.
    if !accounts.connected_accounts(&ctx.actor, brand).await?.iter().any(|a| a.id == id) {
        return Err(PageError::not_found());
    }
    let (_, revocation) = accounts.disconnect(&ctx.actor, id).await?;
    let msg = match revocation {
        RevocationOutcome::Failed(_) => "account_disconnected_unrevoked",
        _ => "account_disconnected",
    };
    Ok(redirect_msg(&accounts_path(&ctx, brand), msg))
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage {
    chrome: Chrome,
    title: String,
    text: String,
    link: String,
    link_text: &'static str,
}

/// `GET /oauth/{network}/callback`: where the network sends the browser back. The state value
/// says which workspace and brand the connection is for.
pub async fn callback(
    State(state): State<AppState>,
    cu: CurrentUser,
    Path(network): Path<String>,
    RawQuery(query): RawQuery,
) -> PageResult {
    let network: Network = network.parse().map_err(|_| PageError::not_found())?;
    let accounts: &Accounts = state.accounts.as_ref().ok_or_else(PageError::not_found)?;
    let params: BTreeMap<String, String> =
        serde_urlencoded::from_str::<Vec<(String, String)>>(query.as_deref().unwrap_or(""))
            .map_err(|_| PageError::bad_request("The network sent back a link Nanopost cannot read."))?
            .into_iter()
            .collect();
    let declined = matches!(
        params.get("error").map(String::as_str),
        Some("access_denied" | "user_cancelled_authorize" | "user_cancelled_login")
    );
    // Always completed, so the state is spent even when the user declined.
    match accounts.complete_connect(&cu.user, &params).await {
        Ok(done) => Ok(redirect_msg(
            &format!("/w/{}/brands/{}/accounts", done.workspace_id, done.brand_id),
            "accounts_connected",
        )),
        Err(ServiceError::Invalid(_)) if declined => Ok(render(
            StatusCode::OK,
            &MessagePage {
                chrome: Chrome::for_user(&state, &cu, None).await?,
                title: "Connection cancelled".into(),
                text: format!(
                    "You did not allow Nanopost to use your {} account, so nothing was connected. You can connect it at any time from a brand's Connected accounts page.",
                    network.label()
                ),
                link: "/".into(),
                link_text: "Back to Nanopost",
            },
        )),
        Err(e) => Err(e.into()),
    }
}
