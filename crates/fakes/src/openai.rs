//! Fake OpenAI-compatible API, one listener (`"openai"`, [`FakeOpenAi::base_url`] ends in
//! `/v1`), standing for `api.openai.com/v1`, `api.x.ai/v1` or a local Ollama / vLLM /
//! llama.cpp server (pick the [`Dialect`]).
//!
//! Endpoints:
//! - `POST /v1/chat/completions`: validates the request shape and answers with a completion
//!   whose content follows the requested JSON schema (synthesised from the schema and the
//!   words of the user message) — or exactly the JSON given with [`Misbehaviour::Reply`].
//!   Checks: `model` (known models when configured: else 404 `model_not_found`), `messages`
//!   (roles `system|developer|user|assistant|tool`; content a string or an array of `text` /
//!   `image_url` parts; images only in user messages, as `http(s)` or
//!   `data:image/{jpeg,png,gif,webp};base64,…` whose bytes match the type; `detail`
//!   `low|high|auto`), `response_format` (`text`, `json_object` — some message must mention
//!   JSON — or `json_schema` with a valid `name` and `schema`, and with `strict: true` every
//!   object lists all its properties in `required` and has `additionalProperties: false`),
//!   `temperature` 0–2, `max_tokens` / `max_completion_tokens` positive (reasoning models
//!   reject `max_tokens`), no unknown top-level parameters, no `stream`.
//! - `POST /v1/images/generations`: per-model parameters as in the reference table
//!   (`gpt-image-*`, `dall-e-3`, `dall-e-2`, `grok-*`, others lenient): `prompt` length, `n`,
//!   `size`, `quality`, `response_format` (rejected by `gpt-image-*`), `style`… Answers real PNGs
//!   of the requested size (`b64_json`, or a `url` served by the fake at `/files/…`).
//! - `GET /v1/models`.
//!
//! Errors use OpenAI's body `{"error":{"message","type","param","code"}}` ([`api_error`]).
//! Authentication: `Authorization: Bearer …` required unless `require_key` is off (Ollama's
//! default); with `accepted_keys` set, other keys get 401 `invalid_api_key`.
//!
//! Failure injection: the generic [`Failure`] classes render as OpenAI does — `RateLimited`
//! → 429 `rate_limit_exceeded` (with `Retry-After` only when given), `QuotaExhausted` → 429
//! `insufficient_quota`, `ServerError` → 500 `server_error`, token failures → 401
//! `invalid_api_key`, `PermissionMissing` → 403, `ContentRejected` → 400
//! `content_policy_violation`; `Delay` / `Hang` make slow answers; `Respond` anything else
//! (e.g. a 503). Answer-level misbehaviour goes through [`FakeOpenAi::misbehave_next`]:
//! malformed bodies, truncated JSON, refusals, content filters, prose instead of JSON…

use crate::failure::Failure;
use crate::incoming::Incoming;
use crate::server::{self, FakeServer, Service, lock};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use nanopost_domain::clock::{Clock, SystemClock};
use serde_json::{Map, Value, json};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

const LISTENER: &str = "openai";
const ROLES: [&str; 5] = ["system", "developer", "user", "assistant", "tool"];
const CHAT_PARAMS: &[&str] = &[
    "model",
    "messages",
    "response_format",
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "n",
    "stop",
    "seed",
    "user",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "stream",
    "stream_options",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "reasoning_effort",
    "metadata",
    "store",
    "service_tier",
];
const IMAGE_PARAMS: &[&str] = &[
    "model",
    "prompt",
    "n",
    "size",
    "quality",
    "response_format",
    "style",
    "user",
    "background",
    "moderation",
    "output_format",
    "output_compression",
];

/// Whose answers the fake imitates. All speak the same wire; they differ in the details
/// clients trip over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    /// Canonical: `object`, `refusal: null`, `service_tier`, usage details.
    #[default]
    OpenAi,
    /// xAI Grok: `reasoning_content` beside the content, `num_sources_used` in usage, no
    /// `service_tier`.
    Xai,
    /// Ollama's `/v1`: `system_fingerprint: fp_ollama`, no `refusal` key, and the JSON wrapped
    /// in a `<think>` block and a ```json fence (what reasoning models served locally emit).
    Ollama,
    /// A loose local server: no `object`, empty `finish_reason`, content as an array of parts,
    /// an unknown `service_tier` value, numbers as floats.
    Lenient,
}

/// One answer that goes wrong on purpose (queued; each consumes one chat request).
#[derive(Debug, Clone, PartialEq)]
pub enum Misbehaviour {
    /// 200 with a body cut in the middle of its JSON.
    MalformedBody,
    /// The content's JSON cut short, `finish_reason: stop` (a buggy server).
    TruncatedContent,
    /// The content's JSON cut short with `finish_reason: length` (the token limit was hit).
    CutOff,
    /// `content: null` and `refusal: <text>`.
    Refusal(String),
    /// `finish_reason: content_filter`, no content.
    ContentFilter,
    /// Prose instead of JSON.
    NotJson,
    /// `choices: []`.
    EmptyChoices,
    /// This exact value as the content's JSON.
    Reply(Value),
}

#[derive(Debug, Clone)]
pub struct OpenAiSettings {
    pub dialect: Dialect,
    /// Reject requests without `Authorization: Bearer …`.
    pub require_key: bool,
    /// `None`: any non-empty key.
    pub accepted_keys: Option<Vec<String>>,
    /// `None`: any chat model name.
    pub chat_models: Option<Vec<String>>,
    /// `None`: any image model name.
    pub image_models: Option<Vec<String>>,
    /// Largest decoded image in a `data:` URL.
    pub max_image_input_bytes: usize,
}

