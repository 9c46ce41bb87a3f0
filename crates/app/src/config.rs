//! Configuration, in layers: built-in defaults, then an optional TOML file (`--config`), then
//! `NANOPOST_…` environment variables (nested keys joined with `__`), then command-line flags.
//!
//! Every value is checked before anything starts; a bad one becomes a [`ConfigError`], one
//! sentence that names the key, the problem and where the value came from. Secrets (the
//! database password) are never printed: [`DatabaseUrl`] redacts itself in `Debug` and when
//! serialised, which is how `config check` prints the effective configuration.

use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use nanopost_services::{Argon2Params, LoginLimits, SecretKey, ServiceConfig};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

pub mod media;
pub use media::Media;
mod publishing;
pub use publishing::Publishing;
mod telegram;
pub use telegram::{Telegram, TelegramMode};
mod email;
pub use email::Email;
mod generation;
pub use generation::Generation;
mod workers;
pub use workers::{Queue, QueueBackend, Workers};
mod auth;
pub use auth::{Auth, Limits};
mod privacy;
pub use privacy::Privacy;
mod ai;
mod secrets;
pub use ai::Ai;
use ai::{AI_TEXT_KEYS, offline_ai_has_no_other_keys};
mod networks;
pub use networks::{InstagramNetwork, LinkedinNetwork, Networks, TiktokNetwork};
pub use secrets::Secrets;
#[cfg(test)]
pub use secrets::TokenKey;

/// Prefix of every configuration environment variable.
pub const ENV_PREFIX: &str = "NANOPOST_";

/// File name of the embedded database inside the data directory.
pub const DB_FILE: &str = "nanopost.db";

/// Top-level keys that environment variables may set. Other `NANOPOST_…` variables (for
/// example `NANOPOST_ADMIN_PASSWORD` or `NANOPOST_CONFIG`) are not configuration keys and
/// are left alone.
const TOP_LEVEL_KEYS: &[&str] = &[
    "data_dir",
    "listen",
    "public_url",
    "database_url",
    "log",
    "log_format",
    "workers",
    "queue",
    "limits",
    "auth",
    "privacy",
    "networks",
    "secrets",
    "ai",
    "publishing",
    "media",
    "telegram",
    "email",
    "generation",
];

/// Keys whose environment value is always taken as a plain string (never parsed as a number,
/// array or table), so that e.g. `NANOPOST_LISTEN=[::1]:8080` means what it says.
const STRING_KEYS: &[&str] = &["data_dir", "listen", "public_url", "database_url", "log", "log_format"];

// Bounds of the numeric settings.
const MIN_BODY_BYTES: usize = 1024;
const MAX_BODY_BYTES: usize = 1 << 30;
const MAX_SESSION_TTL_HOURS: u32 = 24 * 366;
const MAX_ARGON2_MEMORY_KIB: u32 = 4 * 1024 * 1024;
const MAX_ARGON2_ITERATIONS: u32 = 100;
const MAX_ARGON2_PARALLELISM: u32 = 64;
const MAX_FAILURES_PER_ACCOUNT: u32 = 10_000;
const MAX_FAILURES_PER_IP: u32 = 1_000_000;
const MAX_LOGIN_WINDOW_MINUTES: u32 = 7 * 24 * 60;

/// The whole configuration. Field names are the keys of the TOML file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the embedded database, the secret key and (later) media live.
    pub data_dir: String,
    /// Socket address to listen on.
    pub listen: String,
    /// The URL people use to reach this installation; default `http://<listen>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// `sqlite://…` or `postgres://…`; default: `nanopost.db` in the data directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<DatabaseUrl>,
    /// Log filter, in `tracing_subscriber::EnvFilter` syntax.
    pub log: String,
    pub log_format: LogFormat,
    pub workers: Workers,
    pub queue: Queue,
    pub limits: Limits,
    pub auth: Auth,
    pub privacy: Privacy,
    pub networks: Networks,
    pub secrets: Secrets,
    pub ai: Ai,
    pub publishing: Publishing,
    pub media: Media,
    pub telegram: Telegram,
    pub email: Email,
    pub generation: Generation,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: "./nanopost-data".into(),
            listen: "127.0.0.1:8080".into(),
            public_url: None,
            database_url: None,
            log: "info".into(),
            log_format: LogFormat::Text,
            workers: Workers::default(),
            queue: Queue::default(),
            limits: Limits::default(),
            auth: Auth::default(),
            privacy: Privacy::default(),
            networks: Networks::default(),
            secrets: Secrets::default(),
            ai: Ai::default(),
            publishing: Publishing::default(),
            media: Media::default(),
            telegram: Telegram::default(),
            email: Email::default(),
            generation: Generation::default(),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

pub(super) fn check_base_url(key: &str, url: &str) -> Result<(), ConfigError> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') && !r.contains(['?', '#', ' ']) => Ok(()),
        _ => Err(ConfigError::new(key, format!("{url:?} is not a base URL like https://api.example.com"))),
    }
}

/// A secret in the configuration (an app secret): `***` in `Debug` and when serialised.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct SecretText(String);

impl SecretText {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretText(***)")
    }
}

impl Serialize for SecretText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

/// A database URL. Its password never leaves the process: `Debug`, `Display` and `Serialize`
/// all show it as `***`. Use [`DatabaseUrl::expose`] only to connect.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn redacted(&self) -> String {
        redact_url(&self.0)
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({:?})", self.redacted())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Serialize for DatabaseUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.redacted())
    }
}

