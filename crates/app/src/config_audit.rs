//! Configuration changes of the instance, audited: at start-up `serve` and `worker` reduce the
//! effective configuration to one digest per key and hand it to
//! [`Services::audit_config`], which compares it with the digests recorded at the last start
//! and writes a `config.changed` audit entry naming the keys that differ.
//!
//! Nothing leaves as a value: plain settings are digested from the redacted form `config check`
//! prints, and each secret (which that form shows as `***`) is digested with a key derived from
//! the installation secret, so a changed password or token is noticed without its digest
//! helping anyone guess it.

use crate::config::Config;
use nanopost_services::audit::ConfigDigests;
use nanopost_services::{SecretKey, Services};

/// Digests the configuration and records a change in the audit log. A failure is logged, never
/// fatal: the audit must not keep the service from starting.
pub async fn record(services: &Services, config: &Config, secret_key: &SecretKey, process: &str) {
    let digests = fingerprint(config, secret_key);
    let from = format!("{} ({process})", host_name());
    match services.audit_config(&digests, &from).await {
        Ok(changed) if changed.is_empty() => tracing::debug!("configuration unchanged since the last start"),
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "could not audit the configuration"),
    }
}

/// One digest per configuration key (`queue.backend`, `networks.tiktok.client_secret`, …).
pub fn fingerprint(config: &Config, secret_key: &SecretKey) -> ConfigDigests {
    let mut out = ConfigDigests::new();
    if let Ok(table) = config.to_redacted_toml().parse::<toml::Table>() {
        flatten("", &toml::Value::Table(table), &mut out);
    }
    for (key, secret) in secrets(config) {
        let digest = match secret {
            Some(value) => nanopost_services::secrets::sign(secret_key, "config-fingerprint", value.as_bytes()),
            None => "unset".to_owned(),
        };
        out.insert(key, format!("secret:{digest}"));
    }
    out
}

fn flatten(prefix: &str, v: &toml::Value, out: &mut ConfigDigests) {
    match v {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten(&key, v, out);
            }
        }
        // Lists of sections (`secrets.token_keys`) are keyed by position, like the secrets in them.
        toml::Value::Array(items) if items.iter().any(toml::Value::is_table) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{prefix}.{i}"), v, out);
            }
        }
        other => {
            out.insert(prefix.to_owned(), nanopost_media::digest(other.to_string().as_bytes()));
        }
    }
}

/// The secrets of the configuration with their keys. A secret added to the configuration is
/// added here (the test below fails while `config check` shows a `***` no entry here covers).
fn secrets(config: &Config) -> Vec<(String, Option<&str>)> {
    let n = &config.networks;
    let mut out: Vec<(String, Option<&str>)> = vec![
        ("database_url".into(), config.database_url.as_ref().map(|u| u.expose())),
        ("queue.redis_url".into(), config.queue.redis_url.as_ref().map(|u| u.expose())),
        ("networks.instagram.app_secret".into(), n.instagram.app_secret.as_ref().map(|s| s.expose())),
        ("networks.instagram.facebook_app_secret".into(), n.instagram.facebook_app_secret.as_ref().map(|s| s.expose())),
        ("networks.linkedin.client_secret".into(), n.linkedin.client_secret.as_ref().map(|s| s.expose())),
        ("networks.tiktok.client_secret".into(), n.tiktok.client_secret.as_ref().map(|s| s.expose())),
        ("email.smtp.password".into(), config.email.smtp.password.as_ref().map(|s| s.expose())),
        ("media.s3.secret_access_key".into(), config.media.s3.secret_access_key.as_ref().map(|s| s.expose())),
        ("telegram.bot_token".into(), config.telegram.bot_token.as_ref().map(|s| s.expose())),
        ("telegram.webhook_secret".into(), config.telegram.webhook_secret.as_ref().map(|s| s.expose())),
    ];
    let ai_key = match &config.ai.0 {
        nanopost_ai::AiConfig::OpenaiCompatible(c) => c.api_key.as_ref().map(|k| k.expose()),
        nanopost_ai::AiConfig::Offline => None,
    };
    out.push(("ai.api_key".into(), ai_key));
    for (i, k) in config.secrets.token_keys.iter().enumerate() {
        out.push((format!("secrets.token_keys.{i}.key"), k.key.as_ref().map(|s| s.expose())));
    }
    out
}

