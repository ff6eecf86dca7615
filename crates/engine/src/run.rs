//! One run of a resolved chain: `chain:start` carries the input, each agent triggered by an
//! event renders its prompt, calls its model and emits its event, until `chain:complete`.
//!
//! Every string written under the run folder passes the redactor first: secret values reach
//! only the HTTP request.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::Semaphore;

use chainlift_model::secret::{Redactor, SecretValue};
use chainlift_model::{OutputKind, ResolvedAgent, ResolvedChain};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};

use crate::cassette::{Cassette, Recorder};
use crate::provider::{
    AnthropicClient, Completion, CompletionRequest, Message, OpenAiClient, ProviderError,
    ANTHROPIC_DEFAULT_BASE, OPENAI_DEFAULT_BASE,
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
    /// When the step started, in ms after the run did (steps that ran at once overlap).
    pub offset_ms: u64,
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
    /// What the run log says beyond the events: routes that could not be evaluated, …
    pub warnings: Vec<String>,
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
    /// Set to `true` to cancel the run: in-flight calls are dropped, children killed.
    pub cancel: Option<tokio::sync::watch::Receiver<bool>>,
    /// Slots shared by every run in this environment (its `concurrency`), on top of the run's own.
    pub env_permits: Option<std::sync::Arc<Semaphore>>,
    /// The same limit held beyond this process (serve replicas on one database, DESIGN.md §11):
    /// a step takes one of its slots after a local permit.
    pub shared_slots: Option<std::sync::Arc<dyn SharedSlots>>,
}

/// A limit shared with other processes: `acquire` waits for a slot and returns what holds it
/// (dropping it gives the slot back).
pub trait SharedSlots: Send + Sync {
    fn acquire(&self) -> futures_util::future::BoxFuture<'_, Box<dyn Send>>;
}

/// State shared by the agent steps running at once (each borrows the runner immutably).
struct Runner<'a> {
    ctx: &'a RunContext<'a>,
    /// When the run started: steps record their start as an offset from it.
    started: Instant,
    redactor: Mutex<Redactor>,
    keys: Mutex<BTreeMap<String, Option<SecretValue>>>,
    event_seq: AtomicUsize,
    done: AtomicUsize,
}

/// What the event loop tracks between steps.
struct Flow {
    events: serde_json::Map<String, Value>,
    /// Per agent: triggers that arrived since it last started (fan-in with `wait_for: all`).
    arrived: Vec<BTreeSet<String>>,
    rounds: Vec<u32>,
    last_event: String,
    warnings: Vec<String>,
    /// Agent steps in flight and when they started: recorded as cancelled if the run ends first.
    running: Vec<(usize, Instant)>,
}

type StepResult = (usize, StepOutcome, Result<Value, ProviderError>);

/// Run the chain; IO errors on the run folder become a failed run, never a panic.
pub async fn run_chain(ctx: &RunContext<'_>) -> RunOutcome {
    let started = Instant::now();
    let runner = Runner {
        ctx,
        started,
        redactor: Mutex::new({
            let mut r = Redactor::default();
            for pw in &ctx.chain.url_passwords {
                r.add(pw);
            }
            r
        }),
        keys: Mutex::new(BTreeMap::new()),
        event_seq: AtomicUsize::new(0),
        done: AtomicUsize::new(0),
    };
    let (status, steps, output_file, error, warnings) = runner.run().await;
    let cost = steps.iter().try_fold(0.0, |acc, s| s.cost.map(|c| acc + c));
    let error = error.map(|e| runner.redact(&e));
    let mut log: Vec<String> = warnings.iter().map(|w| format!("warning: {w}")).collect();
    if let Some(e) = &error {
        log.push(format!("{}: {e}", status.as_str()));
    }
    if !log.is_empty() {
        let _ = runner.write_file(&ctx.run_dir.join("run.log"), &(log.join("\n") + "\n"));
    }
    RunOutcome {
        status,
        tokens_in: steps.iter().map(|s| s.tokens_in).sum(),
        tokens_out: steps.iter().map(|s| s.tokens_out).sum(),
        cost,
        steps,
        output_file,
        error,
        warnings: warnings.iter().map(|w| runner.redact(w)).collect(),
        duration_ms: started.elapsed().as_millis() as u64,
    }
}