/// Replaces the password of a URL (`scheme://user:password@host/…`) and any query parameter
/// whose name contains `password` with `***`.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let start = scheme_end + 3;
    let rest = &url[start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let mut out = String::with_capacity(url.len());
    out.push_str(&url[..start]);
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            match userinfo.find(':') {
                Some(colon) => {
                    out.push_str(&userinfo[..colon]);
                    out.push_str(":***");
                }
                None => out.push_str(userinfo),
            }
            out.push_str(&authority[at..]);
        }
        None => out.push_str(authority),
    }
    let tail = &rest[authority_end..];
    let (before_fragment, fragment) = match tail.find('#') {
        Some(i) => tail.split_at(i),
        None => (tail, ""),
    };
    match before_fragment.find('?') {
        Some(q) => {
            out.push_str(&before_fragment[..=q]);
            let pairs: Vec<String> = before_fragment[q + 1..]
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, _)) if k.to_ascii_lowercase().contains("password") => format!("{k}=***"),
                    _ => pair.to_string(),
                })
                .collect();
            out.push_str(&pairs.join("&"));
        }
        None => out.push_str(before_fragment),
    }
    out.push_str(fragment);
    out
}

/// Values given on the command line; they override every other layer.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workers: Option<WorkersOverride>,
}

/// The one worker setting a flag sets (`serve --no-workers`); the others keep their values.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct WorkersOverride {
    pub enabled: bool,
}

/// A configuration problem, as one sentence: the key, what is wrong, and where the value came
/// from when that is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub key: String,
    pub problem: String,
    pub origin: Option<String>,
}

impl ConfigError {
    fn new(key: impl Into<String>, problem: impl Into<String>) -> Self {
        Self { key: key.into(), problem: problem.into(), origin: None }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.problem)?;
        if let Some(origin) = &self.origin {
            write!(f, " (set in {origin})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Reads every layer and checks the result.
///
/// `env` is the process environment (passed in so that tests need not change it).
pub fn load(
    file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
    overrides: &Overrides,
) -> Result<Config, ConfigError> {
    let mut figment = Figment::new();
    if let Some(path) = file {
        figment = figment.merge(TomlFile::read(path)?);
    }
    figment = figment.merge(EnvVars::new(env)).merge(CommandLine(overrides.clone()));
    let config: Config = figment.extract().map_err(|e| describe_figment_error(&figment, e))?;
    let checked = offline_ai_has_no_other_keys(&figment).and_then(|()| config.validate());
    checked.map_err(|mut e| {
        if let Some(md) = figment.find_metadata(&e.key) {
            e.origin = origin_of(md, &e.key);
        }
        e
    })?;
    Ok(config)
}

impl Config {
    /// Checks every value; the first problem found is returned.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.data_dir.trim().is_empty() {
            return Err(ConfigError::new("data_dir", "must not be empty"));
        }
        if self.listen.parse::<SocketAddr>().is_err() {
            return Err(ConfigError::new(
                "listen",
                format!("{:?} is not an address like 127.0.0.1:8080 or [::1]:8080", self.listen),
            ));
        }
        if let Some(url) = &self.public_url {
            check_public_url(url)?;
        }
        if let Some(url) = &self.database_url {
            check_database_url(url)?;
        }
        if let Err(e) = tracing_subscriber::EnvFilter::builder().parse(&self.log) {
            return Err(ConfigError::new(
                "log",
                format!("{:?} is not a log filter like \"info\" or \"info,nanopost_web=debug\" ({e})", self.log),
            ));
        }
        self.queue.validate()?;
        range("limits.max_body_bytes", self.limits.max_body_bytes, MIN_BODY_BYTES, MAX_BODY_BYTES)?;
        let a = &self.auth;
        range("auth.session_ttl_hours", a.session_ttl_hours, 1, MAX_SESSION_TTL_HOURS)?;
        range("auth.argon2_parallelism", a.argon2_parallelism, 1, MAX_ARGON2_PARALLELISM)?;
        range("auth.argon2_iterations", a.argon2_iterations, 1, MAX_ARGON2_ITERATIONS)?;
        let min_memory = 8 * a.argon2_parallelism;
        if a.argon2_memory_kib < min_memory {
            return Err(ConfigError::new(
                "auth.argon2_memory_kib",
                format!(
                    "{} is too small: Argon2 needs at least 8 KiB per lane, so at least {min_memory} with argon2_parallelism = {}",
                    a.argon2_memory_kib, a.argon2_parallelism
                ),
            ));
        }
        range("auth.argon2_memory_kib", a.argon2_memory_kib, min_memory, MAX_ARGON2_MEMORY_KIB)?;
        range("auth.login_max_failures_per_account", a.login_max_failures_per_account, 1, MAX_FAILURES_PER_ACCOUNT)?;
        range("auth.login_max_failures_per_ip", a.login_max_failures_per_ip, 1, MAX_FAILURES_PER_IP)?;
        range("auth.login_window_minutes", a.login_window_minutes, 1, MAX_LOGIN_WINDOW_MINUTES)?;
        self.workers.validate()?;
        self.privacy.validate()?;
        self.publishing.validate()?;
        self.media.validate()?;
        self.networks.validate()?;
        self.secrets.validate()?;
        self.ai.validate()?;
        self.telegram.validate(self.public_url.as_deref())?;
        self.email.validate()?;
        self.generation.validate()?;
        Ok(())
    }

    /// The data directory as an absolute path (relative paths are taken from the working
    /// directory).
    pub fn data_dir(&self) -> PathBuf {
        let p = PathBuf::from(&self.data_dir);
        std::path::absolute(&p).unwrap_or(p)
    }

    pub fn listen_addr(&self) -> SocketAddr {
        self.listen.parse().expect("validated")
    }

    /// The configured database, or `sqlite://<data_dir>/nanopost.db`.
    pub fn database_url(&self) -> DatabaseUrl {
        match &self.database_url {
            Some(url) => url.clone(),
            None => DatabaseUrl(sqlite_url(&self.data_dir().join(DB_FILE))),
        }
    }

    /// True when the database is the default file inside the data directory.
    pub fn uses_default_database(&self) -> bool {
        self.database_url.is_none()
    }

    /// The public URL, or `http://<addr>` for the address actually listened on (an unspecified
    /// address such as 0.0.0.0 is shown as the loopback address, which works on this machine).
    pub fn public_url_for(&self, bound: SocketAddr) -> String {
        if let Some(url) = &self.public_url {
            return url.trim_end_matches('/').to_string();
        }
        let ip = match bound.ip() {
            IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}", SocketAddr::new(ip, bound.port()))
    }

    pub fn service_config(&self, public_url: &str, secret_key: SecretKey) -> ServiceConfig {
        let a = &self.auth;
        ServiceConfig {
            public_url: public_url.to_string(),
            session_ttl: jiff::SignedDuration::from_hours(i64::from(a.session_ttl_hours)),
            argon2: Argon2Params {
                memory_kib: a.argon2_memory_kib,
                iterations: a.argon2_iterations,
                parallelism: a.argon2_parallelism,
            },
            login_limits: LoginLimits {
                per_account: a.login_max_failures_per_account,
                per_ip: a.login_max_failures_per_ip,
                window: jiff::SignedDuration::from_mins(i64::from(a.login_window_minutes)),
            },
            secret_key,
            privacy: self.privacy.service_config(),
            publishing: self.publishing.service_config(),
            media: self.media.service_settings(&self.data_dir()),
            email: self
                .email
                .mailer()
                .map(|mailer| nanopost_services::EmailDelivery { mailer, policy: self.email.delivery_policy() }),
            generation: self.generation.service_settings(),
        }
    }

    /// The effective configuration as TOML, every default filled in and secrets shown as `***`.
    pub fn to_redacted_toml(&self) -> String {
        let mut effective = self.clone();
        effective.data_dir = self.data_dir().display().to_string();
        effective.public_url = Some(self.public_url_for(self.listen_addr()));
        effective.database_url = Some(self.database_url());
        toml::to_string(&effective).expect("the configuration serialises to TOML")
    }
}

/// `sqlite://` URL for a file path; `%`, `?` and `#` are percent-encoded as sqlx expects.
pub fn sqlite_url(path: &Path) -> String {
    let mut s = String::from("sqlite://");
    for c in path.display().to_string().chars() {
        match c {
            '%' => s.push_str("%25"),
            '?' => s.push_str("%3F"),
            '#' => s.push_str("%23"),
            c => s.push(c),
        }
    }
    s
}

fn check_public_url(url: &str) -> Result<(), ConfigError> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    match rest {
        None => Err(ConfigError::new(
            "public_url",
            format!("{url:?} must start with http:// or https:// (e.g. https://social.example.com)"),
        )),
        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
            Err(ConfigError::new("public_url", format!("{url:?} has no host name")))
        }
        Some(rest) if rest.chars().any(|c| c.is_whitespace() || c == '?' || c == '#') => Err(ConfigError::new(
            "public_url",
            format!("{url:?} must be a plain base URL without spaces, query or fragment"),
        )),
        Some(_) => Ok(()),
    }
}