impl Default for OpenAiSettings {
    fn default() -> Self {
        OpenAiSettings {
            dialect: Dialect::OpenAi,
            require_key: true,
            accepted_keys: None,
            chat_models: None,
            image_models: None,
            max_image_input_bytes: 20 * 1024 * 1024,
        }
    }
}

#[derive(Clone)]
pub struct FakeOpenAiConfig {
    pub clock: Arc<dyn Clock>,
    pub addr: SocketAddr,
    pub settings: OpenAiSettings,
}

impl Default for FakeOpenAiConfig {
    fn default() -> Self {
        FakeOpenAiConfig {
            clock: Arc::new(SystemClock),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            settings: OpenAiSettings::default(),
        }
    }
}

/// A request that passed validation, as the fake understood it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatSeen {
    pub model: String,
    pub schema_name: Option<String>,
    pub images: usize,
}

struct Inner {
    clock: Arc<dyn Clock>,
    settings: Mutex<OpenAiSettings>,
    misbehaviours: Mutex<VecDeque<Misbehaviour>>,
    files: Mutex<HashMap<String, Vec<u8>>>,
    chats: Mutex<Vec<ChatSeen>>,
    counter: AtomicU64,
    base_url: Mutex<String>,
}

/// The running fake. Derefs to [`FakeServer`] (`requests()`, `fail_next(..)`…).
#[derive(Clone)]
pub struct FakeOpenAi {
    server: FakeServer,
    inner: Arc<Inner>,
}

impl std::ops::Deref for FakeOpenAi {
    type Target = FakeServer;
    fn deref(&self) -> &FakeServer {
        &self.server
    }
}

impl FakeOpenAi {
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(FakeOpenAiConfig::default()).await
    }

    pub async fn start_with(config: FakeOpenAiConfig) -> std::io::Result<Self> {
        let inner = Arc::new(Inner {
            clock: config.clock.clone(),
            settings: Mutex::new(config.settings),
            misbehaviours: Mutex::new(VecDeque::new()),
            files: Mutex::new(HashMap::new()),
            chats: Mutex::new(Vec::new()),
            counter: AtomicU64::new(0),
            base_url: Mutex::new(String::new()),
        });
        let server = server::start(inner.clone(), config.clock, &[(LISTENER, config.addr)]).await?;
        *lock(&inner.base_url) = server.base_url_of(LISTENER);
        Ok(FakeOpenAi { server, inner })
    }

    /// `http://127.0.0.1:<port>/v1`: what a client's configured base URL maps to.
    pub fn base_url(&self) -> String {
        format!("{}/v1", self.server.base_url_of(LISTENER))
    }

    pub fn set_dialect(&self, dialect: Dialect) {
        lock(&self.inner.settings).dialect = dialect;
    }

    pub fn update_settings(&self, change: impl FnOnce(&mut OpenAiSettings)) {
        change(&mut lock(&self.inner.settings));
    }

    /// The next chat request that passes validation is answered this way.
    pub fn misbehave_next(&self, m: Misbehaviour) {
        self.misbehave_times(m, 1);
    }

    pub fn misbehave_times(&self, m: Misbehaviour, times: usize) {
        let mut queue = lock(&self.inner.misbehaviours);
        for _ in 0..times {
            queue.push_back(m.clone());
        }
    }

    /// Chat requests that passed validation, oldest first.
    pub fn chats(&self) -> Vec<ChatSeen> {
        lock(&self.inner.chats).clone()
    }

    /// The request bodies of every call to a path ending in `suffix`, parsed as JSON.
    pub fn bodies_to(&self, suffix: &str) -> Vec<Value> {
        self.requests().into_iter().filter(|r| r.path.ends_with(suffix)).filter_map(|r| r.json()).collect()
    }
}

impl Service for Inner {
    async fn handle(self: Arc<Self>, req: Incoming) -> Response {
        self.route(req)
    }

    fn render_failure(&self, failure: &Failure, _req: &Incoming) -> Response {
        let e = match failure {
            Failure::RateLimited { retry_after } => {
                let mut r = ApiError::new(
                    429,
                    "requests",
                    Some("rate_limit_exceeded"),
                    "Rate limit reached for requests per min (RPM). Please try again later.",
                )
                .response();
                if let Some(secs) = retry_after
                    && let Ok(v) = HeaderValue::from_str(&secs.to_string())
                {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
                r.headers_mut().insert("x-ratelimit-remaining-requests", HeaderValue::from_static("0"));
                return r;
            }
            Failure::QuotaExhausted => ApiError::new(
                429,
                "insufficient_quota",
                Some("insufficient_quota"),
                "You exceeded your current quota, please check your plan and billing details.",
            ),
            Failure::ServerError => {
                ApiError::new(500, "server_error", None, "The server had an error while processing your request.")
            }
            Failure::TokenExpired | Failure::TokenInvalid | Failure::TokenRevoked => invalid_key(),
            Failure::PermissionMissing => ApiError::new(
                403,
                "invalid_request_error",
                Some("unsupported_country_region_territory"),
                "Country, region, or territory not supported",
            ),
            Failure::ContentRejected => ApiError::new(
                400,
                "invalid_request_error",
                Some("content_policy_violation"),
                "Your request was rejected as a result of our safety system.",
            ),
            Failure::Respond { status, headers, body } => return raw(*status, headers, body),
            _ => ApiError::new(503, "server_error", None, "The engine is currently overloaded, please try again later"),
        };
        e.response()
    }
}

impl Inner {
    fn next_id(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::SeqCst) + 1
    }

