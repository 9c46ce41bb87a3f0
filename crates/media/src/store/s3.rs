//! Objects in an S3-compatible bucket (AWS S3, MinIO, Garage, Ceph, moto …), over the REST API
//! with the workspace's reqwest client. Requests are signed with AWS Signature V4 as presigned
//! URLs (by `rusty-s3`, which signs and does no I/O), valid for a few minutes.
//!
//! Neither the secret key nor a signed URL ever appears in `Debug`, a log line or an error
//! message: errors name the operation, the object key and the status only.

use super::{KeyPrefix, MediaStore, ObjectKey, StoreError, StoreFuture, StoreResult};
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use std::fmt;
use std::time::Duration;

/// How long a signed request stays valid (it is sent at once; the margin covers clock skew).
const SIGNED_FOR: Duration = Duration::from_secs(300);
/// Largest error body read (for the message).
const MAX_ERROR_BODY: usize = 16 * 1024;
/// Largest listing answer read.
const MAX_LIST_BODY: usize = 8 * 1024 * 1024;

/// The secret access key: shown as `***` in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Secret(String);

impl S3Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for S3Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("S3Secret(***)")
    }
}

/// Where the bucket is and how to sign for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Config {
    /// `https://s3.eu-central-1.amazonaws.com`, `http://127.0.0.1:9000`, …
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub access_key_id: String,
    pub secret_access_key: S3Secret,
    /// `true`: `endpoint/bucket/key` (MinIO, moto, most self-hosted servers); `false`:
    /// `bucket.endpoint/key` (AWS's virtual-hosted style).
    pub path_style: bool,
    /// Largest object read back (the largest upload allowed).
    pub max_object_bytes: u64,
    pub connect_timeout: Duration,
    /// For one whole request, the transfer included.
    pub request_timeout: Duration,
}

#[derive(Clone)]
pub struct S3Store {
    bucket: Bucket,
    credentials: Credentials,
    client: reqwest::Client,
    max_object_bytes: u64,
    endpoint: String,
}

impl fmt::Debug for S3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Store")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket.name())
            .field("region", &self.bucket.region())
            .finish_non_exhaustive()
    }
}

impl S3Store {
    /// Checks the settings (no request is made).
    pub fn new(config: &S3Config) -> Result<Self, String> {
        let endpoint = config.endpoint.trim_end_matches('/');
        let url = endpoint.parse().map_err(|e| format!("endpoint {endpoint:?} is not a URL ({e})"))?;
        let style = if config.path_style { UrlStyle::Path } else { UrlStyle::VirtualHost };
        let bucket = Bucket::new(url, style, config.bucket.clone(), config.region.clone()).map_err(|e| {
            let hint = if config.path_style { "" } else { "; for an IP address use path-style addressing" };
            format!("endpoint {endpoint:?} and bucket {:?} do not make a URL ({e}){hint}", config.bucket)
        })?;
        let credentials = Credentials::new(config.access_key_id.clone(), config.secret_access_key.expose().to_owned());
        // reqwest is built without a default TLS provider; the process installs ring once.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            // A redirect would carry a signed request somewhere else.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("nanopost/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self {
            bucket,
            credentials,
            client,
            max_object_bytes: config.max_object_bytes,
            endpoint: endpoint.to_owned(),
        })
    }

    pub fn bucket(&self) -> &str {
        self.bucket.name()
    }

    /// Creates the bucket (tests and first set-up). An existing bucket of ours is fine.
    pub async fn create_bucket(&self) -> StoreResult<()> {
        let action = self.bucket.create_bucket(&self.credentials);
        let body = action.body();
        let url = action.sign(SIGNED_FOR);
        let res = self
            .client
            .put(url)
            // Some servers refuse a PUT without a length, even an empty one.
            .header(reqwest::header::CONTENT_LENGTH, body.len())
            .body(body)
            .send()
            .await
            .map_err(|e| transport("create the bucket", &e))?;
        match res.status().as_u16() {
            200..=299 => Ok(()),
            409 => {
                let text = read_limited(res, MAX_ERROR_BODY).await.unwrap_or_default();
                if String::from_utf8_lossy(&text).contains("BucketAlreadyOwnedByYou") {
                    Ok(())
                } else {
                    Err(StoreError::Remote(format!("refused to create bucket {:?}: it exists", self.bucket.name())))
                }
            }
            _ => Err(answer_error("create the bucket", None, res).await),
        }
    }

    /// Checks that the bucket answers to these credentials (start-up and `config check`).
    pub async fn check(&self) -> StoreResult<()> {
        let url = self.bucket.head_bucket(Some(&self.credentials)).sign(SIGNED_FOR);
        let res = self.client.head(url).send().await.map_err(|e| transport("reach the bucket", &e))?;
        if res.status().is_success() { Ok(()) } else { Err(answer_error("open the bucket", None, res).await) }
    }
}