fn check_database_url(url: &DatabaseUrl) -> Result<(), ConfigError> {
    let raw = url.expose();
    if let Some(path) = raw.strip_prefix("sqlite://").or_else(|| raw.strip_prefix("sqlite:")) {
        if path.split('?').next().unwrap_or("").is_empty() {
            return Err(ConfigError::new(
                "database_url",
                format!("{:?} names no file; use sqlite:///absolute/path/nanopost.db", url.redacted()),
            ));
        }
        return Ok(());
    }
    if let Some(rest) = raw.strip_prefix("postgres://").or_else(|| raw.strip_prefix("postgresql://")) {
        if rest.is_empty() {
            return Err(ConfigError::new(
                "database_url",
                format!("{:?} names no server; use postgres://USER:PASSWORD@HOST:5432/DATABASE", url.redacted()),
            ));
        }
        return Ok(());
    }
    Err(ConfigError::new(
        "database_url",
        format!(
            "{:?} is not supported; use sqlite:///path/to/nanopost.db or postgres://USER:PASSWORD@HOST:5432/DATABASE",
            url.redacted()
        ),
    ))
}

fn range<T: PartialOrd + fmt::Display + Copy>(key: &str, value: T, min: T, max: T) -> Result<(), ConfigError> {
    if value < min || value > max {
        return Err(ConfigError::new(key, format!("{value} is out of range; it must be between {min} and {max}")));
    }
    Ok(())
}