    fn route(&self, req: Incoming) -> Response {
        let seg = req.seg();
        if req.method == "GET"
            && let ["files", name] = seg.as_slice()
        {
            // Generated-image URLs are unauthenticated, like pre-signed blob URLs.
            return match lock(&self.files).get(*name) {
                Some(bytes) => ([(header::CONTENT_TYPE, "image/png")], bytes.clone()).into_response(),
                None => StatusCode::NOT_FOUND.into_response(),
            };
        }
        if let Err(e) = self.authenticate(&req) {
            return e.response();
        }
        let result = match (req.method.as_str(), seg.as_slice()) {
            ("POST", ["v1", "chat", "completions"]) => self.chat(&req),
            ("POST", ["v1", "images", "generations"]) => self.images(&req),
            ("GET", ["v1", "models"]) => Ok(self.models()),
            (m, _) => {
                Err(ApiError::new(404, "invalid_request_error", None, &format!("Invalid URL ({m} {})", req.path)))
            }
        };
        result.unwrap_or_else(|e| e.response())
    }

    fn authenticate(&self, req: &Incoming) -> Result<(), ApiError> {
        let settings = lock(&self.settings).clone();
        match req.bearer().filter(|k| !k.is_empty()) {
            None if settings.require_key => Err(ApiError::new(
                401,
                "invalid_request_error",
                None,
                "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            )),
            Some(key) if settings.accepted_keys.as_ref().is_some_and(|keys| !keys.iter().any(|k| k == key)) => {
                Err(invalid_key())
            }
            _ => Ok(()),
        }
    }

    fn models(&self) -> Response {
        let settings = lock(&self.settings).clone();
        let names: Vec<String> = settings
            .chat_models
            .unwrap_or_else(|| vec!["gpt-4o-mini".into(), "gpt-4o".into()])
            .into_iter()
            .chain(settings.image_models.unwrap_or_else(|| vec!["gpt-image-1".into(), "dall-e-3".into()]))
            .collect();
        let data: Vec<Value> = names
            .iter()
            .map(|m| json!({"id": m, "object": "model", "created": 1_700_000_000, "owned_by": "system"}))
            .collect();
        json_response(200, &json!({"object": "list", "data": data}))
    }

    fn chat(&self, req: &Incoming) -> Result<Response, ApiError> {
        let settings = lock(&self.settings).clone();
        let body = req.json().map_err(|m| ApiError::invalid(&m, None))?;
        let shape = validate_chat(&body, &settings)?;
        lock(&self.chats).push(ChatSeen {
            model: shape.model.clone(),
            schema_name: shape.schema.as_ref().map(|(n, _)| n.clone()),
            images: shape.images,
        });
        let id = self.next_id();
        let misbehaviour = lock(&self.misbehaviours).pop_front();
        let words = Words::from_text(&shape.user_text, id);
        let content_json = match &misbehaviour {
            Some(Misbehaviour::Reply(v)) => v.clone(),
            _ => match &shape.schema {
                Some((_, schema)) => synthesize(schema, None, &words, 0),
                None if shape.json_mode => json!({"result": words.sentence(0)}),
                None => Value::String(words.sentence(0)),
            },
        };
        let content = match &content_json {
            Value::String(s) if shape.schema.is_none() && !shape.json_mode => s.clone(),
            v => v.to_string(),
        };
        let prompt_tokens = (shape.prompt_chars / 4 + 1) as u64;
        let mut answer = Answer { content: Some(content), refusal: None, finish: "stop" };
        match misbehaviour {
            Some(Misbehaviour::TruncatedContent) => answer.content = answer.content.map(|c| cut_half(&c)),
            Some(Misbehaviour::CutOff) => {
                answer.content = answer.content.map(|c| cut_half(&c));
                answer.finish = "length";
            }
            Some(Misbehaviour::Refusal(text)) => {
                answer.content = None;
                answer.refusal = Some(text);
            }
            Some(Misbehaviour::ContentFilter) => {
                answer.content = None;
                answer.finish = "content_filter";
            }
            Some(Misbehaviour::NotJson) => {
                answer.content = Some("Sure! Here is a lovely caption for your brand, I hope you like it.".into())
            }
            Some(Misbehaviour::EmptyChoices) => {
                let mut v = render_chat(settings.dialect, id, &shape.model, &answer, prompt_tokens, self.now());
                v["choices"] = json!([]);
                return Ok(json_response(200, &v));
            }
            Some(Misbehaviour::MalformedBody) => {
                let full =
                    render_chat(settings.dialect, id, &shape.model, &answer, prompt_tokens, self.now()).to_string();
                return Ok(raw(200, &[("content-type".into(), "application/json".into())], &cut_half(&full)));
            }
            Some(Misbehaviour::Reply(_)) | None => {}
        }
        let v = render_chat(settings.dialect, id, &shape.model, &answer, prompt_tokens, self.now());
        let mut response = json_response(200, &v);
        response.headers_mut().insert(
            "x-request-id",
            HeaderValue::from_str(&format!("req_fake{id}")).unwrap_or(HeaderValue::from_static("req")),
        );
        Ok(response)
    }

    fn images(&self, req: &Incoming) -> Result<Response, ApiError> {
        let settings = lock(&self.settings).clone();
        let body = req.json().map_err(|m| ApiError::invalid(&m, None))?;
        let p = validate_images(&body, &settings)?;
        let mut data = Vec::new();
        for i in 0..p.n {
            let id = self.next_id();
            let png = png_gradient(p.width, p.height, &format!("{}#{i}", p.prompt));
            let mut item = Map::new();
            if p.as_url {
                let name = format!("img-{id}.png");
                item.insert("url".into(), json!(format!("{}/files/{name}", lock(&self.base_url))));
                lock(&self.files).insert(name, png);
            } else {
                item.insert("b64_json".into(), json!(base64::engine::general_purpose::STANDARD.encode(&png)));
            }
            if matches!(p.family, Family::DallE3 | Family::Grok) {
                item.insert("revised_prompt".into(), json!(format!("A detailed rendering: {}", p.prompt)));
            }
            data.push(Value::Object(item));
        }
        let mut v = json!({"created": self.now(), "data": data});
        if p.family == Family::GptImage {
            let input = (p.prompt.chars().count() / 4 + 1) as u64;
            v["usage"] = json!({"total_tokens": input + 1056, "input_tokens": input, "output_tokens": 1056,
                "input_tokens_details": {"text_tokens": input, "image_tokens": 0}});
        }
        Ok(json_response(200, &v))
    }

    fn now(&self) -> i64 {
        self.clock.now().as_second()
    }
}

/// An OpenAI-style error answer.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: u16,
    kind: String,
    code: Option<String>,
    param: Option<String>,
    message: String,
}

impl ApiError {
    fn new(status: u16, kind: &str, code: Option<&str>, message: &str) -> Self {
        ApiError { status, kind: kind.into(), code: code.map(str::to_owned), param: None, message: message.into() }
    }

