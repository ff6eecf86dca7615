//! One run of a resolved chain: `chain:start` carries the input, each agent triggered by an
//! event renders its prompt, calls its model and emits its event, until `chain:complete`.
//!
//! Every string written under the run folder passes the redactor first: secret values reach
//! only the HTTP request.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::{Duration, Instant};

use chainlift_model::secret::{Redactor, SecretValue};
use chainlift_model::{OutputKind, ResolvedAgent, ResolvedChain};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};

use crate::cassette::{Cassette, Recorder};
use crate::provider::{
    Completion, CompletionRequest, Message, OpenAiClient, ProviderError, OPENAI_DEFAULT_BASE,
};

/// How the engine reads a secret, late, only when a call needs it.
pub trait SecretLookup: Send + Sync {
    fn get<'a>(
        &'a self,
        name: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<Option<SecretValue>, String>> + Send + 'a>>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Completed,
    Failed,
    TimedOut,
    BudgetExceeded,
    Cancelled,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::TimedOut => "timed_out",
            RunStatus::BudgetExceeded => "budget_exceeded",
            RunStatus::Cancelled => "cancelled",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProgressState {
    Started,
    Completed,
    Failed,
}

/// A progress report: an agent started or finished.
#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    pub agent: String,
    pub state: ProgressState,
    /// Agent steps finished so far and the number of agents in the chain.
    pub done: usize,
    pub total: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StepOutcome {
    pub agent: String,
    pub model_requested: String,
    pub model_reported: Option<String>,
    pub attempts: u32,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost: Option<f64>,
    pub duration_ms: u64,
    pub status: RunStatus,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    pub status: RunStatus,
    pub steps: Vec<StepOutcome>,
    pub output_file: Option<PathBuf>,
    pub error: Option<String>,
    /// `None` when any step's model has no price: unknown, never 0.
    pub cost: Option<f64>,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub duration_ms: u64,
}

pub struct RunContext<'a> {
    pub chain: &'a ResolvedChain,
    pub input: Value,
    pub run_dir: PathBuf,
    pub secrets: &'a dyn SecretLookup,
    /// Answer every call from this cassette instead of the network.
    pub replay: Option<Cassette>,
    /// Write every real call to this cassette.
    pub record: Option<Recorder>,
    pub http: reqwest::Client,
    /// `OPENAI_BASE_URL` / `ANTHROPIC_BASE_URL` from the process environment.
    pub process_base_urls: BTreeMap<String, String>,
    pub progress: &'a (dyn Fn(Progress) + Send + Sync),
    pub now: &'a (dyn Fn() -> DateTime<Utc> + Send + Sync),
}

struct Runner<'a> {
    ctx: &'a RunContext<'a>,
    redactor: Redactor,
    keys: BTreeMap<String, Option<SecretValue>>,
    event_seq: usize,
}

/// Run the chain; IO errors on the run folder become a failed run, never a panic.
pub async fn run_chain(ctx: &RunContext<'_>) -> RunOutcome {
    let started = Instant::now();
    let mut runner = Runner {
        ctx,
        redactor: Redactor::default(),
        keys: BTreeMap::new(),
        event_seq: 0,
    };
    let (status, steps, output_file, error) = runner.run().await;
    let cost = steps.iter().try_fold(0.0, |acc, s| s.cost.map(|c| acc + c));
    RunOutcome {
        status,
        tokens_in: steps.iter().map(|s| s.tokens_in).sum(),
        tokens_out: steps.iter().map(|s| s.tokens_out).sum(),
        cost,
        steps,
        output_file,
        error: error.map(|e| runner.redactor.redact(&e)),
        duration_ms: started.elapsed().as_millis() as u64,
    }
}

type Ended = (RunStatus, Vec<StepOutcome>, Option<PathBuf>, Option<String>);