/// Turns figment's error (type mismatch, unknown key, …) into one sentence.
fn describe_figment_error(figment: &Figment, error: figment::Error) -> ConfigError {
    use figment::error::Kind;
    let path = error.path.join(".");
    // figment puts the offending field at the end of the path for some kinds, not for others.
    let join = |field: &str| match error.path.last() {
        Some(last) if last == field => path.clone(),
        None => field.to_string(),
        Some(_) => format!("{path}.{field}"),
    };
    let (key, problem) = match &error.kind {
        Kind::UnknownField(field, expected) => {
            (join(field), format!("unknown key; the keys allowed here are {}", expected.join(", ")))
        }
        Kind::UnknownVariant(variant, expected) => {
            (path.clone(), format!("{variant:?} is not one of {}", expected.join(", ")))
        }
        Kind::InvalidType(actual, expected) | Kind::InvalidValue(actual, expected) => {
            (path.clone(), format!("expected {}, found {actual}", friendly_type(expected)))
        }
        Kind::DuplicateField(field) => (join(field), "is given twice".to_string()),
        Kind::MissingField(field) => (join(field), "is required in this section".to_string()),
        other => (path.clone(), other.to_string()),
    };
    let key = if key.is_empty() { "configuration".to_string() } else { key };
    let origin = match &error.kind {
        // The key is missing, so no layer set it.
        Kind::MissingField(_) => None,
        _ => figment.find_metadata(&key).or(error.metadata.as_ref()).and_then(|md| origin_of(md, &key)),
    };
    ConfigError { key, problem, origin }
}

fn friendly_type(expected: &str) -> String {
    match expected {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number".into(),
        "i8" | "i16" | "i32" | "i64" | "isize" => "an integer".into(),
        "a boolean" | "bool" => "true or false".into(),
        other => other.to_string(),
    }
}

/// "environment variable NANOPOST_X", "file /etc/nanopost.toml" or "command-line flag --x".
fn origin_of(md: &Metadata, key: &str) -> Option<String> {
    let keys: Vec<&str> = key.split('.').collect();
    match (&*md.name, &md.source) {
        (ENV_NAME, _) => Some(format!("environment variable {}", md.interpolate(&Profile::Default, &keys))),
        (FILE_NAME, Some(figment::Source::File(path))) => Some(format!("file {}", path.display())),
        (CLI_NAME, _) => Some(format!("command-line flag --{}", keys[0].replace('_', "-"))),
        _ => None,
    }
}

const ENV_NAME: &str = "environment variable";
const FILE_NAME: &str = "TOML file";
const CLI_NAME: &str = "command line";

/// The TOML file layer. It is read up front so that a syntax error can be reported as one line.
struct TomlFile {
    path: PathBuf,
    data: Dict,
}

impl TomlFile {
    fn read(path: &Path) -> Result<Self, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new("--config", format!("cannot read {shown}: {e}")))?;
        if let Err(e) = text.parse::<toml::Table>() {
            let line = e.span().map(|s| text[..s.start.min(text.len())].lines().count().max(1));
            let at = line.map(|l| format!(" at line {l}")).unwrap_or_default();
            let message = e.message().trim().trim_end_matches('.').replace('\n', " ");
            return Err(ConfigError::new(shown, format!("is not valid TOML{at}: {message}")));
        }
        let data = <figment::providers::Toml as figment::providers::Format>::string(&text);
        let mut map = data.data().map_err(|e| ConfigError::new(shown.clone(), format!("is not valid TOML: {e}")))?;
        let data = map.remove(&Profile::Default).unwrap_or_default();
        Ok(Self { path: std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()), data })
    }
}

impl Provider for TomlFile {
    fn metadata(&self) -> Metadata {
        Metadata::from(FILE_NAME, self.path.as_path())
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.data.clone()))
    }
}

/// The environment layer: `NANOPOST_LISTEN` sets `listen`, `NANOPOST_AUTH__SESSION_TTL_HOURS`
/// sets `auth.session_ttl_hours`.
struct EnvVars {
    vars: Vec<(Vec<String>, String)>,
}

impl EnvVars {
    fn new(env: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut vars = Vec::new();
        for (name, value) in env {
            let Some(rest) = name.strip_prefix(ENV_PREFIX) else { continue };
            let path: Vec<String> = rest.split("__").map(|k| k.to_ascii_lowercase()).collect();
            if path.iter().any(String::is_empty) || !TOP_LEVEL_KEYS.contains(&path[0].as_str()) {
                continue;
            }
            vars.push((path, value));
        }
        vars.sort();
        Self { vars }
    }
}

impl Provider for EnvVars {
    fn metadata(&self) -> Metadata {
        Metadata::named(ENV_NAME)
            .interpolater(|_: &Profile, keys: &[&str]| format!("{ENV_PREFIX}{}", keys.join("__").to_ascii_uppercase()))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut dict = Dict::new();
        for (path, raw) in &self.vars {
            // Network ids and secrets are text even when they look like numbers.
            let network_text = path[0] == "networks"
                && path.last().is_some_and(|k| k != "audited" && k != "request_timeout_secs")
                || path.last().is_some_and(|k| k == "sealing_key_id")
                || path.len() == 2 && path[0] == "queue" && path[1] == "redis_prefix"
                || path[0] == "ai" && path.len() == 2 && AI_TEXT_KEYS.contains(&path[1].as_str())
                || path[0] == "telegram" && path.len() == 2 && telegram::TEXT_KEYS.contains(&path[1].as_str())
                || path[0] == "media"
                    && path.len() == 3
                    && path[1] == "s3"
                    && media::S3_TEXT_KEYS.contains(&path[2].as_str())
                || path[0] == "media" && path.len() == 2 && path[1] == "dir"
                || path[0] == "email" && email::is_text_key(path);
            let value = if network_text || (path.len() == 1 && STRING_KEYS.contains(&path[0].as_str())) {
                Value::from(raw.clone())
            } else {
                raw.parse::<Value>().unwrap_or_else(|never| match never {})
            };
            insert(&mut dict, path, value);
        }
        Ok(Profile::Default.collect(dict))
    }
}