    fn invalid(message: &str, param: Option<&str>) -> Self {
        ApiError {
            status: 400,
            kind: "invalid_request_error".into(),
            code: None,
            param: param.map(str::to_owned),
            message: message.into(),
        }
    }

    fn with_code(mut self, code: &str) -> Self {
        self.code = Some(code.into());
        self
    }

    fn body(&self) -> Value {
        json!({"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}})
    }

    fn response(&self) -> Response {
        json_response(self.status, &self.body())
    }
}

/// A [`Failure`] answering with OpenAI's error body (e.g. `api_error(503, "server_error", None,
/// "overloaded")`, or a 400 `content_policy_violation`).
pub fn api_error(status: u16, kind: &str, code: Option<&str>, message: &str) -> Failure {
    Failure::json(status, ApiError::new(status, kind, code, message).body())
}

fn invalid_key() -> ApiError {
    ApiError::new(401, "invalid_request_error", Some("invalid_api_key"), "Incorrect API key provided.")
}

fn json_response(status: u16, v: &Value) -> Response {
    raw(status, &[("content-type".into(), "application/json".into())], &v.to_string())
}

fn raw(status: u16, headers: &[(String, String)], body: &str) -> Response {
    let mut r = Response::new(axum::body::Body::from(body.to_owned()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (k, v) in headers {
        if let (Ok(name), Ok(value)) = (header::HeaderName::try_from(k.as_str()), HeaderValue::from_str(v)) {
            r.headers_mut().append(name, value);
        }
    }
    r
}

fn cut_half(s: &str) -> String {
    let n = s.chars().count();
    s.chars().take((n * 3 / 5).max(1)).collect()
}

// ---------------------------------------------------------------------------------------------
// Chat validation

struct ChatShape {
    model: String,
    schema: Option<(String, Value)>,
    json_mode: bool,
    user_text: String,
    prompt_chars: usize,
    images: usize,
}

fn validate_chat(body: &Value, settings: &OpenAiSettings) -> Result<ChatShape, ApiError> {
    let obj = body.as_object().ok_or_else(|| ApiError::invalid("The request body must be a JSON object.", None))?;
    if let Some(unknown) = obj.keys().find(|k| !CHAT_PARAMS.contains(&k.as_str())) {
        return Err(ApiError::invalid(&format!("Unrecognized request argument supplied: {unknown}"), None));
    }
    let model = match obj.get("model") {
        Some(Value::String(m)) if !m.trim().is_empty() => m.clone(),
        _ => return Err(ApiError::invalid("you must provide a model parameter", Some("model"))),
    };
    if settings.chat_models.as_ref().is_some_and(|ms| !ms.contains(&model)) {
        return Err(ApiError::new(
            404,
            "invalid_request_error",
            Some("model_not_found"),
            &format!("The model `{model}` does not exist or you do not have access to it."),
        ));
    }
    if obj.get("stream").and_then(Value::as_bool) == Some(true) {
        return Err(ApiError::invalid("This fake does not stream: send stream=false.", Some("stream")));
    }
    let messages = match obj.get("messages") {
        Some(Value::Array(m)) if !m.is_empty() => m,
        Some(Value::Array(_)) => {
            return Err(ApiError::invalid("[] is too short - 'messages'", Some("messages")).with_code("empty_array"));
        }
        _ => return Err(ApiError::invalid("Missing required parameter: 'messages'.", Some("messages"))),
    };
    let mut all_text = String::new();
    let mut user_text = String::new();
    let mut images = 0;
    for (i, message) in messages.iter().enumerate() {
        let param = format!("messages[{i}]");
        let m =
            message.as_object().ok_or_else(|| ApiError::invalid("Invalid type: expected an object.", Some(&param)))?;
        let role = m.get("role").and_then(Value::as_str).unwrap_or("");
        if !ROLES.contains(&role) {
            return Err(ApiError::invalid(
                &format!(
                    "Invalid value: '{role}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'."
                ),
                Some(&format!("{param}.role")),
            ));
        }
        let content_param = format!("{param}.content");
        match m.get("content") {
            Some(Value::String(s)) => {
                all_text.push_str(s);
                if role == "user" {
                    user_text.push_str(s);
                }
            }
            Some(Value::Array(parts)) if !parts.is_empty() => {
                for (j, part) in parts.iter().enumerate() {
                    let part_param = format!("{content_param}[{j}]");
                    match part.get("type").and_then(Value::as_str) {
                        Some("text") => {
                            let text = part.get("text").and_then(Value::as_str).ok_or_else(|| {
                                ApiError::invalid(
                                    "Missing required parameter: 'text'.",
                                    Some(&format!("{part_param}.text")),
                                )
                            })?;
                            all_text.push_str(text);
                            if role == "user" {
                                user_text.push_str(text);
                            }
                        }
                        Some("image_url") if role == "user" => {
                            validate_image_part(part, &part_param, settings)?;
                            images += 1;
                        }
                        Some("image_url") => {
                            return Err(ApiError::invalid(
                                &format!(
                                    "Image URLs are only allowed for messages with role 'user', but this message with role '{role}' contains an image URL."
                                ),
                                Some(&part_param),
                            ));
                        }
                        other => {
                            return Err(ApiError::invalid(
                                &format!(
                                    "Invalid value: '{}'. Supported values are: 'text' and 'image_url'.",
                                    other.unwrap_or("")
                                ),
                                Some(&format!("{part_param}.type")),
                            ));
                        }
                    }
                }
            }
            Some(Value::Null) | None if role == "assistant" => {}
            _ => {
                return Err(ApiError::invalid(
                    &format!("Invalid type for '{content_param}': expected a string or an array of content parts."),
                    Some(&content_param),
                ));
            }
        }
    }
    let (schema, json_mode) = validate_response_format(obj.get("response_format"), &all_text)?;
    if let Some(t) = obj.get("temperature")
        && !t.as_f64().is_some_and(|t| (0.0..=2.0).contains(&t))
    {
        return Err(ApiError::invalid("Invalid 'temperature': must be a number between 0 and 2.", Some("temperature")));
    }
    for field in ["max_tokens", "max_completion_tokens"] {
        if let Some(v) = obj.get(field)
            && v.as_u64().is_none_or(|n| n == 0)
        {
            return Err(ApiError::invalid(&format!("Invalid '{field}': expected a positive integer."), Some(field)));
        }
    }
    let reasoning = ["o1", "o3", "o4", "gpt-5"].iter().any(|p| model.starts_with(p));
    if reasoning && obj.contains_key("max_tokens") {
        return Err(ApiError::invalid(
            "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
            Some("max_tokens"),
        )
        .with_code("unsupported_parameter"));
    }
    Ok(ChatShape { model, schema, json_mode, user_text, prompt_chars: all_text.chars().count(), images })
}

fn validate_image_part(part: &Value, param: &str, settings: &OpenAiSettings) -> Result<(), ApiError> {
    let image = part.get("image_url").and_then(Value::as_object).ok_or_else(|| {
        ApiError::invalid("Missing required parameter: 'image_url'.", Some(&format!("{param}.image_url")))
    })?;
    let url = image.get("url").and_then(Value::as_str).unwrap_or("");
    if let Some(detail) = image.get("detail")
        && !matches!(detail.as_str(), Some("low" | "high" | "auto"))
    {
        return Err(ApiError::invalid(
            "Invalid value for 'detail': expected 'low', 'high' or 'auto'.",
            Some(&format!("{param}.image_url.detail")),
        ));
    }
    if url.starts_with("https://") || url.starts_with("http://") {
        return Ok(());
    }
    let bad = |why: &str| {
        ApiError::invalid(&format!("Invalid image URL: {why}"), Some(&format!("{param}.image_url.url")))
            .with_code("invalid_image_url")
    };
    let rest = url.strip_prefix("data:").ok_or_else(|| bad("expected an http(s) URL or a base64 data URL."))?;
    let (meta, data) = rest.split_once(',').ok_or_else(|| bad("the data URL has no comma."))?;
    let mime = meta.strip_suffix(";base64").ok_or_else(|| bad("the data URL must be base64-encoded."))?;
    let allowed = ["image/jpeg", "image/png", "image/gif", "image/webp"];
    if !allowed.contains(&mime) {
        return Err(ApiError::invalid(
            &format!("Invalid MIME type. Only image types are supported: {}.", allowed.join(", ")),
            Some(&format!("{param}.image_url.url")),
        )
        .with_code("invalid_image_format"));
    }
    let bytes =
        base64::engine::general_purpose::STANDARD.decode(data).map_err(|_| bad("the base64 data is invalid."))?;
    if bytes.len() > settings.max_image_input_bytes {
        return Err(bad("the image is too large."));
    }
    let matches = match mime {
        "image/jpeg" => bytes.starts_with(&[0xff, 0xd8, 0xff]),
        "image/png" => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "image/gif" => bytes.starts_with(b"GIF8"),
        _ => bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP",
    };
    if !matches {
        return Err(ApiError::invalid(
            "You uploaded an unsupported image. Please make sure your image is valid.",
            Some(&format!("{param}.image_url.url")),
        )
        .with_code("invalid_image"));
    }
    Ok(())
}

/// `(schema with its name, json_object mode)`.
fn validate_response_format(rf: Option<&Value>, all_text: &str) -> Result<(Option<(String, Value)>, bool), ApiError> {
    let Some(rf) = rf else { return Ok((None, false)) };
    let param = Some("response_format");
    match rf.get("type").and_then(Value::as_str) {
        Some("text") => Ok((None, false)),
        Some("json_object") => {
            if !all_text.to_lowercase().contains("json") {
                return Err(ApiError::invalid(
                    "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.",
                    Some("messages"),
                ));
            }
            Ok((None, true))
        }
        Some("json_schema") => {
            let js = rf.get("json_schema").and_then(Value::as_object).ok_or_else(|| {
                ApiError::invalid(
                    "Missing required parameter: 'response_format.json_schema'.",
                    Some("response_format.json_schema"),
                )
            })?;
            let name = js.get("name").and_then(Value::as_str).unwrap_or("");
            let name_ok = !name.is_empty()
                && name.len() <= 64
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !name_ok {
                return Err(ApiError::invalid(
                    "Invalid 'response_format.json_schema.name': must match ^[a-zA-Z0-9_-]{1,64}$.",
                    Some("response_format.json_schema.name"),
                ));
            }
            let schema = js.get("schema").filter(|s| s.is_object()).ok_or_else(|| {
                ApiError::invalid(
                    "Missing required parameter: 'response_format.json_schema.schema'.",
                    Some("response_format.json_schema.schema"),
                )
            })?;
            if js.get("strict").and_then(Value::as_bool) == Some(true) {
                check_strict(schema, "").map_err(|m| {
                    ApiError::invalid(
                        &format!("Invalid schema for response_format '{name}': {m}"),
                        Some("response_format"),
                    )
                    .with_code("invalid_json_schema")
                })?;
            }
            Ok((Some((name.to_owned(), schema.clone())), false))
        }
        _ => Err(ApiError::invalid(
            "Invalid value for 'response_format.type': expected 'text', 'json_object' or 'json_schema'.",
            param,
        )),
    }
}

/// Structured Outputs' strict-mode rules (the subset that matters to clients).
fn check_strict(schema: &Value, path: &str) -> Result<(), String> {
    let here = if path.is_empty() { "(root)" } else { path };
    let obj = schema.as_object().ok_or_else(|| format!("In context={here}, schema must be an object."))?;
    let types: Vec<&str> = match obj.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        None if obj.contains_key("enum") || obj.contains_key("anyOf") || obj.contains_key("$ref") => Vec::new(),
        _ => return Err(format!("In context={here}, schema must have a 'type' key.")),
    };
    for t in &types {
        if !["object", "array", "string", "number", "integer", "boolean", "null"].contains(t) {
            return Err(format!("In context={here}, '{t}' is not a supported type."));
        }
    }
    if types.contains(&"object") {
        let props = obj.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
        if obj.get("additionalProperties") != Some(&Value::Bool(false)) {
            return Err(format!(
                "In context={here}, 'additionalProperties' is required to be supplied and to be false."
            ));
        }
        let required: Vec<&str> = obj
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for key in props.keys() {
            if !required.contains(&key.as_str()) {
                return Err(format!(
                    "In context={here}, 'required' is required to be supplied and to be an array including every key in properties. Missing '{key}'."
                ));
            }
        }
        for (key, sub) in &props {
            check_strict(sub, &format!("{path}.{key}"))?;
        }
    }
    if types.contains(&"array") {
        let items = obj.get("items").ok_or_else(|| format!("In context={here}, array schema missing items."))?;
        check_strict(items, &format!("{path}[]"))?;
    }
    if let Some(Value::Array(any)) = obj.get("anyOf") {
        for (i, sub) in any.iter().enumerate() {
            check_strict(sub, &format!("{path}.anyOf[{i}]"))?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Answers

struct Answer {
    content: Option<String>,
    refusal: Option<String>,
    finish: &'static str,
}

fn render_chat(dialect: Dialect, id: u64, model: &str, a: &Answer, prompt: u64, now: i64) -> Value {
    let completion = a.content.as_ref().map_or(1, |c| (c.chars().count() / 4 + 1) as u64);
    let total = prompt + completion;
    match dialect {
        Dialect::OpenAi => json!({
            "id": format!("chatcmpl-fake{id}"), "object": "chat.completion", "created": now, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": a.content, "refusal": a.refusal, "annotations": []},
                         "logprobs": null, "finish_reason": a.finish}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total,
                      "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                      "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}},
            "service_tier": "default", "system_fingerprint": "fp_fake"
        }),
        Dialect::Xai => json!({
            "id": format!("0000-fake-{id}"), "object": "chat.completion", "created": now, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": a.content, "refusal": a.refusal,
                         "reasoning_content": "Considering the brand voice and the network limits."},
                         "finish_reason": a.finish}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total + 24,
                      "prompt_tokens_details": {"text_tokens": prompt, "audio_tokens": 0, "image_tokens": 0, "cached_tokens": 0},
                      "completion_tokens_details": {"reasoning_tokens": 24, "audio_tokens": 0},
                      "num_sources_used": 0},
            "system_fingerprint": "fp_grokfake"
        }),
        Dialect::Ollama => {
            // Ollama has no refusal field: a refusal is just text.
            let content = match (&a.content, &a.refusal) {
                (Some(c), _) => Value::String(format!("<think>\nThe brand wants JSON.\n</think>\n\n```json\n{c}\n```")),
                (None, Some(r)) => Value::String(r.clone()),
                (None, None) => Value::String(String::new()),
            };
            json!({
                "id": format!("chatcmpl-{id}"), "object": "chat.completion", "created": now, "model": model,
                "system_fingerprint": "fp_ollama",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": a.finish}],
                "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total}
            })
        }
        Dialect::Lenient => {
            let content = match &a.content {
                Some(c) => json!([{"type": "text", "text": c}]),
                None => Value::Null,
            };
            let finish = if a.finish == "stop" { "" } else { a.finish };
            json!({
                "created": now as f64, "model": model,
                "choices": [{"index": "0", "message": {"content": content, "refusal": a.refusal}, "finish_reason": finish}],
                "usage": {"prompt_tokens": prompt as f64, "completion_tokens": completion as f64, "total_tokens": null},
                "service_tier": "priority_flex_v2"
            })
        }
    }
}

/// Words from the user's message, to make answers that read as if about it.
struct Words {
    words: Vec<String>,
    offset: usize,
}

impl Words {
    fn from_text(text: &str, seed: u64) -> Self {
        let mut words: Vec<String> = Vec::new();
        for w in text.split(|c: char| !c.is_alphanumeric()).filter(|w| w.chars().count() >= 4) {
            let w = w.to_lowercase();
            if !words.contains(&w) && !w.chars().all(|c| c.is_ascii_digit()) && !STOP_WORDS.contains(&w.as_str()) {
                words.push(w);
            }
        }
        if words.is_empty() {
            words = ["fresh", "ideas", "every", "week"].iter().map(|s| (*s).to_owned()).collect();
        }
        Words { words, offset: seed as usize }
    }

