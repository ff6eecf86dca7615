//! Provider clients. OpenAI-compatible chat completions over HTTP (OpenAI, Ollama, vLLM, LM
//! Studio, OpenRouter…); `replay` answers from a cassette (see [`crate::cassette`]).

use std::time::Duration;

use chainlift_model::secret::SecretValue;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: String,
    pub content: String,
}

/// One call to a model, as rendered for this attempt.
#[derive(Debug, Clone)]
pub struct CompletionRequest {
    pub provider: String,
    pub model: String,
    pub messages: Vec<Message>,
    pub max_tokens: u32,
    pub temperature: Option<f64>,
    /// The JSON schema the answer must follow, when the agent answers JSON with one.
    pub json_schema: Option<Value>,
    pub timeout: Duration,
}

impl CompletionRequest {
    /// The parameters that, with provider, model and messages, identify a call in a cassette.
    pub fn params(&self) -> Value {
        json!({
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "json_schema": self.json_schema,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    pub text: String,
    /// The model id the provider reported, which may differ from the one asked for.
    pub model: Option<String>,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    pub message: String,
    pub retryable: bool,
    pub timed_out: bool,
    /// Seconds the provider asked us to wait (`Retry-After`).
    pub retry_after: Option<Duration>,
}

impl ProviderError {
    pub fn fatal(message: impl Into<String>) -> Self {
        ProviderError {
            message: message.into(),
            retryable: false,
            timed_out: false,
            retry_after: None,
        }
    }
}

pub const OPENAI_DEFAULT_BASE: &str = "https://api.openai.com/v1";
pub const ANTHROPIC_DEFAULT_BASE: &str = "https://api.anthropic.com/v1";
const ANTHROPIC_VERSION: &str = "2023-06-01";

/// An OpenAI-compatible chat-completions endpoint.
pub struct OpenAiClient {
    pub http: reqwest::Client,
    pub base_url: String,
    pub key: Option<SecretValue>,
}

impl OpenAiClient {
    pub async fn complete(&self, req: &CompletionRequest) -> Result<Completion, ProviderError> {
        let mut body = json!({
            "model": req.model,
            "messages": req.messages,
            "max_tokens": req.max_tokens,
        });
        if let Some(t) = req.temperature {
            body["temperature"] = json!(t);
        }
        if let Some(schema) = &req.json_schema {
            // strict: false — strict mode accepts only a subset of JSON Schema; we validate locally.
            body["response_format"] = json!({
                "type": "json_schema",
                "json_schema": {"name": "output", "schema": schema, "strict": false},
            });
        }
        let url = format!("{}/chat/completions", self.base_url.trim_end_matches('/'));
        let mut request = self.http.post(&url).timeout(req.timeout).json(&body);
        if let Some(key) = &self.key {
            request = request.bearer_auth(key.expose());
        }
        let (status, retry_after, text) = send(request, &url).await?;
        if !(200..300).contains(&status) {
            return Err(status_error(status, &text, retry_after));
        }
        parse_openai(&text)
    }
}

/// Anthropic's Messages API. JSON answers come through a forced tool call whose
/// `input_schema` is the agent's schema; `max_tokens` is always sent.
pub struct AnthropicClient {
    pub http: reqwest::Client,
    pub base_url: String,
    pub key: Option<SecretValue>,
}

impl AnthropicClient {
    pub async fn complete(&self, req: &CompletionRequest) -> Result<Completion, ProviderError> {
        let mut body = json!({
            "model": req.model,
            "max_tokens": req.max_tokens,
            "messages": req.messages,
        });
        if let Some(t) = req.temperature {
            body["temperature"] = json!(t);
        }
        if let Some(schema) = &req.json_schema {
            body["tools"] = json!([{
                "name": "output",
                "description": "Give your answer by calling this tool with JSON that follows the schema.",
                "input_schema": schema,
            }]);
            body["tool_choice"] = json!({"type": "tool", "name": "output"});
        }
        let url = format!("{}/messages", self.base_url.trim_end_matches('/'));
        let mut request = self
            .http
            .post(&url)
            .timeout(req.timeout)
            .header("anthropic-version", ANTHROPIC_VERSION)
            .json(&body);
        if let Some(key) = &self.key {
            request = request.header("x-api-key", key.expose());
        }
        let (status, retry_after, text) = send(request, &url).await?;
        if !(200..300).contains(&status) {
            return Err(status_error(status, &text, retry_after));
        }
        parse_anthropic(&text)
    }
}

/// Send a request; the status, `Retry-After` and body, or a transport error.
async fn send(
    request: reqwest::RequestBuilder,
    url: &str,
) -> Result<(u16, Option<Duration>, String), ProviderError> {
    let mut response = request.send().await.map_err(|e| transport_error(url, e))?;
    let status = response.status().as_u16();
    if response.status().is_redirection() {
        let to = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("?")
            .chars()
            .take(200)
            .collect::<String>();
        return Err(ProviderError::fatal(format!(
            "{url} answered HTTP {status}, a redirect to {to}: Chainlift follows no redirects (a key must not go where a redirect points); set the base URL to the final address"
        )));
    }
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport_error(url, e))?
    {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(ProviderError::fatal(format!(
                "{url} answered more than {} MiB: refused (a model's answer is far smaller; check the base URL)",
                MAX_ANSWER_BYTES / (1024 * 1024)
            )));
        }
        body.extend_from_slice(&chunk);
    }
    let text = String::from_utf8(body).map_err(|_| ProviderError {
        message: format!("{url} answered with a body that is not UTF-8"),
        retryable: true,
        timed_out: false,
        retry_after: None,
    })?;
    Ok((status, retry_after, text))
}

/// The largest provider answer read (bodies are read in chunks, never unbounded).
pub const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// `Retry-After` in seconds, held to an hour (the caller caps it again at the agent's
/// `max_delay`); a value out of range (`1e300`) or not a number is ignored, never a panic.
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    let secs: f64 = v.trim().parse().ok()?;
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    Duration::try_from_secs_f64(secs.min(3600.0)).ok()
}