/// The machine's name, for "from where" of the entry.
fn host_name() -> String {
    let from_file = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .map(|s| s.trim().to_owned());
    from_file
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.trim().is_empty()))
        .map(|s| s.chars().filter(|c| !c.is_control()).take(253).collect())
        .unwrap_or_else(|| "an unnamed host".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Overrides;

    fn key() -> SecretKey {
        SecretKey::from_bytes([7; 32])
    }

    fn config(toml_text: &str) -> Config {
        let file = std::env::temp_dir().join(format!("np-config-audit-{}.toml", uuid::Uuid::now_v7()));
        std::fs::write(&file, toml_text).unwrap();
        let c =
            crate::config::load(Some(&file), std::iter::empty::<(String, String)>(), &Overrides::default()).unwrap();
        let _ = std::fs::remove_file(&file);
        c
    }

    #[test]
    fn a_changed_setting_or_secret_changes_its_digest_only_and_no_value_is_kept() {
        let a = fingerprint(&config("listen = \"127.0.0.1:8080\"\n"), &key());
        let b = fingerprint(&config("listen = \"127.0.0.1:9090\"\n"), &key());
        let changed = nanopost_services::audit::changed_keys(&a, &b);
        assert!(changed.contains(&"listen".to_owned()), "{changed:?}");
        assert!(!changed.contains(&"log".to_owned()));
        let s1 = fingerprint(&config("[telegram]\nbot_token = \"123:first-token\"\n"), &key());
        let s2 = fingerprint(&config("[telegram]\nbot_token = \"123:second-token\"\n"), &key());
        assert_eq!(nanopost_services::audit::changed_keys(&s1, &s2), vec!["telegram.bot_token".to_owned()]);
        for (k, v) in s1.iter().chain(a.iter()) {
            assert!(!v.contains("first-token") && !v.contains("127.0.0.1"), "{k} keeps a value: {v}");
        }
    }

    #[test]
    fn every_redacted_key_is_a_known_secret() {
        use crate::config::{SecretText, TokenKey};
        // Loaded for the URLs (their type has no other constructor), then every other secret
        // set directly: validation is not the point here, redaction is.
        let mut c =
            config("database_url = \"postgres://u:pw@db/np\"\n[queue]\nredis_url = \"redis://:pw@127.0.0.1:6379/0\"\n");
        let secret = || Some(SecretText::new("s3cret-value"));
        c.networks.instagram.app_secret = secret();
        c.networks.instagram.facebook_app_secret = secret();
        c.networks.linkedin.client_secret = secret();
        c.networks.tiktok.client_secret = secret();
        c.email.smtp.password = secret();
        c.media.s3.secret_access_key = secret();
        c.telegram.bot_token = secret();
        c.telegram.webhook_secret = secret();
        c.secrets.token_keys = vec![TokenKey { id: "k1".into(), key_file: None, key: secret() }];
        c.ai.0 = nanopost_ai::AiConfig::OpenaiCompatible(Box::new(nanopost_ai::openai::OpenAiConfig::openai(
            nanopost_ai::ApiKey::new("s3cret-value"),
        )));
        let known: Vec<String> = secrets(&c).into_iter().map(|(k, _)| k).collect();
        let table = c.to_redacted_toml().parse::<toml::Table>().unwrap();
        let mut plain = ConfigDigests::new();
        flatten_values("", &toml::Value::Table(table), &mut plain);
        let redacted: Vec<_> = plain.iter().filter(|(_, v)| v.contains("***") || v.contains("redacted")).collect();
        assert!(redacted.len() >= 12, "{redacted:?}");
        for (k, _) in redacted {
            assert!(known.contains(k), "{k} is redacted but not digested as a secret");
        }
        let digests = fingerprint(&c, &key());
        assert!(digests.values().all(|v| !v.contains("s3cret") && !v.contains("pw@")));
    }

    /// Like `flatten`, keeping the redacted values (tests only).
    fn flatten_values(prefix: &str, v: &toml::Value, out: &mut ConfigDigests) {
        match v {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    flatten_values(&if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") }, v, out);
                }
            }
            toml::Value::Array(items) if items.iter().any(toml::Value::is_table) => {
                for (i, v) in items.iter().enumerate() {
                    flatten_values(&format!("{prefix}.{i}"), v, out);
                }
            }
            other => {
                out.insert(prefix.to_owned(), other.to_string());
            }
        }
    }
}