    fn word(&self, i: usize) -> &str {
        &self.words[(self.offset + i) % self.words.len()]
    }

    fn sentence(&self, i: usize) -> String {
        let body: Vec<&str> = (0..6).map(|k| self.word(i * 7 + k)).collect();
        let mut s = body.join(" ");
        if let Some(first) = s.get(..1) {
            s = first.to_uppercase() + &s[1..];
        }
        s + "."
    }

    fn phrase(&self, i: usize) -> String {
        let s = format!("{} {}", self.word(i * 3), self.word(i * 3 + 1));
        s[..1].to_uppercase() + &s[1..]
    }
}

const STOP_WORDS: &[&str] = &[
    "brand",
    "name",
    "voice",
    "audience",
    "language",
    "topics",
    "hashtags",
    "call_to_action",
    "avoid_words",
    "avoid_claims",
    "networks",
    "network",
    "caption_limit",
    "max_hashtags",
    "topic",
    "brief",
    "feedback",
    "previous_caption",
    "null",
    "description",
    "count",
    "theme",
    "with",
    "that",
    "this",
    "from",
    "your",
];

/// A value that satisfies `schema`. Arrays of objects with an `enum` property get one item
/// per enum value (so "one caption per network" comes back whole).
fn synthesize(schema: &Value, key: Option<&str>, words: &Words, i: usize) -> Value {
    if let Some(Value::Array(values)) = schema.get("enum") {
        return values.get(i % values.len().max(1)).cloned().unwrap_or(Value::Null);
    }
    let kind = match schema.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).find(|t| *t != "null").unwrap_or("null"),
        _ => "string",
    };
    match kind {
        "object" => {
            let mut out = Map::new();
            if let Some(Value::Object(props)) = schema.get("properties") {
                for (k, sub) in props {
                    out.insert(k.clone(), synthesize(sub, Some(k), words, i));
                }
            }
            Value::Object(out)
        }
        "array" => {
            let items = schema.get("items").cloned().unwrap_or(json!({"type": "string"}));
            let min = schema.get("minItems").and_then(Value::as_u64).unwrap_or(1) as usize;
            let max = schema.get("maxItems").and_then(Value::as_u64).map(|m| m as usize);
            let enum_len = items
                .get("properties")
                .and_then(Value::as_object)
                .and_then(|p| p.values().find_map(|s| s.get("enum").and_then(Value::as_array).map(Vec::len)));
            let wanted = if key == Some("hashtags") { 3 } else { 1 };
            let mut n = min.max(enum_len.unwrap_or(0)).max(wanted);
            if let Some(max) = max {
                n = n.min(max);
            }
            Value::Array((0..n.min(100)).map(|j| synthesize(&items, None, words, j)).collect())
        }
        "integer" => json!(1),
        "number" => json!(0.5),
        "boolean" => json!(true),
        "null" => Value::Null,
        _ => match key {
            None => Value::String(words.word(i * 5 + 11).to_owned()),
            Some(k) if k.contains("headline") || k.contains("title") || k == "topic" || k == "angle" => {
                Value::String(words.phrase(i + 1))
            }
            Some(_) => Value::String(format!("{} {}", words.sentence(i), words.sentence(i + 1))),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Images

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    GptImage,
    DallE3,
    DallE2,
    Grok,
    Other,
}

struct ImageParams {
    family: Family,
    prompt: String,
    n: u64,
    width: u32,
    height: u32,
    as_url: bool,
}

fn validate_images(body: &Value, settings: &OpenAiSettings) -> Result<ImageParams, ApiError> {
    let obj = body.as_object().ok_or_else(|| ApiError::invalid("The request body must be a JSON object.", None))?;
    let model = obj.get("model").and_then(Value::as_str).unwrap_or("dall-e-2").to_owned();
    if settings.image_models.as_ref().is_some_and(|ms| !ms.contains(&model)) {
        return Err(ApiError::new(
            404,
            "invalid_request_error",
            Some("model_not_found"),
            &format!("The model `{model}` does not exist or you do not have access to it."),
        ));
    }
    let family = match model.as_str() {
        m if m.starts_with("gpt-image") => Family::GptImage,
        m if m.starts_with("dall-e-3") => Family::DallE3,
        m if m.starts_with("dall-e-2") => Family::DallE2,
        m if m.starts_with("grok") => Family::Grok,
        _ => Family::Other,
    };
    for key in obj.keys() {
        let known = IMAGE_PARAMS.contains(&key.as_str());
        let family_ok = match key.as_str() {
            "response_format" => family != Family::GptImage,
            "style" => family == Family::DallE3,
            "background" | "moderation" | "output_format" | "output_compression" => family == Family::GptImage,
            "size" | "quality" => family != Family::Grok,
            _ => true,
        };
        if !known || !family_ok {
            let message = if family == Family::Grok && known {
                format!("Argument not supported: {key}")
            } else {
                format!("Unknown parameter: '{key}'.")
            };
            return Err(ApiError::invalid(&message, Some(key)).with_code("unknown_parameter"));
        }
    }
    let prompt = obj.get("prompt").and_then(Value::as_str).unwrap_or("").to_owned();
    let limit = match family {
        Family::GptImage => 32_000,
        Family::DallE3 => 4_000,
        _ => 1_000,
    };
    if prompt.trim().is_empty() {
        return Err(ApiError::invalid("Missing required parameter: 'prompt'.", Some("prompt")));
    }
    if prompt.chars().count() > limit {
        return Err(ApiError::invalid(
            &format!("Invalid 'prompt': string too long. Expected a string with maximum length {limit}."),
            Some("prompt"),
        )
        .with_code("string_above_max_length"));
    }
    let n = match obj.get("n") {
        None => 1,
        Some(v) => v
            .as_u64()
            .filter(|n| (1..=10).contains(n))
            .ok_or_else(|| ApiError::invalid("Invalid 'n': must be an integer between 1 and 10.", Some("n")))?,
    };
    if family == Family::DallE3 && n != 1 {
        return Err(ApiError::invalid("You must provide n=1 for this model.", Some("n")));
    }
    let sizes: &[&str] = match family {
        Family::GptImage => &["1024x1024", "1536x1024", "1024x1536", "auto"],
        Family::DallE3 => &["1024x1024", "1792x1024", "1024x1792"],
        Family::DallE2 => &["256x256", "512x512", "1024x1024"],
        Family::Grok | Family::Other => &[],
    };
    let size = obj.get("size").map(|s| s.as_str().unwrap_or("?").to_owned());
    let (width, height) = match (family, size.as_deref()) {
        (Family::Grok, _) => (1024, 768),
        (_, None | Some("auto")) => (1024, 1024),
        (Family::Other, Some(s)) => {
            parse_size(s).filter(|(w, h)| *w <= 2048 && *h <= 2048).ok_or_else(|| bad_size(s, &[]))?
        }
        (_, Some(s)) if sizes.contains(&s) => parse_size(s).ok_or_else(|| bad_size(s, sizes))?,
        (_, Some(s)) => return Err(bad_size(s, sizes)),
    };
    if let Some(q) = obj.get("quality") {
        let allowed: &[&str] = match family {
            Family::GptImage => &["low", "medium", "high", "auto"],
            Family::DallE3 => &["standard", "hd"],
            Family::Other => &["standard", "hd", "low", "medium", "high", "auto"],
            _ => &[],
        };
        if !q.as_str().is_some_and(|q| allowed.contains(&q)) {
            return Err(ApiError::invalid(
                &format!("Invalid value for 'quality': {q}. Supported values are: {}.", allowed.join(", ")),
                Some("quality"),
            ));
        }
    }
    if let Some(style) = obj.get("style")
        && !matches!(style.as_str(), Some("vivid" | "natural"))
    {
        return Err(ApiError::invalid("Invalid value for 'style': expected 'vivid' or 'natural'.", Some("style")));
    }
    let as_url = match (family, obj.get("response_format").map(|v| v.as_str())) {
        (Family::GptImage, _) => false,
        (_, None) => true,
        (_, Some(Some("url"))) => true,
        (_, Some(Some("b64_json"))) => false,
        _ => {
            return Err(ApiError::invalid(
                "Invalid value for 'response_format': expected 'url' or 'b64_json'.",
                Some("response_format"),
            ));
        }
    };
    Ok(ImageParams { family, prompt, n, width, height, as_url })
}

fn parse_size(s: &str) -> Option<(u32, u32)> {
    let (w, h) = s.split_once('x')?;
    let (w, h) = (w.parse().ok()?, h.parse().ok()?);
    (w > 0 && h > 0).then_some((w, h))
}

fn bad_size(s: &str, allowed: &[&str]) -> ApiError {
    let list = if allowed.is_empty() { "WIDTHxHEIGHT up to 2048x2048".to_owned() } else { allowed.join(", ") };
    ApiError::invalid(&format!("Invalid value: '{s}'. Supported values are: {list}."), Some("size"))
}

/// A real PNG (8-bit palette, stored deflate) of a two-colour gradient chosen from the prompt.
fn png_gradient(width: u32, height: u32, prompt: &str) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(prompt.as_bytes());
    let (a, b) = ([h[0], h[1], h[2]], [h[3], h[4], h[5]]);
    let mut palette = Vec::with_capacity(768);
    for i in 0..256u32 {
        for c in 0..3 {
            let v = (u32::from(a[c]) * (255 - i) + u32::from(b[c]) * i) / 255;
            palette.push(v as u8);
        }
    }
    let mut raw = Vec::with_capacity((width as usize + 1) * height as usize);
    for y in 0..height {
        raw.push(0); // filter: none
        for x in 0..width {
            raw.push(((u64::from(x) * 160 / u64::from(width) + u64::from(y) * 95 / u64::from(height)).min(255)) as u8);
        }
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 3, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"PLTE", &palette);
    chunk(&mut png, b"IDAT", &zlib_stored(&raw));
    chunk(&mut png, b"IEND", &[]);
    png
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = data.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        out.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    if blocks.is_empty() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    let (mut s1, mut s2) = (1u32, 0u32);
    for &byte in data {
        s1 = (s1 + u32::from(byte)) % 65_521;
        s2 = (s2 + s1) % 65_521;
    }
    out.extend_from_slice(&((s2 << 16) | s1).to_be_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, slot) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 == 1 { (c >> 1) ^ 0xedb8_8320 } else { c >> 1 };
            }
            *slot = c;
        }
        t
    });
    !data.iter().fold(0xffff_ffffu32, |crc, &b| table[((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8))
}