fn insert(dict: &mut Dict, path: &[String], value: Value) {
    match path {
        [] => {}
        [last] => {
            dict.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let entry = dict.entry(first.clone()).or_insert_with(|| Value::from(Dict::new()));
            if entry.as_dict().is_none() {
                *entry = Value::from(Dict::new());
            }
            if let Value::Dict(_, inner) = entry {
                insert(inner, rest, value);
            }
        }
    }
}

/// The command-line layer.
struct CommandLine(Overrides);

impl Provider for CommandLine {
    fn metadata(&self) -> Metadata {
        Metadata::named(CLI_NAME)
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        figment::providers::Serialized::defaults(&self.0).data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nanopost_ai::AiConfig;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn load_env(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        load(None, env(pairs), &Overrides::default())
    }

    fn temp_file(name: &str, content: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("nanopost-config-test-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("nanopost.toml");
        std::fs::write(&path, content).unwrap();
        path
    }

    #[test]
    fn no_configuration_gives_the_embedded_default() {
        let c = load_env(&[]).unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.listen_addr(), "127.0.0.1:8080".parse().unwrap());
        assert!(c.data_dir().is_absolute());
        assert!(c.data_dir().ends_with("nanopost-data"));
        let url = c.database_url();
        assert!(url.expose().starts_with("sqlite://"));
        assert!(url.expose().ends_with("/nanopost-data/nanopost.db"), "{}", url.expose());
        assert_eq!(c.public_url_for(c.listen_addr()), "http://127.0.0.1:8080");
        assert!(c.workers.enabled);
        assert_eq!(c.limits.max_body_bytes, 1024 * 1024);
        let s = c.service_config("http://x", SecretKey::from_bytes([1; 32]));
        assert_eq!(s.argon2, ServiceConfig::default().argon2);
        assert_eq!(s.session_ttl, ServiceConfig::default().session_ttl);
        assert_eq!(s.login_limits, ServiceConfig::default().login_limits);
    }

    #[test]
    fn environment_sets_top_level_and_nested_keys() {
        let c = load_env(&[
            ("NANOPOST_LISTEN", "[::1]:9000"),
            ("NANOPOST_DATA_DIR", "/srv/np"),
            ("NANOPOST_AUTH__SESSION_TTL_HOURS", "12"),
            ("NANOPOST_WORKERS__ENABLED", "false"),
            ("NANOPOST_LOG", "debug"),
            ("NANOPOST_LOG_FORMAT", "json"),
            ("NANOPOST_ADMIN_PASSWORD", "not a config key"),
            ("NANOPOST_CONFIG", "/nowhere.toml"),
            ("OTHER_LISTEN", "garbage"),
        ])
        .unwrap();
        assert_eq!(c.listen_addr(), "[::1]:9000".parse().unwrap());
        assert_eq!(c.data_dir(), PathBuf::from("/srv/np"));
        assert_eq!(c.database_url().expose(), "sqlite:///srv/np/nanopost.db");
        assert_eq!(c.auth.session_ttl_hours, 12);
        assert!(!c.workers.enabled);
        assert_eq!(c.log, "debug");
        assert_eq!(c.log_format, LogFormat::Json);
    }

    #[test]
    fn layers_apply_in_order_file_env_flags() {
        let path = temp_file("layers", "listen = \"127.0.0.1:1000\"\nlog = \"warn\"\n[auth]\nsession_ttl_hours = 5\n");
        let overrides = Overrides { listen: Some("127.0.0.1:3000".into()), ..Default::default() };
        let c = load(Some(&path), env(&[("NANOPOST_LISTEN", "127.0.0.1:2000"), ("NANOPOST_LOG", "error")]), &overrides)
            .unwrap();
        assert_eq!(c.listen, "127.0.0.1:3000");
        assert_eq!(c.log, "error");
        assert_eq!(c.auth.session_ttl_hours, 5);
    }

    #[test]
    fn bad_listen_names_the_key_and_its_origin() {
        let e = load_env(&[("NANOPOST_LISTEN", "abc")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "listen: \"abc\" is not an address like 127.0.0.1:8080 or [::1]:8080 (set in environment variable NANOPOST_LISTEN)"
        );
    }

    #[test]
    fn unknown_key_in_file_is_an_error() {
        let path = temp_file("unknown", "listen = \"127.0.0.1:1\"\n[auth]\nsession_tll_hours = 3\n");
        let e = load(Some(&path), env(&[]), &Overrides::default()).unwrap_err();
        assert_eq!(e.key, "auth.session_tll_hours");
        assert!(e.problem.starts_with("unknown key"), "{e}");
        assert!(e.problem.contains("session_ttl_hours"), "{e}");
        let top = temp_file("unknown-top", "lisen = \"x\"\n");
        let e = load(Some(&top), env(&[]), &Overrides::default()).unwrap_err();
        assert_eq!(e.key, "lisen");
    }

    #[test]
    fn invalid_toml_is_one_line() {
        let path = temp_file("syntax", "listen = \n");
        let e = load(Some(&path), env(&[]), &Overrides::default()).unwrap_err();
        assert!(e.problem.contains("not valid TOML at line 1"), "{e}");
        assert!(!e.to_string().contains('\n'));
    }

    #[test]
    fn missing_file_is_an_error() {
        let e = load(Some(Path::new("/nonexistent/nanopost.toml")), env(&[]), &Overrides::default()).unwrap_err();
        assert_eq!(e.key, "--config");
    }

    #[test]
    fn wrong_types_and_ranges() {
        let e = load_env(&[("NANOPOST_AUTH__SESSION_TTL_HOURS", "soon")]).unwrap_err();
        assert_eq!(e.key, "auth.session_ttl_hours");
        assert!(e.problem.contains("a whole number"), "{e}");
        assert_eq!(e.origin.as_deref(), Some("environment variable NANOPOST_AUTH__SESSION_TTL_HOURS"));

        let e = load_env(&[("NANOPOST_AUTH__ARGON2_MEMORY_KIB", "0")]).unwrap_err();
        assert_eq!(e.key, "auth.argon2_memory_kib");
        assert!(e.problem.contains("too small"), "{e}");

        let e = load_env(&[("NANOPOST_AUTH__ARGON2_MEMORY_KIB", "16"), ("NANOPOST_AUTH__ARGON2_PARALLELISM", "4")])
            .unwrap_err();
        assert!(e.problem.contains("at least 32"), "{e}");

        let e = load_env(&[("NANOPOST_LIMITS__MAX_BODY_BYTES", "10")]).unwrap_err();
        assert_eq!(e.key, "limits.max_body_bytes");

        let e = load_env(&[("NANOPOST_LOG_FORMAT", "xml")]).unwrap_err();
        assert_eq!(e.key, "log_format");
        assert!(e.problem.contains("text, json"), "{e}");

        let e = load_env(&[("NANOPOST_PUBLIC_URL", "ftp://x")]).unwrap_err();
        assert_eq!(e.key, "public_url");

        let e = load_env(&[("NANOPOST_DATABASE_URL", "mysql://root:hunter2@db/x")]).unwrap_err();
        assert_eq!(e.key, "database_url");
        assert!(!e.to_string().contains("hunter2"), "{e}");

        let e = load_env(&[("NANOPOST_LOG", "info,[[[")]).unwrap_err();
        assert_eq!(e.key, "log");
    }

    #[test]
    fn flags_are_named_as_flags() {
        let overrides = Overrides { listen: Some("nope".into()), ..Default::default() };
        let e = load(None, env(&[]), &overrides).unwrap_err();
        assert_eq!(e.origin.as_deref(), Some("command-line flag --listen"));
    }

    #[test]
    fn passwords_are_redacted_everywhere() {
        let c = load_env(&[("NANOPOST_DATABASE_URL", "postgres://app:s3cret@db:5432/np?sslmode=require&password=x2")])
            .unwrap();
        let url = c.database_url();
        assert_eq!(url.redacted(), "postgres://app:***@db:5432/np?sslmode=require&password=***");
        assert!(!format!("{c:?}").contains("s3cret"));
        let toml = c.to_redacted_toml();
        assert!(!toml.contains("s3cret") && !toml.contains("x2"), "{toml}");
        assert!(toml.contains("postgres://app:***@db:5432/np"), "{toml}");
        // The printed configuration is itself a valid configuration file.
        assert!(toml.parse::<toml::Table>().is_ok());
    }

    #[test]
    fn redaction_edge_cases() {
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("postgres://u:p@ss@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact_url("postgres://h/db#frag"), "postgres://h/db#frag");
        assert_eq!(redact_url("sqlite:///a/b.db"), "sqlite:///a/b.db");
        assert_eq!(redact_url("not a url"), "not a url");
    }

    #[test]
    fn public_url_default_follows_the_bound_address() {
        let c = Config { listen: "0.0.0.0:0".into(), ..Config::default() };
        assert_eq!(c.public_url_for("0.0.0.0:4321".parse().unwrap()), "http://127.0.0.1:4321");
        let c = Config { public_url: Some("https://np.example.com/".into()), ..Config::default() };
        assert_eq!(c.public_url_for("0.0.0.0:4321".parse().unwrap()), "https://np.example.com");
    }

    #[test]
    fn sqlite_url_escapes_special_characters() {
        assert_eq!(sqlite_url(Path::new("/a b/c?d#e%f.db")), "sqlite:///a b/c%3Fd%23e%25f.db");
    }

    #[test]
    fn queue_backend_and_redis_url() {
        assert_eq!(load_env(&[]).unwrap().queue.backend, QueueBackend::Database);
        let c = load_env(&[
            ("NANOPOST_QUEUE__BACKEND", "redis"),
            ("NANOPOST_QUEUE__REDIS_URL", "redis://:s3cret@127.0.0.1:6379/2"),
        ])
        .unwrap();
        assert_eq!(c.queue.backend, QueueBackend::Redis);
        assert_eq!(c.queue.redis_url.as_ref().unwrap().expose(), "redis://:s3cret@127.0.0.1:6379/2");
        let shown = c.to_redacted_toml();
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("[queue]") && shown.contains("backend = \"redis\""), "{shown}");

        let e = load_env(&[("NANOPOST_QUEUE__BACKEND", "redis")]).unwrap_err();
        assert!(e.to_string().starts_with("queue.redis_url: is required"), "{e}");
        let e = load_env(&[("NANOPOST_QUEUE__REDIS_URL", "http://x")]).unwrap_err();
        assert!(e.to_string().starts_with("queue.redis_url: \"http://x\" is not supported"), "{e}");
        let e = load_env(&[("NANOPOST_QUEUE__BACKEND", "kafka")]).unwrap_err();
        assert!(e.to_string().starts_with("queue.backend:"), "{e}");
    }

    #[test]
    fn privacy_periods_are_read_and_the_grace_period_never_exceeds_30_days() {
        let c = load_env(&[
            ("NANOPOST_PRIVACY__DELETION_GRACE_DAYS", "7"),
            ("NANOPOST_PRIVACY__RETENTION_OUTBOX_DAYS", "10"),
        ])
        .unwrap();
        let p = c.privacy.service_config();
        assert_eq!(p.deletion_grace, jiff::SignedDuration::from_hours(24 * 7));
        assert_eq!(p.retention.outbox_days, 10);
        assert_eq!(Config::default().privacy.service_config(), nanopost_services::privacy::PrivacyConfig::default());
        let e = load_env(&[("NANOPOST_PRIVACY__DELETION_GRACE_DAYS", "31")]).unwrap_err();
        assert!(e.to_string().starts_with("privacy.deletion_grace_days: 31 is out of range"), "{e}");
        let e = load_env(&[("NANOPOST_PRIVACY__RETENTION_AUDIT_LOG_DAYS", "0")]).unwrap_err();
        assert!(e.to_string().starts_with("privacy.retention_audit_log_days"), "{e}");
    }

    #[test]
    fn network_apps_are_read_as_text_their_secrets_never_shown_and_ids_need_secrets() {
        let c = load_env(&[
            ("NANOPOST_NETWORKS__INSTAGRAM__APP_ID", "1234567890"),
            ("NANOPOST_NETWORKS__INSTAGRAM__APP_SECRET", "ig-s3cret"),
            ("NANOPOST_NETWORKS__LINKEDIN__CLIENT_ID", "86abc"),
            ("NANOPOST_NETWORKS__LINKEDIN__CLIENT_SECRET", "li-s3cret"),
            ("NANOPOST_NETWORKS__LINKEDIN__API_URL", "http://127.0.0.1:9999"),
            ("NANOPOST_NETWORKS__TIKTOK__AUDITED", "true"),
        ])
        .unwrap();
        assert_eq!(c.networks.instagram.app_id, "1234567890", "a numeric id stays text");
        assert_eq!(c.networks.linkedin.api_url.as_deref(), Some("http://127.0.0.1:9999"));
        assert!(c.networks.tiktok.audited);
        let shown = c.to_redacted_toml();
        assert!(!shown.contains("s3cret") && shown.contains("[networks.linkedin]"), "{shown}");
        assert!(!format!("{c:?}").contains("s3cret"));

        let e = load_env(&[("NANOPOST_NETWORKS__TIKTOK__CLIENT_KEY", "k")]).unwrap_err();
        assert!(e.to_string().starts_with("networks.tiktok.client_secret: is required"), "{e}");
        let e = load_env(&[
            ("NANOPOST_NETWORKS__LINKEDIN__CLIENT_ID", "x"),
            ("NANOPOST_NETWORKS__LINKEDIN__CLIENT_SECRET", "y"),
            ("NANOPOST_NETWORKS__LINKEDIN__OAUTH_URL", "ftp://x"),
        ])
        .unwrap_err();
        assert!(e.to_string().starts_with("networks.linkedin.oauth_url:"), "{e}");
    }

    #[test]
    fn the_linkedin_web_url_is_read_and_checked_like_the_other_hosts() {
        let c = load_env(&[]).unwrap();
        assert_eq!(c.networks.linkedin.web_url, None, "unset: the adapter's www.linkedin.com");
        let c = load_env(&[("NANOPOST_NETWORKS__LINKEDIN__WEB_URL", "http://127.0.0.1:9998")]).unwrap();
        assert_eq!(c.networks.linkedin.web_url.as_deref(), Some("http://127.0.0.1:9998"));
        let e = load_env(&[("NANOPOST_NETWORKS__LINKEDIN__WEB_URL", "javascript:alert(1)")]).unwrap_err();
        assert!(e.to_string().starts_with("networks.linkedin.web_url:"), "{e}");
    }

    #[test]
    fn token_keys_are_read_from_files_or_inline_and_the_sealing_key_must_exist() {
        let key_file = temp_file("token-key", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n");
        let text = format!(
            "[secrets]\nsealing_key_id = \"2027\"\ntoken_keys = [{{ id = \"2027\", key_file = {:?} }}, {{ id = \"old\", key = \"{}\" }}]\n",
            key_file.display().to_string(),
            "A".repeat(43)
        );
        let c = load(Some(&temp_file("secrets", &text)), env(&[]), &Overrides::default()).unwrap();
        let keys = c.secrets.keys().unwrap();
        assert_eq!(keys[0].0, "2027");
        assert_eq!(keys[0].1[31], 31);
        assert!(!format!("{c:?}").contains(&"A".repeat(43)));
        assert!(!c.to_redacted_toml().contains(&"A".repeat(43)));
        // A numeric-looking id in the environment stays text.
        let e = load_env(&[("NANOPOST_SECRETS__SEALING_KEY_ID", "2027")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "secrets.sealing_key_id: \"2027\" is not the id of any entry in secrets.token_keys (set in environment variable NANOPOST_SECRETS__SEALING_KEY_ID)"
        );
        let bad_id = Secrets {
            token_keys: vec![TokenKey {
                id: "local-x".into(),
                key: Some(SecretText::new("A".repeat(43))),
                key_file: None,
            }],
            sealing_key_id: None,
        };
        assert!(bad_id.keys().unwrap_err().problem.contains("reserved"));
    }

    #[test]
    fn ai_defaults_to_offline_and_an_endpoint_is_checked_with_its_key_never_shown() {
        assert!(matches!(load_env(&[]).unwrap().ai.0, AiConfig::Offline));
        let c = load_env(&[
            ("NANOPOST_AI__PROVIDER", "openai_compatible"),
            ("NANOPOST_AI__NAME", "ollama"),
            ("NANOPOST_AI__BASE_URL", "http://127.0.0.1:11434/v1"),
            ("NANOPOST_AI__API_KEY", "12345"),
            ("NANOPOST_AI__TEXT_MODEL", "llama3.2"),
            ("NANOPOST_AI__MAX_OUTPUT_TOKENS", "500"),
        ])
        .unwrap();
        let AiConfig::OpenaiCompatible(o) = &c.ai.0 else { panic!("{c:?}") };
        assert_eq!(o.api_key.as_ref().map(|k| k.expose()), Some("12345"), "a numeric key stays text");
        assert_eq!((o.text_model.as_str(), o.max_output_tokens), ("llama3.2", 500));
        assert!(!format!("{c:?}").contains("12345"));
        let shown = c.to_redacted_toml();
        assert!(!shown.contains("12345") && shown.contains("provider = \"openai_compatible\""), "{shown}");
        assert!(shown.parse::<toml::Table>().is_ok());
        // Two configurations differing only in the key are different.
        let other = load_env(&[("NANOPOST_AI__PROVIDER", "openai_compatible"), ("NANOPOST_AI__API_KEY", "x")]).unwrap();
        assert_ne!(other.ai, c.ai);

        let with = |extra: &[(&str, &str)]| {
            let mut vars = vec![("NANOPOST_AI__PROVIDER", "openai_compatible")];
            vars.extend_from_slice(extra);
            load_env(&vars).unwrap_err()
        };
        let e = with(&[("NANOPOST_AI__BASE_URL", "ftp://x/v1")]);
        assert!(e.to_string().starts_with("ai.base_url: \"ftp://x/v1\" is not a base URL"), "{e}");
        assert_eq!(e.origin.as_deref(), Some("environment variable NANOPOST_AI__BASE_URL"));
        let e = with(&[("NANOPOST_AI__TEXT_MODEL", " ")]);
        assert_eq!(
            e.to_string(),
            "ai.text_model: must not be empty (set in environment variable NANOPOST_AI__TEXT_MODEL)"
        );
        let e = with(&[("NANOPOST_AI__IMAGE_MODEL", "")]);
        assert!(e.to_string().starts_with("ai.image_model: must not be empty; leave it unset instead"), "{e}");
        let e = with(&[("NANOPOST_AI__API_KEY", "")]);
        assert!(e.to_string().starts_with("ai.api_key: is empty"), "{e}");
        let e = with(&[("NANOPOST_AI__TEMPERATURE", "3")]);
        assert!(e.to_string().starts_with("ai.temperature: 3 is out of range"), "{e}");
        let e = with(&[("NANOPOST_AI__RETRY__MAX_ATTEMPTS", "0")]);
        assert!(e.to_string().starts_with("ai.retry.max_attempts: 0 is out of range"), "{e}");
        let e = load_env(&[("NANOPOST_AI__PROVIDER", "skynet")]).unwrap_err();
        assert!(e.to_string().contains("offline") && e.to_string().contains("openai_compatible"), "{e}");
        let e = load_env(&[("NANOPOST_AI__PROVIDER", "offline"), ("NANOPOST_AI__TEXT_MODEL", "x")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "ai.text_model: is set but ai.provider is \"offline\"; set provider = \"openai_compatible\" or remove it (set in environment variable NANOPOST_AI__TEXT_MODEL)"
        );
        let e = load_env(&[("NANOPOST_AI__TEXT_MODEL", "x")]).unwrap_err();
        assert_eq!(e.to_string(), "ai.provider: is required in this section");
        let path = temp_file("ai-unknown", "[ai]\nprovider = \"openai_compatible\"\ntext_modle = \"x\"\n");
        let e = load(Some(&path), env(&[]), &Overrides::default()).unwrap_err();
        assert!(e.to_string().contains("text_modle"), "{e}");
    }

    #[test]
    fn no_workers_flag_keeps_the_other_worker_settings_and_bad_ones_are_named() {
        let path = temp_file("workers", "[workers]\nconcurrency = 4\njob_lease_secs = 5\n");
        let overrides = Overrides { workers: Some(WorkersOverride { enabled: false }), ..Default::default() };
        let c = load(Some(&path), env(&[]), &overrides).unwrap();
        assert_eq!((c.workers.enabled, c.workers.concurrency, c.workers.job_lease_secs), (false, 4, 5));
        let r = c.workers.runtime();
        assert_eq!((r.concurrency, r.lease.as_secs(), r.heartbeat_every.as_millis()), (4, 5, 1666));
        let e = load(None, env(&[("NANOPOST_WORKERS__JOB_LEASE_SECS", "1")]), &Overrides::default()).unwrap_err();
        assert_eq!(e.key, "workers.job_lease_secs");
        let e = load(None, env(&[("NANOPOST_PUBLISHING__LATE_TOLERANCE_MINUTES", "99999")]), &Overrides::default())
            .unwrap_err();
        assert_eq!(e.key, "publishing.late_tolerance_minutes");
    }
}
