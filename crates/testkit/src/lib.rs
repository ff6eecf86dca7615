//! Test harness, not a mock of Chainlift: a small HTTP/1.1 server on 127.0.0.1 that answers
//! the way OpenAI's chat completions and Anthropic's Messages API do — including their faults
//! (429 with Retry-After, 5xx, slow answers, malformed or truncated bodies) — so the real
//! clients are tested over real sockets.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

/// One request the server received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How to answer one request.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Wait this long before answering (to exceed a client's timeout).
    pub delay: Duration,
    /// Announce a longer body than is sent, then close (a truncated answer).
    pub truncate: bool,
}

impl Reply {
    pub fn json(status: u16, body: &Value) -> Reply {
        Reply {
            status,
            headers: vec![],
            body: body.to_string(),
            delay: Duration::ZERO,
            truncate: false,
        }
    }
    pub fn raw(status: u16, body: &str) -> Reply {
        Reply {
            status,
            headers: vec![],
            body: body.to_string(),
            delay: Duration::ZERO,
            truncate: false,
        }
    }
    pub fn header(mut self, k: &str, v: &str) -> Reply {
        self.headers.push((k.into(), v.into()));
        self
    }
    pub fn delayed(mut self, d: Duration) -> Reply {
        self.delay = d;
        self
    }
    pub fn truncated(mut self) -> Reply {
        self.truncate = true;
        self
    }
}

/// Decides each reply from the request and how many requests came before it.
pub type Responder = dyn Fn(&Seen, usize) -> Reply + Send + Sync;

pub struct TestServer {
    pub base_url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl TestServer {
    /// Serve on an ephemeral port of 127.0.0.1 until the process ends; `base_url` ends in `/v1`.
    pub fn start(respond: Arc<Responder>) -> std::io::Result<TestServer> {
        Self::start_with(respond, false)
    }

    /// [`TestServer::start`] keeping connections open between requests, as a provider's API
    /// does (benchmarks: a new connection per call is a cost real providers do not impose).
    pub fn start_keep_alive(respond: Arc<Responder>) -> std::io::Result<TestServer> {
        Self::start_with(respond, true)
    }

    fn start_with(respond: Arc<Responder>, keep_alive: bool) -> std::io::Result<TestServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let base_url = format!("http://{}/v1", listener.local_addr()?);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let respond = respond.clone();
                let log = log.clone();
                // One thread per connection, so concurrent clients are served concurrently.
                std::thread::spawn(move || {
                    let _ = serve_conn(stream, &*respond, &log, keep_alive);
                });
            }
        });
        Ok(TestServer { base_url, seen })
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

fn serve_conn(
    stream: TcpStream,
    respond: &Responder,
    log: &Mutex<Vec<Seen>>,
    keep_alive: bool,
) -> std::io::Result<()> {
    // Head and body go out as two writes: without this, Nagle holds the body back for the
    // client's delayed ACK on a kept-alive connection.
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut stream = stream;
    loop {
        let served = serve_one(&mut reader, &mut stream, respond, log, keep_alive)?;
        if !served || !keep_alive {
            return Ok(());
        }
    }
}

/// One request on the connection; false when the client closed it first.
fn serve_one(
    reader: &mut BufReader<TcpStream>,
    stream: &mut TcpStream,
    respond: &Responder,
    log: &Mutex<Vec<Seen>>,
    keep_alive: bool,
) -> std::io::Result<bool> {
    let mut request_line = String::new();
    if reader.read_line(&mut request_line)? == 0 {
        return Ok(false);
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .to_string();
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body)?;
    let seen = Seen {
        path,
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    let index = {
        let mut l = log.lock().map_err(|_| std::io::Error::other("poisoned"))?;
        l.push(seen.clone());
        l.len() - 1
    };
    let reply = respond(&seen, index);
    std::thread::sleep(reply.delay);
    let announced = if reply.truncate {
        reply.body.len() + 100
    } else {
        reply.body.len()
    };
    let mut head = format!("HTTP/1.1 {} X\r\nContent-Type: application/json\r\nContent-Length: {announced}\r\nConnection: {}\r\n", reply.status, if keep_alive { "keep-alive" } else { "close" });
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(reply.body.as_bytes())?;
    stream.flush()?;
    Ok(true)
}

/// An OpenAI chat-completions answer with usage.
pub fn openai_completion(content: &str, prompt_tokens: u64, completion_tokens: u64) -> Value {
    json!({
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "model": "gpt-5.4-mini-2026-03-17",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens}
    })
}

/// An Anthropic Messages answer: text, or a `tool_use` block carrying JSON `input`.
pub fn anthropic_message(
    model: &str,
    text: Option<&str>,
    tool_input: Option<&Value>,
    input_tokens: u64,
    output_tokens: u64,
) -> Value {
    let mut content = Vec::new();
    if let Some(t) = text {
        content.push(json!({"type": "text", "text": t}));
    }
    if let Some(input) = tool_input {
        content.push(
            json!({"type": "tool_use", "id": "toolu_test", "name": "output", "input": input}),
        );
    }
    json!({
        "id": "msg_test",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": if tool_input.is_some() { "tool_use" } else { "end_turn" },
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens}
    })
}

/// The sample chain's report, valid against its schema.
pub fn sample_report() -> Value {
    json!({
        "title": "Refunds, explained",
        "summary": "A short refund window keeps trust.",
        "sections": [
            {"heading": "Market", "body": "14 or 30 days."},
            {"heading": "Proration", "body": "On downgrades."},
            {"heading": "Rules", "body": "EU withdrawal right."}
        ],
        "sources": [{"title": "Stripe", "url": "https://docs.stripe.com/billing"}]
    })
}

/// The sample chain's agents and the quality reviewer, over both wire formats: the researcher,
/// the writer (whose summary says TERSE when asked to write tersely) and the reviewer (who
/// scores TERSE reports low), each answer held back by `delay`.
pub fn reviewing_providers(delay: Duration) -> Arc<Responder> {
    Arc::new(move |req: &Seen, _| {
        let anthropic = req.path.ends_with("/messages");
        let prompt = req.body["messages"][0]["content"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let model = req.body["model"].as_str().unwrap_or("m").to_string();
        let schema = if anthropic {
            req.body["tools"][0]["input_schema"].clone()
        } else {
            req.body["response_format"]["json_schema"]["schema"].clone()
        };
        let answer: Value = if schema["properties"].get("completeness").is_some() {
            let s = if prompt.contains("TERSE") { 2 } else { 5 };
            json!({"completeness": {"score": s, "rationale": if s == 2 { "too terse to be complete" } else { "complete" }},
                   "accuracy": {"score": s, "rationale": "checked"}, "formatting": {"score": 5, "rationale": "clean"},
                   "relevance": {"score": s, "rationale": "on topic"}})
        } else if !schema.is_null() {
            let mut report = sample_report();
            report["summary"] = json!(if prompt.contains("tersely") {
                "TERSE: refund."
            } else {
                "A short refund window keeps trust."
            });
            report
        } else {
            Value::String("Brief: refunds are common within 14 days.".into())
        };
        if anthropic {
            let (text, tool) = match &answer {
                Value::String(s) => (Some(s.as_str()), None),
                other => (None, Some(other)),
            };
            Reply::json(200, &anthropic_message(&model, text, tool, 300, 200)).delayed(delay)
        } else {
            let text = match &answer {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            Reply::json(200, &openai_completion(&text, 300, 200)).delayed(delay)
        }
    })
}