impl Runner<'_> {
    async fn run(&mut self) -> Ended {
        let chain = self.ctx.chain;
        if let Some(a) = chain.agents.iter().find(|a| !a.unsupported.is_empty()) {
            let what = a.unsupported.join(", ");
            let msg = format!(
                "agent `{}` uses {what}, which this build of the engine does not run yet",
                a.name
            );
            return (RunStatus::Failed, vec![], None, Some(msg));
        }
        let mut steps: Vec<StepOutcome> = Vec::new();
        let mut events: BTreeMap<String, Value> = BTreeMap::new();
        let mut outputs: BTreeMap<String, Value> = BTreeMap::new();
        let mut rounds: BTreeMap<String, u32> = BTreeMap::new();
        let mut queue: VecDeque<(String, Option<String>, Value)> = VecDeque::new();
        queue.push_back(("chain:start".into(), None, self.ctx.input.clone()));
        let mut completed_by: Option<String> = None;
        let mut last_event = String::from("chain:start");

        while let Some((event, from, payload)) = queue.pop_front() {
            if let Err(e) = self.write_event(&event, from.as_deref(), &payload) {
                return (RunStatus::Failed, steps, None, Some(e));
            }
            last_event = event.clone();
            events.insert(event.clone(), json!({ "output": payload, "from": from }));
            if event == "chain:complete" {
                completed_by = from;
                break;
            }
            for agent in chain.agents.iter().filter(|a| a.triggers.contains(&event)) {
                let round = rounds.entry(agent.name.clone()).or_insert(0);
                *round += 1;
                if *round > chain.max_rounds {
                    let msg = format!(
                        "agent `{}` was triggered more than max_rounds ({}) times: the chain loops",
                        agent.name, chain.max_rounds
                    );
                    return (RunStatus::Failed, steps, None, Some(msg));
                }
                (self.ctx.progress)(Progress {
                    agent: agent.name.clone(),
                    state: ProgressState::Started,
                    done: steps.len(),
                    total: chain.agents.len(),
                });
                let (step, output) = self.run_agent(agent, &events).await;
                let failed = step.status != RunStatus::Completed;
                let error = step.error.clone();
                let status = step.status;
                steps.push(step);
                (self.ctx.progress)(Progress {
                    agent: agent.name.clone(),
                    state: if failed {
                        ProgressState::Failed
                    } else {
                        ProgressState::Completed
                    },
                    done: steps.len(),
                    total: chain.agents.len(),
                });
                if failed {
                    return (status, steps, None, error);
                }
                let spent: Option<f64> =
                    steps.iter().try_fold(0.0, |acc, s| s.cost.map(|c| acc + c));
                if let (Some(cap), Some(spent)) = (chain.cost_per_run, spent) {
                    if spent > cap {
                        let msg = format!(
                            "cost ${spent:.4} exceeded cost_per_run ${cap:.2} after agent `{}`",
                            agent.name
                        );
                        return (RunStatus::BudgetExceeded, steps, None, Some(msg));
                    }
                }
                let output = output.unwrap_or(Value::Null);
                outputs.insert(agent.name.clone(), output.clone());
                if let Some(emit) = &agent.emits {
                    queue.push_back((emit.clone(), Some(agent.name.clone()), output));
                }
            }
        }

        let Some(completer) = completed_by else {
            let msg = format!(
                "the chain stopped at `{last_event}`: no agent triggers on it and nothing emitted chain:complete"
            );
            return (RunStatus::Failed, steps, None, Some(msg));
        };
        let from = chain.output_from.clone().unwrap_or(completer);
        let Some(output) = outputs.get(&from) else {
            let msg = format!("output.from names `{from}`, which produced no output in this run");
            return (RunStatus::Failed, steps, None, Some(msg));
        };
        match self.write_chain_output(output) {
            Ok(path) => (RunStatus::Completed, steps, Some(path), None),
            Err(e) => (RunStatus::Failed, steps, None, Some(e)),
        }
    }

    fn write_file(&self, path: &Path, text: &str) -> Result<(), String> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(path, self.redactor.redact(text))
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    fn write_event(
        &mut self,
        event: &str,
        from: Option<&str>,
        payload: &Value,
    ) -> Result<(), String> {
        self.event_seq += 1;
        let file: String = event
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = self
            .ctx
            .run_dir
            .join(".events")
            .join(format!("{:04}-{file}.json", self.event_seq));
        let body = json!({ "event": event, "from": from, "at": (self.ctx.now)().to_rfc3339(), "payload": payload });
        self.write_file(&path, &pretty(&body))
    }

    fn write_chain_output(&self, output: &Value) -> Result<PathBuf, String> {
        let chain = self.ctx.chain;
        if let Some(schema_path) = &chain.output_schema {
            validate_against(schema_path, output)?;
        }
        let file = chain.output_file.clone().unwrap_or_else(|| match output {
            Value::String(_) => "output.txt".into(),
            _ => "output.json".into(),
        });
        let path = self.ctx.run_dir.join(&file);
        let text = match (&chain.output_template, output) {
            (Some(template), _) => render_template(template, output)?,
            (None, Value::String(s)) => s.clone(),
            (None, other) => pretty(other),
        };
        self.write_file(&path, &text)?;
        Ok(path)
    }

    async fn run_agent(
        &mut self,
        agent: &ResolvedAgent,
        events: &BTreeMap<String, Value>,
    ) -> (StepOutcome, Option<Value>) {
        let started = Instant::now();
        let mut step = StepOutcome {
            agent: agent.name.clone(),
            model_requested: agent.model.clone(),
            model_reported: None,
            attempts: 0,
            tokens_in: 0,
            tokens_out: 0,
            cost: Some(0.0),
            duration_ms: 0,
            status: RunStatus::Completed,
            error: None,
        };
        let result = self.call_agent(agent, events, &mut step).await;
        step.duration_ms = started.elapsed().as_millis() as u64;
        match result {
            Ok(output) => (step, Some(output)),
            Err(e) => {
                step.status = if e.timed_out {
                    RunStatus::TimedOut
                } else {
                    RunStatus::Failed
                };
                step.error = Some(
                    self.redactor
                        .redact(&format!("agent `{}`: {}", agent.name, e.message)),
                );
                (step, None)
            }
        }
    }

    async fn call_agent(
        &mut self,
        agent: &ResolvedAgent,
        events: &BTreeMap<String, Value>,
        step: &mut StepOutcome,
    ) -> Result<Value, ProviderError> {
        let chain = self.ctx.chain;
        let context = json!({ "input": self.ctx.input, "events": events, "data": chain.data });
        let prompt = render_prompt(&agent.prompt, &context).map_err(ProviderError::fatal)?;
        let schema = match (&agent.output, &agent.schema) {
            (OutputKind::Json, Some(path)) => Some(load_json(path).map_err(ProviderError::fatal)?),
            _ => None,
        };
        let entry = &agent.model_entry;
        let request = CompletionRequest {
            provider: entry.provider.clone(),
            model: entry.id.clone().unwrap_or_else(|| agent.model.clone()),
            messages: vec![Message {
                role: "user".into(),
                content: prompt,
            }],
            max_tokens: agent.max_tokens,
            temperature: agent.temperature,
            json_schema: schema.clone(),
            timeout: agent.timeout,
        };
        let attempts = if agent.max_attempts > 0 {
            agent.max_attempts
        } else {
            chain.retries + 1
        };
        let mut delay = Duration::from_secs(1);
        let completion = loop {
            step.attempts += 1;
            match self.complete(&request).await {
                Ok(c) => break c,
                Err(e) if e.retryable && step.attempts < attempts => {
                    let wait = e.retry_after.unwrap_or(delay).min(Duration::from_secs(30));
                    let jitter = wait.mul_f64(fastrand::f64() * 0.25);
                    tokio::time::sleep(wait + jitter).await;
                    delay = (delay * 2).min(Duration::from_secs(30));
                }
                Err(mut e) => {
                    if step.attempts > 1 {
                        e.message = format!("{} (after {} attempts)", e.message, step.attempts);
                    }
                    return Err(e);
                }
            }
        };
        step.model_reported = completion.model.clone();
        step.tokens_in += completion.input_tokens;
        step.tokens_out += completion.output_tokens;
        step.cost = match (entry.input_per_mtok, entry.output_per_mtok) {
            (Some(i), Some(o)) => {
                Some((step.tokens_in as f64 * i + step.tokens_out as f64 * o) / 1_000_000.0)
            }
            _ => None,
        };

        let output = match agent.output {
            OutputKind::Text => Value::String(completion.text.clone()),
            OutputKind::Json => {
                let value = parse_json_answer(&completion.text).ok_or_else(|| {
                    ProviderError::fatal("the model was asked for JSON and answered something else")
                })?;
                if let Some(schema) = &schema {
                    check_schema(schema, &value).map_err(|e| {
                        ProviderError::fatal(format!("output does not match its schema: {e}"))
                    })?;
                }
                value
            }
        };
        let (name, text) = match &output {
            Value::String(s) => ("output.txt", s.clone()),
            other => ("output.json", pretty(other)),
        };
        let path = self
            .ctx
            .run_dir
            .join("outputs")
            .join(&agent.name)
            .join(name);
        self.write_file(&path, &text)
            .map_err(ProviderError::fatal)?;
        Ok(output)
    }

    async fn complete(&mut self, req: &CompletionRequest) -> Result<Completion, ProviderError> {
        if let Some(cassette) = &self.ctx.replay {
            return cassette.answer(req);
        }
        let completion = match req.provider.as_str() {
            "openai" => {
                let client = self.openai_client(req).await?;
                client.complete(req).await?
            }
            other => {
                return Err(ProviderError::fatal(format!(
                    "provider `{other}` is not supported by this build yet; use an OpenAI-compatible model, or a cassette (CHAINLIFT_CASSETTE)"
                )))
            }
        };
        if let Some(recorder) = &self.ctx.record {
            recorder
                .record(req, &completion)
                .map_err(ProviderError::fatal)?;
        }
        Ok(completion)
    }

    async fn openai_client(
        &mut self,
        req: &CompletionRequest,
    ) -> Result<OpenAiClient, ProviderError> {
        let chain = self.ctx.chain;
        let agent_entry = chain
            .agents
            .iter()
            .find(|a| a.model_entry.id.as_deref() == Some(req.model.as_str()));
        let entry_base = agent_entry.and_then(|a| a.model_entry.base_url.clone());
        let base_url = entry_base
            .or_else(|| chain.config.get("OPENAI_BASE_URL").cloned())
            .or_else(|| self.ctx.process_base_urls.get("OPENAI_BASE_URL").cloned())
            .unwrap_or_else(|| OPENAI_DEFAULT_BASE.to_string());
        let key_name = agent_entry
            .map(|a| a.model_entry.key_secret())
            .unwrap_or_else(|| "OPENAI_API_KEY".into());
        let key = self.secret(&key_name).await?;
        if key.is_none() && base_url == OPENAI_DEFAULT_BASE {
            return Err(ProviderError::fatal(format!(
                "{key_name} is not set for env `{}`: run `chainlift secrets set --env {} {key_name}`",
                chain.env, chain.env
            )));
        }
        Ok(OpenAiClient {
            http: self.ctx.http.clone(),
            base_url,
            key,
        })
    }

    async fn secret(&mut self, name: &str) -> Result<Option<SecretValue>, ProviderError> {
        if let Some(v) = self.keys.get(name) {
            return Ok(v.clone());
        }
        let value = self
            .ctx
            .secrets
            .get(name)
            .await
            .map_err(ProviderError::fatal)?;
        if let Some(v) = &value {
            self.redactor.add(v);
        }
        self.keys.insert(name.to_string(), value.clone());
        Ok(value)
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

fn load_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|e| format!("{}:{}: invalid JSON: {e}", path.display(), e.line()))
}