/// A key may be sent only over https, or over plain http to this machine (a local server).
pub fn may_carry_key(url: &str) -> bool {
    let Ok(u) = reqwest::Url::parse(url) else {
        return false;
    };
    match u.scheme() {
        "https" => true,
        "http" => {
            let host = u.host_str().unwrap_or("");
            let host = host.trim_start_matches('[').trim_end_matches(']');
            host.eq_ignore_ascii_case("localhost")
                || host
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        _ => false,
    }
}

fn parse_anthropic(text: &str) -> Result<Completion, ProviderError> {
    let bad = |what: &str| ProviderError {
        message: format!("unexpected answer from the provider: {what}"),
        retryable: true,
        timed_out: false,
        retry_after: None,
    };
    let v: Value =
        serde_json::from_str(text).map_err(|_| bad("not JSON (truncated or malformed)"))?;
    if v.get("stop_reason").and_then(Value::as_str) == Some("refusal") {
        return Err(ProviderError::fatal("the model refused to answer"));
    }
    let blocks = v
        .get("content")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("no content"))?;
    let tool = blocks
        .iter()
        .find(|b| b.get("type").and_then(Value::as_str) == Some("tool_use"));
    let text = match tool.and_then(|b| b.get("input")) {
        Some(input) => input.to_string(),
        None => blocks
            .iter()
            .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(""),
    };
    let tokens = |p: &str| v.pointer(p).and_then(Value::as_u64).unwrap_or(0);
    Ok(Completion {
        text,
        model: v.get("model").and_then(Value::as_str).map(String::from),
        input_tokens: tokens("/usage/input_tokens"),
        output_tokens: tokens("/usage/output_tokens"),
    })
}

fn transport_error(url: &str, e: reqwest::Error) -> ProviderError {
    let timed_out = e.is_timeout();
    let what = if timed_out {
        "timed out"
    } else {
        "could not be reached"
    };
    ProviderError {
        message: format!("{url} {what}: {}", error_chain(&e)),
        retryable: true,
        timed_out,
        retry_after: None,
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

fn status_error(status: u16, body: &str, retry_after: Option<Duration>) -> ProviderError {
    let detail = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .and_then(Value::as_str)
                .map(String::from)
        })
        .unwrap_or_else(|| body.chars().take(200).collect());
    let retryable = status == 429 || status >= 500;
    let fix = match status {
        401 => " — the API key was refused: set a valid one with `chainlift secrets set`",
        403 => " — the key may not use this model",
        404 => " — check the model id and the base URL",
        400 => " — the request was rejected: check max_tokens, temperature and the schema",
        429 => " — rate limited",
        _ => "",
    };
    ProviderError {
        message: format!("provider answered HTTP {status}: {detail}{fix}"),
        retryable,
        timed_out: false,
        retry_after,
    }
}