type Ended = (
    RunStatus,
    Vec<StepOutcome>,
    Option<PathBuf>,
    Option<String>,
    Vec<String>,
);

async fn cancelled(rx: Option<tokio::sync::watch::Receiver<bool>>) {
    match rx {
        Some(mut rx) => {
            if rx.wait_for(|c| *c).await.is_err() {
                // The sender is gone: nobody can cancel any more.
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending::<()>().await,
    }
}

impl Runner<'_> {
    fn redact(&self, text: &str) -> String {
        match self.redactor.lock() {
            Ok(r) => r.redact(text),
            Err(_) => "****".into(),
        }
    }

    fn agents(&self) -> &[ResolvedAgent] {
        &self.ctx.chain.agents
    }

    /// Record `event` and return the agents it starts (fan-in agents once all their triggers are in).
    fn on_event(
        &self,
        flow: &mut Flow,
        event: &str,
        from: Option<&str>,
        payload: Value,
    ) -> Result<Vec<usize>, String> {
        self.write_event(event, from, &payload)?;
        flow.last_event = event.to_string();
        flow.events.insert(
            event.to_string(),
            json!({ "output": payload, "from": from }),
        );
        let mut start = Vec::new();
        for (i, a) in self
            .agents()
            .iter()
            .enumerate()
            .filter(|(_, a)| a.triggers.iter().any(|t| t == event))
        {
            if a.wait_for_all {
                flow.arrived[i].insert(event.to_string());
                if a.triggers.iter().any(|t| !flow.arrived[i].contains(t)) {
                    continue;
                }
                flow.arrived[i].clear();
            }
            start.push(i);
        }
        Ok(start)
    }

    /// Count a start of agent `i`; an error when it would exceed max_rounds.
    fn next_round(&self, flow: &mut Flow, i: usize) -> Result<(), String> {
        flow.rounds[i] += 1;
        let max = self.ctx.chain.max_rounds.max(1);
        if flow.rounds[i] > max {
            return Err(format!(
                "agent `{}` was triggered more than max_rounds ({max}) times: the chain loops",
                self.agents()[i].name
            ));
        }
        Ok(())
    }

    /// The event an agent's output emits: the first route whose `when` holds, else `emits`.
    fn pick_event(&self, flow: &mut Flow, agent: &ResolvedAgent, output: &Value) -> Option<String> {
        if agent.routes.is_empty() {
            return agent.emits.clone();
        }
        let env = strict_env();
        let context = json!({ "output": output, "input": self.ctx.input, "events": flow.events });
        for route in &agent.routes {
            let Some(when) = &route.when else {
                return Some(route.emit.clone());
            };
            let holds = env.compile_expression(when).and_then(|e| e.eval(&context));
            match holds {
                Ok(v) if v.is_true() => return Some(route.emit.clone()),
                Ok(_) => {}
                Err(e) => flow.warnings.push(format!(
                    "agent `{}`: route `when: {when}` could not be evaluated ({e}); taken as false",
                    agent.name
                )),
            }
        }
        flow.warnings.push(format!(
            "agent `{}`: no route matched and there is no `else`; it emits nothing",
            agent.name
        ));
        None
    }

    async fn run(&self) -> Ended {
        let chain = self.ctx.chain;
        let n = chain.agents.len();
        let mut flow = Flow {
            events: serde_json::Map::new(),
            arrived: vec![BTreeSet::new(); n],
            rounds: vec![0; n],
            last_event: "chain:start".into(),
            warnings: Vec::new(),
            running: Vec::new(),
        };
        let mut steps: Vec<StepOutcome> = Vec::new();
        let mut outputs: BTreeMap<String, Value> = BTreeMap::new();
        let permits = Semaphore::new(chain.concurrency.max(1) as usize);
        let mut pending: FuturesUnordered<Pin<Box<dyn Future<Output = StepResult> + Send + '_>>> =
            FuturesUnordered::new();
        let agents = &chain.agents;
        // Ending early abandons the steps still in flight; they are recorded, not lost.
        let fail = |status: RunStatus, mut steps: Vec<StepOutcome>, e: String, flow: Flow| {
            for (i, started) in &flow.running {
                let a: &ResolvedAgent = &agents[*i];
                steps.push(StepOutcome {
                    agent: a.name.clone(),
                    model_requested: a.model.clone(),
                    model_reported: None,
                    attempts: 0,
                    tokens_in: 0,
                    tokens_out: 0,
                    cost: None,
                    offset_ms: started.duration_since(self.started).as_millis() as u64,
                    duration_ms: started.elapsed().as_millis() as u64,
                    status: RunStatus::Cancelled,
                    error: Some(format!("abandoned: {}", status.as_str())),
                });
            }
            (status, steps, None, Some(e), flow.warnings)
        };

        // Start agents: count the round, note them as running, queue their step.
        macro_rules! start {
            ($agents:expr) => {
                for j in $agents {
                    if let Err(e) = self.next_round(&mut flow, j) {
                        return fail(RunStatus::Failed, steps, e, flow);
                    }
                    flow.running.push((j, Instant::now()));
                    let events = Value::Object(flow.events.clone());
                    pending.push(Box::pin(self.run_agent(j, events, &permits)));
                }
            };
        }

        let first = match self.on_event(&mut flow, "chain:start", None, self.ctx.input.clone()) {
            Ok(f) => f,
            Err(e) => return fail(RunStatus::Failed, steps, e, flow),
        };
        start!(first);

        let mut completed_by: Option<String> = None;
        let cancel = cancelled(self.ctx.cancel.clone());
        tokio::pin!(cancel);
        loop {
            let next = tokio::select! {
                next = pending.next() => next,
                () = &mut cancel => {
                    drop(pending);
                    return fail(RunStatus::Cancelled, steps, "the run was cancelled".into(), flow);
                }
            };
            let Some((i, step, result)) = next else { break };
            if let Some(k) = flow.running.iter().position(|(j, _)| *j == i) {
                flow.running.remove(k);
            }
            let agent = &chain.agents[i];
            let status = step.status;
            steps.push(step);
            self.done.store(steps.len(), Ordering::SeqCst);
            (self.ctx.progress)(Progress {
                agent: agent.name.clone(),
                state: if result.is_ok() {
                    ProgressState::Completed
                } else {
                    ProgressState::Failed
                },
                done: steps.len(),
                total: n,
            });
            let (event, payload) = match result {
                Err(e) => {
                    let message = self.redact(&format!("agent `{}`: {}", agent.name, e.message));
                    let Some(target) = &agent.on_error else {
                        return fail(status, steps, message, flow);
                    };
                    let payload = json!({ "agent": agent.name, "error": message });
                    match chain.agents.iter().position(|a| &a.name == target) {
                        // Hand over to an agent directly, through a synthesized `<agent>:error` event.
                        Some(j) => {
                            let event = format!("{}:error", agent.name);
                            if let Err(e) =
                                self.on_event(&mut flow, &event, Some(&agent.name), payload)
                            {
                                return fail(RunStatus::Failed, steps, e, flow);
                            }
                            start!([j]);
                            continue;
                        }
                        None => (Some(target.clone()), payload),
                    }
                }
                Ok(output) => {
                    let spent: Option<f64> =
                        steps.iter().try_fold(0.0, |acc, s| s.cost.map(|c| acc + c));
                    if let (Some(cap), Some(spent)) = (chain.cost_per_run, spent) {
                        if spent > cap {
                            let msg = format!(
                                "cost ${spent:.4} exceeded cost_per_run ${cap:.2} after agent `{}`",
                                agent.name
                            );
                            return fail(RunStatus::BudgetExceeded, steps, msg, flow);
                        }
                    }
                    outputs.insert(agent.name.clone(), output.clone());
                    (self.pick_event(&mut flow, agent, &output), output)
                }
            };
            let Some(event) = event else { continue };
            let start = match self.on_event(&mut flow, &event, Some(&agent.name), payload) {
                Ok(s) => s,
                Err(e) => return fail(RunStatus::Failed, steps, e, flow),
            };
            if event == "chain:complete" {
                completed_by = Some(agent.name.clone());
                break;
            }
            start!(start);
        }
        drop(pending);

        let Some(completer) = completed_by else {
            let msg = format!(
                "the chain stopped at `{}`: no agent triggers on it and nothing emitted chain:complete",
                flow.last_event
            );
            return fail(RunStatus::Failed, steps, msg, flow);
        };
        let from = chain.output_from.clone().unwrap_or(completer);
        let Some(output) = outputs.get(&from) else {
            let msg = format!("output.from names `{from}`, which produced no output in this run");
            return fail(RunStatus::Failed, steps, msg, flow);
        };
        match self.write_chain_output(output) {
            Ok(path) => (RunStatus::Completed, steps, Some(path), None, flow.warnings),
            Err(e) => fail(RunStatus::Failed, steps, e, flow),
        }
    }

    /// Every file of a run is written inside the run folder, never through a link.
    fn write_file(&self, path: &Path, text: &str) -> Result<(), String> {
        chainlift_model::confine::write_fresh(&self.ctx.run_dir, path, self.redact(text).as_bytes())
            .map_err(|e| e.to_string())
    }

    fn write_event(&self, event: &str, from: Option<&str>, payload: &Value) -> Result<(), String> {
        let seq = self.event_seq.fetch_add(1, Ordering::SeqCst) + 1;
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
            .join(format!("{seq:04}-{file}.json"));
        let mut body = json!({ "event": event, "from": from, "at": (self.ctx.now)().to_rfc3339(), "payload": payload });
        if let Ok(r) = self.redactor.lock() {
            r.redact_value(&mut body); // before serialization; write_file redacts the text again
        }
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
        let rel =
            chainlift_model::confine::relative(&file).map_err(|e| format!("output.file: {e}"))?;
        let path = self.ctx.run_dir.join(rel);
        let text = match (&chain.output_template, output) {
            (Some(template), _) => render_template(template, output)?,
            (None, Value::String(s)) => s.clone(),
            (None, other) => pretty(other),
        };
        self.write_file(&path, &text)?;
        Ok(path)
    }

    async fn run_agent(&self, i: usize, events: Value, permits: &Semaphore) -> StepResult {
        let agent = &self.ctx.chain.agents[i];
        // The semaphores are never closed, so acquiring only waits for a free slot.
        let _env_permit = match &self.ctx.env_permits {
            Some(env) => env.acquire().await.ok(),
            None => None,
        };
        let _permit = permits.acquire().await.ok();
        let _shared_slot = match &self.ctx.shared_slots {
            Some(slots) => Some(slots.acquire().await),
            None => None,
        };
        (self.ctx.progress)(Progress {
            agent: agent.name.clone(),
            state: ProgressState::Started,
            done: self.done.load(Ordering::SeqCst),
            total: self.ctx.chain.agents.len(),
        });
        let started = Instant::now();
        let offset_ms = started.duration_since(self.started).as_millis() as u64;
        let mut step = StepOutcome {
            agent: agent.name.clone(),
            model_requested: agent.model.clone(),
            model_reported: None,
            attempts: 0,
            tokens_in: 0,
            tokens_out: 0,
            cost: if agent.command.is_some() {
                None
            } else {
                Some(0.0)
            },
            offset_ms,
            duration_ms: 0,
            status: RunStatus::Completed,
            error: None,
        };
        let result = self.call_agent(agent, &events, &mut step).await;
        step.duration_ms = started.elapsed().as_millis() as u64;
        if let Err(e) = &result {
            step.status = if e.timed_out {
                RunStatus::TimedOut
            } else {
                RunStatus::Failed
            };
            step.error = Some(self.redact(&e.message));
        }
        (i, step, result)
    }

    async fn call_agent(
        &self,
        agent: &ResolvedAgent,
        events: &Value,
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
        let mut request = CompletionRequest {
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
        // One corrective retry when a JSON answer breaks its schema, then the step fails.
        let mut corrected = false;
        loop {
            let text = self.call_with_retries(agent, &request, step).await?;
            let output = match agent.output {
                OutputKind::Text => Value::String(text),
                OutputKind::Json => {
                    let checked: Result<Value, String> = match parse_json_answer(&text) {
                        None => Err("the answer is not JSON".into()),
                        Some(value) => match &schema {
                            Some(schema) => check_schema(schema, &value)
                                .map(|()| value)
                                .map_err(|e| format!("the answer does not match its schema: {e}")),
                            None => Ok(value),
                        },
                    };
                    match checked {
                        Ok(value) => value,
                        Err(problem) if !corrected => {
                            corrected = true;
                            request.messages.push(Message {
                                role: "assistant".into(),
                                content: text,
                            });
                            request.messages.push(Message {
                                role: "user".into(),
                                content: format!("{problem}. Answer again with JSON only, following the schema exactly."),
                            });
                            continue;
                        }
                        Err(problem) => {
                            return Err(ProviderError::fatal(format!(
                                "{problem} (after one corrective retry)"
                            )))
                        }
                    }
                }
            };
            let round = self.event_seq.load(Ordering::SeqCst);
            let (name, body) = match &output {
                Value::String(s) => ("output.txt", s.clone()),
                other => ("output.json", pretty(other)),
            };
            let dir = self.ctx.run_dir.join("outputs").join(&agent.name);
            let path = if dir.join(name).exists() {
                dir.join(format!("{round:04}-{name}"))
            } else {
                dir.join(name)
            };
            self.write_file(&path, &body)
                .map_err(ProviderError::fatal)?;
            return Ok(output);
        }
    }

    /// One call (model or command) with retries on retryable failures: exponential backoff
    /// with jitter, honouring `Retry-After`.
    async fn call_with_retries(
        &self,
        agent: &ResolvedAgent,
        request: &CompletionRequest,
        step: &mut StepOutcome,
    ) -> Result<String, ProviderError> {
        let chain = self.ctx.chain;
        let attempts = if agent.max_attempts > 0 {
            agent.max_attempts
        } else {
            chain.retries + 1
        };
        let mut delay = agent.initial_delay;
        loop {
            step.attempts += 1;
            let result = match &agent.command {
                Some(spec) => {
                    let secrets = self.command_secrets().await?;
                    crate::command::run_command(
                        spec,
                        &request.messages[0].content,
                        &secrets,
                        agent.timeout,
                        chain.output_bytes,
                    )
                    .await
                }
                None => self.complete(agent, request).await.map(|c| {
                    step.model_reported = c.model.clone();
                    step.tokens_in += c.input_tokens;
                    step.tokens_out += c.output_tokens;
                    step.cost = match (
                        agent.model_entry.input_per_mtok,
                        agent.model_entry.output_per_mtok,
                    ) {
                        (Some(i), Some(o)) => Some(
                            (step.tokens_in as f64 * i + step.tokens_out as f64 * o) / 1_000_000.0,
                        ),
                        _ => None,
                    };
                    c.text
                }),
            };
            match result {
                Ok(text) => {
                    tracing::debug!(
                        agent = %agent.name,
                        model = %agent.model,
                        attempt = step.attempts,
                        tokens_in = step.tokens_in,
                        tokens_out = step.tokens_out,
                        "agent answered"
                    );
                    return Ok(text);
                }
                Err(e) if e.retryable && step.attempts < attempts => {
                    let wait = e
                        .retry_after
                        .unwrap_or(delay)
                        .min(agent.max_delay.max(Duration::from_millis(1)));
                    let jitter = wait.mul_f64(fastrand::f64() * 0.25);
                    // Provider text is redacted like everything the run writes.
                    tracing::warn!(
                        agent = %agent.name,
                        attempt = step.attempts,
                        of = attempts,
                        wait_ms = (wait + jitter).as_millis() as u64,
                        error = %self.redact(&e.message),
                        "retrying"
                    );
                    tokio::time::sleep(wait + jitter).await;
                    delay = (delay * 2).min(agent.max_delay);
                }
                Err(mut e) => {
                    if step.attempts > 1 {
                        e.message = format!("{} (after {} attempts)", e.message, step.attempts);
                    }
                    return Err(e);
                }
            }
        }
    }

    /// The chain's `secrets:` that are set, for a command agent's environment (never argv).
    async fn command_secrets(&self) -> Result<Vec<(String, SecretValue)>, ProviderError> {
        let mut out = Vec::new();
        for name in self.ctx.chain.declared_secrets.iter() {
            if let Some(v) = self.secret(name).await? {
                out.push((name.clone(), v));
            }
        }
        Ok(out)
    }

    async fn complete(
        &self,
        agent: &ResolvedAgent,
        req: &CompletionRequest,
    ) -> Result<Completion, ProviderError> {
        if let Some(cassette) = &self.ctx.replay {
            return cassette.answer(req);
        }
        let (base_key, default_base) = match req.provider.as_str() {
            "openai" => ("OPENAI_BASE_URL", OPENAI_DEFAULT_BASE),
            "anthropic" => ("ANTHROPIC_BASE_URL", ANTHROPIC_DEFAULT_BASE),
            other => {
                return Err(ProviderError::fatal(format!(
                    "provider `{other}` is not supported: use `openai` (any OpenAI-compatible server) or `anthropic` in chainlift.yaml"
                )))
            }
        };
        let chain = self.ctx.chain;
        let base_url = agent
            .model_entry
            .base_url
            .clone()
            .or_else(|| chain.config.get(base_key).cloned())
            .or_else(|| self.ctx.process_base_urls.get(base_key).cloned())
            .unwrap_or_else(|| default_base.to_string());
        // A model with its own base_url gets a key only through its `api_key_secret:`: a
        // chain from a stranger cannot point the vendor's key at its own server that way.
        let key_name = match (
            &agent.model_entry.base_url,
            &agent.model_entry.api_key_secret,
        ) {
            (Some(_), None) => None,
            _ => Some(agent.model_entry.key_secret()),
        };
        let key = match &key_name {
            Some(name) => self.secret(name).await?,
            None => None,
        };
        if let (None, Some(name)) = (&key, &key_name) {
            if base_url == default_base {
                return Err(ProviderError::fatal(format!(
                    "{name} is not set for env `{}`: run `chainlift secrets set --env {} {name}`",
                    chain.env, chain.env
                )));
            }
        }
        if let (Some(_), Some(name)) = (&key, &key_name) {
            if !crate::provider::may_carry_key(&base_url) {
                return Err(ProviderError::fatal(format!(
                    "refusing to send {name} to {base_url}: a key goes only over https, or over http to this machine (127.0.0.1, localhost); fix the base URL"
                )));
            }
        }
        let http = self.ctx.http.clone();
        let completion = if req.provider == "anthropic" {
            AnthropicClient {
                http,
                base_url,
                key,
            }
            .complete(req)
            .await?
        } else {
            OpenAiClient {
                http,
                base_url,
                key,
            }
            .complete(req)
            .await?
        };
        if let Some(recorder) = &self.ctx.record {
            let redactor = self
                .redactor
                .lock()
                .map_err(|_| ProviderError::fatal("the redactor failed earlier"))?
                .clone();
            recorder
                .record(req, &completion, &redactor)
                .map_err(ProviderError::fatal)?;
        }
        Ok(completion)
    }

    async fn secret(&self, name: &str) -> Result<Option<SecretValue>, ProviderError> {
        if let Some(v) = self.keys.lock().ok().and_then(|k| k.get(name).cloned()) {
            return Ok(v);
        }
        let value = self
            .ctx
            .secrets
            .get(name)
            .await
            .map_err(ProviderError::fatal)?;
        if let Some(v) = &value {
            if let Ok(mut r) = self.redactor.lock() {
                r.add(v);
            }
        }
        if let Ok(mut k) = self.keys.lock() {
            k.insert(name.to_string(), value.clone());
        }
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

/// Compiled schemas, by their JSON text: compiling one (regexes and all) cost more than the
/// rest of a run's bookkeeping. Bounded; a schema that does not compile is never kept.
fn validator(schema: &Value) -> Result<Arc<jsonschema::Validator>, String> {
    const MAX: usize = 64;
    static COMPILED: std::sync::LazyLock<
        Mutex<std::collections::HashMap<String, Arc<jsonschema::Validator>>>,
    > = std::sync::LazyLock::new(Mutex::default);
    let key = schema.to_string();
    if let Some(v) = COMPILED.lock().ok().and_then(|m| m.get(&key).cloned()) {
        return Ok(v);
    }
    let v = Arc::new(jsonschema::validator_for(schema).map_err(|e| e.to_string())?);
    if let Ok(mut m) = COMPILED.lock() {
        if m.len() >= MAX {
            m.clear();
        }
        m.insert(key, v.clone());
    }
    Ok(v)
}

fn check_schema(schema: &Value, value: &Value) -> Result<(), String> {
    let validator = validator(schema).map_err(|e| format!("the schema itself is invalid: {e}"))?;
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

/// Every way `value` breaks `schema` (at most 20), or why the schema itself is unusable.
pub fn schema_errors(schema: &Value, value: &Value) -> Result<Vec<String>, String> {
    let validator =
        validator(schema).map_err(|e| format!("the schema is not valid JSON Schema: {e}"))?;
    Ok(validator
        .iter_errors(value)
        .take(20)
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
        .collect())
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