fn check_schema(schema: &Value, value: &Value) -> Result<(), String> {
    let validator = jsonschema::validator_for(schema)
        .map_err(|e| format!("the schema itself is invalid: {e}"))?;
    let errors: Vec<String> = validator
        .iter_errors(value)
        .take(5)
        .map(|e| {
            let path = e.instance_path.to_string();
            format!(
                "{}: {e}",
                if path.is_empty() {
                    "/".to_string()
                } else {
                    path
                }
            )
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

/// Validate `value` against the JSON schema in `schema_path`.
pub fn validate_against(schema_path: &Path, value: &Value) -> Result<(), String> {
    let schema = load_json(schema_path)?;
    check_schema(&schema, value)
        .map_err(|e| format!("output does not match {}: {e}", schema_path.display()))
}

/// Models often wrap JSON in a ```json fence; accept that, nothing looser.
fn parse_json_answer(text: &str) -> Option<Value> {
    let t = text.trim();
    if let Ok(v) = serde_json::from_str(t) {
        return Some(v);
    }
    let inner = t
        .strip_prefix("```json")
        .or_else(|| t.strip_prefix("```"))?
        .strip_suffix("```")?;
    serde_json::from_str(inner.trim()).ok()
}

fn strict_env() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env
}

fn render_prompt(prompt: &str, context: &Value) -> Result<String, String> {
    strict_env()
        .render_str(prompt, context)
        .map_err(|e| format!("prompt: {e}"))
}

fn render_template(path: &Path, output: &Value) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let mut context = match output {
        Value::Object(map) => map.clone(),
        _ => serde_json::Map::new(),
    };
    context.insert("output".into(), output.clone());
    strict_env()
        .render_str(&text, Value::Object(context))
        .map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_answers_in_fences() {
        assert_eq!(
            parse_json_answer("```json\n{\"a\":1}\n```"),
            Some(json!({"a": 1}))
        );
        assert_eq!(parse_json_answer(" {\"a\":1} "), Some(json!({"a": 1})));
        assert_eq!(parse_json_answer("sure! {\"a\":1}"), None);
    }

    #[test]
    fn prompts_are_strict() {
        let ctx = json!({"input": {"topic": "x"}});
        assert_eq!(
            render_prompt("T: {{ input.topic }}", &ctx),
            Ok("T: x".into())
        );
        assert!(render_prompt("{{ input.topci }}", &ctx).is_err());
    }

    #[test]
    fn schema_errors_name_the_path() {
        let schema = json!({"type": "object", "required": ["title"], "properties": {"title": {"type": "string"}}});
        assert!(check_schema(&schema, &json!({"title": "t"})).is_ok());
        let err = check_schema(&schema, &json!({"title": 3}))
            .err()
            .unwrap_or_default();
        assert!(err.contains("/title"), "{err}");
    }
}