fn parse_openai(text: &str) -> Result<Completion, ProviderError> {
    let bad =
        |what: &str| ProviderError::fatal(format!("unexpected answer from the provider: {what}"));
    let v: Value = serde_json::from_str(text).map_err(|_| bad("not JSON"))?;
    let message = v
        .pointer("/choices/0/message")
        .ok_or_else(|| bad("no choices[0].message"))?;
    if let Some(refusal) = message.get("refusal").and_then(Value::as_str) {
        return Err(ProviderError::fatal(format!(
            "the model refused: {refusal}"
        )));
    }
    let content = message
        .get("content")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("no message content"))?;
    let tokens = |p: &str| v.pointer(p).and_then(Value::as_u64).unwrap_or(0);
    Ok(Completion {
        text: content.to_string(),
        model: v.get("model").and_then(Value::as_str).map(String::from),
        input_tokens: tokens("/usage/prompt_tokens"),
        output_tokens: tokens("/usage/completion_tokens"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_usage_and_reported_model() -> Result<(), ProviderError> {
        let c = parse_openai(
            r#"{"model":"gpt-x-2026","choices":[{"message":{"role":"assistant","content":"hi"}}],
               "usage":{"prompt_tokens":12,"completion_tokens":3}}"#,
        )?;
        assert_eq!(
            (
                c.text.as_str(),
                c.model.as_deref(),
                c.input_tokens,
                c.output_tokens
            ),
            ("hi", Some("gpt-x-2026"), 12, 3)
        );
        Ok(())
    }

    #[test]
    fn anthropic_tool_use_is_the_json_answer() -> Result<(), ProviderError> {
        let c = parse_anthropic(
            r#"{"model":"claude-sonnet-4-5-20250929","content":[{"type":"tool_use","id":"t","name":"output","input":{"a":1}}],
               "stop_reason":"tool_use","usage":{"input_tokens":30,"output_tokens":9}}"#,
        )?;
        assert_eq!(
            (c.text.as_str(), c.input_tokens, c.output_tokens),
            (r#"{"a":1}"#, 30, 9)
        );
        assert!(parse_anthropic("{\"content\": [").is_err_and(|e| e.retryable));
        Ok(())
    }

    #[test]
    fn retry_after_never_panics() {
        assert_eq!(parse_retry_after("1e300"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("NaN"), None);
        assert_eq!(parse_retry_after("Wed, 21 Oct 2026 07:28:00 GMT"), None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 5000, failure_persistence: None, ..Default::default() })]

        /// Any header value: a delay of at most an hour, or none; never a panic.
        #[test]
        fn any_retry_after_is_a_bounded_delay(v in proptest::prelude::any::<String>(), f in proptest::prelude::any::<f64>()) {
            for text in [v, f.to_string(), format!("{f:e}")] {
                if let Some(d) = parse_retry_after(&text) {
                    proptest::prop_assert!(d <= Duration::from_secs(3600));
                }
            }
        }

        /// Any answer body: a completion or an error, never a panic.
        #[test]
        fn any_answer_body_is_parsed_or_refused(body in "\\PC{0,300}") {
            let _ = parse_openai(&body);
            let _ = parse_anthropic(&body);
            let _ = status_error(500, &body, None);
        }
    }

    #[test]
    fn keys_go_over_https_or_to_loopback_only() {
        assert!(may_carry_key("https://api.openai.com/v1"));
        assert!(may_carry_key("http://127.0.0.1:8080/v1"));
        assert!(may_carry_key("http://localhost:11434/v1"));
        assert!(may_carry_key("http://[::1]:80/v1"));
        assert!(!may_carry_key("http://example.com/v1"));
        assert!(!may_carry_key("http://127.0.0.1.evil.com/v1"));
        assert!(!may_carry_key("ftp://127.0.0.1/"));
        assert!(!may_carry_key("not a url"));
    }

    #[test]
    fn classifies_statuses() {
        assert!(status_error(429, "{}", None).retryable);
        assert!(status_error(503, "", None).retryable);
        let e = status_error(401, r#"{"error":{"message":"bad key"}}"#, None);
        assert!(!e.retryable && e.message.contains("bad key") && e.message.contains("secrets set"));
    }
}