fn transport(what: &str, e: &reqwest::Error) -> StoreError {
    // `without_url`: the URL is a signed one.
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not be reached"
    } else {
        "failed"
    };
    let detail = std::error::Error::source(e).map(|s| format!(" ({s})")).unwrap_or_default();
    StoreError::Remote(format!("{kind} while trying to {what}{detail}"))
}

async fn answer_error(what: &str, key: Option<&ObjectKey>, res: reqwest::Response) -> StoreError {
    let status = res.status().as_u16();
    let body = read_limited(res, MAX_ERROR_BODY).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&body);
    // S3 errors are XML with a <Code>; that is the useful part.
    let code = text.split("<Code>").nth(1).and_then(|r| r.split("</Code>").next()).unwrap_or("").trim();
    let code: String = code.chars().filter(|c| c.is_ascii_alphanumeric()).take(64).collect();
    let object = key.map(|k| format!(" {k}")).unwrap_or_default();
    let code = if code.is_empty() { String::new() } else { format!(", {code}") };
    StoreError::Remote(format!("refused to {what}{object} (HTTP {status}{code})"))
}

/// Reads a body up to `limit` bytes; more is an error.
async fn read_limited(mut res: reqwest::Response, limit: usize) -> Result<Vec<u8>, ()> {
    if res.content_length().is_some_and(|n| n > limit as u64) {
        return Err(());
    }
    let mut out = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(|_| ())? {
        if out.len() + chunk.len() > limit {
            return Err(());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

impl MediaStore for S3Store {
    fn kind(&self) -> &'static str {
        "s3"
    }

    fn put<'a>(&'a self, key: &'a ObjectKey, bytes: &'a [u8]) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            // A PUT is idempotent: a 5xx (S3 and its look-alikes answer 500/503 under load) is
            // tried again twice, shortly, as the AWS clients do.
            let mut attempt = 0;
            loop {
                attempt += 1;
                let url = self.bucket.put_object(Some(&self.credentials), key.as_str()).sign(SIGNED_FOR);
                let res = self
                    .client
                    .put(url)
                    .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                    .body(bytes.to_vec())
                    .send()
                    .await
                    .map_err(|e| transport("store an object", &e))?;
                if res.status().is_success() {
                    return Ok(());
                }
                if !res.status().is_server_error() || attempt >= 3 {
                    return Err(answer_error("store", Some(key), res).await);
                }
                tokio::time::sleep(std::time::Duration::from_millis(100 * attempt)).await;
            }
        })
    }

    fn get<'a>(&'a self, key: &'a ObjectKey) -> StoreFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            let url = self.bucket.get_object(Some(&self.credentials), key.as_str()).sign(SIGNED_FOR);
            let res = self.client.get(url).send().await.map_err(|e| transport("read an object", &e))?;
            match res.status().as_u16() {
                200 => {
                    let limit = usize::try_from(self.max_object_bytes).unwrap_or(usize::MAX);
                    let bytes = read_limited(res, limit)
                        .await
                        .map_err(|()| StoreError::TooLarge { key: key.to_string(), limit: self.max_object_bytes })?;
                    Ok(Some(bytes))
                }
                404 => Ok(None),
                _ => Err(answer_error("read", Some(key), res).await),
            }
        })
    }

    fn delete<'a>(&'a self, key: &'a ObjectKey) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let url = self.bucket.delete_object(Some(&self.credentials), key.as_str()).sign(SIGNED_FOR);
            let res = self.client.delete(url).send().await.map_err(|e| transport("delete an object", &e))?;
            match res.status().as_u16() {
                200..=299 | 404 => Ok(()),
                _ => Err(answer_error("delete", Some(key), res).await),
            }
        })
    }

    fn exists<'a>(&'a self, key: &'a ObjectKey) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let url = self.bucket.head_object(Some(&self.credentials), key.as_str()).sign(SIGNED_FOR);
            let res = self.client.head(url).send().await.map_err(|e| transport("look up an object", &e))?;
            match res.status().as_u16() {
                200..=299 => Ok(true),
                404 => Ok(false),
                _ => Err(answer_error("look up", Some(key), res).await),
            }
        })
    }

    fn list<'a>(
        &'a self,
        prefix: KeyPrefix,
        after: Option<&'a ObjectKey>,
        limit: usize,
    ) -> StoreFuture<'a, Vec<ObjectKey>> {
        Box::pin(async move {
            let mut out: Vec<ObjectKey> = Vec::new();
            let mut start_after = after.map(|a| a.as_str().to_owned());
            let prefix_text = prefix.as_string();
            while out.len() < limit {
                let mut action = self.bucket.list_objects_v2(Some(&self.credentials));
                if !prefix_text.is_empty() {
                    action.with_prefix(prefix_text.as_str());
                }
                if let Some(s) = &start_after {
                    action.with_start_after(s.as_str());
                }
                action.with_max_keys((limit - out.len()).min(1000));
                let url = action.sign(SIGNED_FOR);
                let res = self.client.get(url).send().await.map_err(|e| transport("list objects", &e))?;
                if !res.status().is_success() {
                    return Err(answer_error("list objects", None, res).await);
                }
                let body = read_limited(res, MAX_LIST_BODY)
                    .await
                    .map_err(|()| StoreError::Remote("sent a listing that is too large".into()))?;
                let text = String::from_utf8_lossy(&body);
                let parsed = rusty_s3::actions::ListObjectsV2::parse_response(&text)
                    .map_err(|e| StoreError::Remote(format!("sent a listing that could not be read ({e})")))?;
                let page_len = parsed.contents.len();
                for c in parsed.contents {
                    start_after = Some(c.key.clone());
                    // Objects that are not ours (other tools sharing the bucket) are skipped.
                    if let Some(k) = ObjectKey::parse(&c.key).filter(|k| prefix.matches(k)) {
                        out.push(k);
                    }
                }
                if page_len == 0 || parsed.next_continuation_token.is_none() {
                    break;
                }
            }
            out.truncate(limit);
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let store = S3Store::new(&S3Config {
            endpoint: "http://127.0.0.1:9".into(),
            region: "us-east-1".into(),
            bucket: "media".into(),
            access_key_id: "AKIAEXAMPLE".into(),
            secret_access_key: S3Secret::new("very-secret-key"),
            path_style: true,
            max_object_bytes: 1024,
            connect_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(1),
        })
        .unwrap();
        assert!(!format!("{store:?}").contains("very-secret-key"));
        assert!(!format!("{:?}", S3Secret::new("very-secret-key")).contains("very"));
        assert!(S3Store::new(&S3Config { endpoint: "not a url".into(), ..test_config() }).is_err());
        assert!(S3Store::new(&S3Config { endpoint: "ftp://x".into(), ..test_config() }).is_err());
    }

    fn test_config() -> S3Config {
        S3Config {
            endpoint: "http://127.0.0.1:9".into(),
            region: "us-east-1".into(),
            bucket: "media".into(),
            access_key_id: "a".into(),
            secret_access_key: S3Secret::new("b"),
            path_style: true,
            max_object_bytes: 1024,
            connect_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(1),
        }
    }

    #[tokio::test]
    async fn an_unreachable_server_is_an_error_without_the_signed_url() {
        let store = S3Store::new(&test_config()).unwrap();
        let key = ObjectKey::media(uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        let e = store.get(&key).await.unwrap_err().to_string();
        assert!(!e.contains("X-Amz-Signature") && !e.contains("127.0.0.1:9/media"), "{e}");
    }
}
