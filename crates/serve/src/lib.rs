//! `chainlift serve` (DESIGN.md §9): the deployed chains of some envs, run on requests over
//! HTTP. Each request reads the env's deployment pointer, so a deploy, rollback or flag flip by
//! any process applies to the next request. Runs are recorded `queued` when accepted; per env,
//! `execution.concurrency` run at once and up to `queue` wait, beyond that 429.

mod auth;
mod http;
mod metrics;
mod schedule;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chainlift_api::{ApiError, Chainlift, ErrorCode, ProjectArgs};
use chainlift_model::secret::SecretValue;
use chainlift_model::Project;
use tokio::sync::{watch, Notify, Semaphore};

pub use metrics::Metrics;

/// How serve is started.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub at: ProjectArgs,
    /// The envs served (default: the last, production).
    pub envs: Vec<String>,
    pub listen: SocketAddr,
    /// How long in-flight runs get after SIGTERM before they are cancelled.
    pub drain: Duration,
    /// The largest request body.
    pub max_body: usize,
    /// Runs waiting for a slot per env before requests get 429.
    pub queue: usize,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:7420";
pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;
pub const DEFAULT_QUEUE: usize = 100;

/// One env's slots: `running` permits (its concurrency, set by its first run) and the count of
/// runs accepted and waiting for one.
pub(crate) struct EnvSlots {
    running: std::sync::OnceLock<Arc<Semaphore>>,
    pub waiting: AtomicUsize,
    /// Runs accepted and not ended, for the lease row (Home's "in flight").
    live: AtomicUsize,
    /// When run requests were accepted over the last minute.
    accepted: Mutex<std::collections::VecDeque<std::time::Instant>>,
    /// The newest run that did not complete, or request the server failed.
    last_error: Mutex<Option<(String, chrono::DateTime<chrono::Utc>)>>,
}

impl EnvSlots {
    fn new() -> EnvSlots {
        EnvSlots {
            running: std::sync::OnceLock::new(),
            waiting: AtomicUsize::new(0),
            live: AtomicUsize::new(0),
            accepted: Mutex::new(std::collections::VecDeque::new()),
            last_error: Mutex::new(None),
        }
    }

    /// A run request accepted now.
    fn count_request(&self) {
        if let Ok(mut q) = self.accepted.lock() {
            let now = std::time::Instant::now();
            q.push_back(now);
            while q
                .front()
                .is_some_and(|t| now.duration_since(*t) > Duration::from_secs(60))
            {
                q.pop_front();
            }
        }
    }

    pub fn record_error(&self, message: String) {
        if let Ok(mut e) = self.last_error.lock() {
            *e = Some((message, chrono::Utc::now()));
        }
    }

    /// What the lease row shows of this env now.
    pub fn stats(&self, listen: &str) -> chainlift_api::LeaseStats {
        let now = std::time::Instant::now();
        let requests = self.accepted.lock().map_or(0, |q| {
            q.iter()
                .filter(|t| now.duration_since(**t) <= Duration::from_secs(60))
                .count()
        });
        chainlift_api::LeaseStats {
            listen: listen.to_string(),
            requests_per_min: u32::try_from(requests).unwrap_or(u32::MAX),
            in_flight: u32::try_from(self.live.load(Ordering::SeqCst)).unwrap_or(u32::MAX),
            last_error: self.last_error.lock().ok().and_then(|e| e.clone()),
        }
    }

    /// The permits, once the env's first run set them.
    pub fn running_now(&self) -> Option<&Arc<Semaphore>> {
        self.running.get()
    }

    pub fn running(&self, concurrency: u32) -> Arc<Semaphore> {
        self.running
            .get_or_init(|| Arc::new(Semaphore::new(concurrency.max(1) as usize)))
            .clone()
    }
}

pub(crate) struct State {
    pub api: Arc<Chainlift>,
    pub at: ProjectArgs,
    pub project: Project,
    pub envs: Vec<String>,
    /// The address serve listens on (shown on the app's Home).
    pub listen: String,
    pub tokens: BTreeMap<String, SecretValue>,
    pub max_body: usize,
    pub queue: usize,
    pub draining: AtomicBool,
    pub metrics: Metrics,
    slots: Mutex<BTreeMap<String, Arc<EnvSlots>>>,
    /// Runs accepted and not yet ended (queued or running), and a wake-up when one ends.
    live: AtomicUsize,
    ended: Notify,
    /// Set on drain timeout: every live run cancels (queued ones never start).
    cancel: watch::Sender<bool>,
}

impl State {
    pub fn slots(&self, env: &str) -> Arc<EnvSlots> {
        let fresh = || Arc::new(EnvSlots::new());
        match self.slots.lock() {
            Ok(mut map) => map.entry(env.to_string()).or_insert_with(fresh).clone(),
            // A poisoned lock only means a panic elsewhere: refuse to share broken state.
            Err(_) => fresh(),
        }
    }

    /// One more run accepted and not ended.
    pub fn begin(&self) {
        self.live.fetch_add(1, Ordering::SeqCst);
    }

    /// A run ended (or was never started): wake the drain.
    pub fn end(&self) {
        self.live.fetch_sub(1, Ordering::SeqCst);
        self.ended.notify_waiters();
    }

    /// Wait until no run is live (true), or the deadline passes (false).
    async fn wait_idle(&self, deadline: Option<tokio::time::Instant>) -> bool {
        loop {
            let wake = self.ended.notified();
            tokio::pin!(wake);
            wake.as_mut().enable(); // registered before the check: no end is missed
            if self.live.load(Ordering::SeqCst) == 0 {
                return true;
            }
            match deadline {
                Some(d) => {
                    if tokio::time::timeout_at(d, wake).await.is_err() {
                        return false;
                    }
                }
                None => wake.await,
            }
        }
    }

    pub fn cancelled(&self) -> watch::Receiver<bool> {
        self.cancel.subscribe()
    }
}

/// Why a run could not be accepted.
pub(crate) enum SubmitError {
    /// The env's queue is full.
    QueueFull,
    /// serve is shutting down.
    Draining,
    Api(ApiError),
}

impl From<ApiError> for SubmitError {
    fn from(e: ApiError) -> Self {
        SubmitError::Api(e)
    }
}

/// An accepted run: recorded (`queued`), and its end to come.
pub(crate) struct Submitted {
    pub run: chainlift_api::dto::RunView,
    pub done: tokio::sync::oneshot::Receiver<Result<chainlift_api::dto::RunView, ApiError>>,
}

impl State {
    /// Accept a run of the version deployed to (chain, env): a place in the env's queue first
    /// (a full queue records nothing), then recorded `queued`, then run when a slot is free.
    pub(crate) async fn submit(
        self: &Arc<Self>,
        chain: &str,
        env: &str,
        input: serde_json::Value,
        trigger: chainlift_api::dto::Trigger,
        run_id: &str,
        route_key: Option<String>,
    ) -> Result<Submitted, SubmitError> {
        // Counted live before the drain flag is read: a drain that starts now either sees
        // this run and waits for it, or this sees the drain and backs out (both SeqCst).
        self.begin();
        if self.draining.load(Ordering::SeqCst) {
            self.end();
            return Err(SubmitError::Draining);
        }
        let slots = self.slots(env);
        let busy = slots
            .running_now()
            .is_none_or(|s| s.available_permits() == 0);
        if slots.waiting.fetch_add(1, Ordering::SeqCst) >= self.queue && busy {
            slots.waiting.fetch_sub(1, Ordering::SeqCst);
            self.end();
            return Err(SubmitError::QueueFull);
        }
        let mut at = self.at.clone();
        at.chain = Some(chain.to_string());
        let args = chainlift_api::RunArgs {
            at,
            env: env.to_string(),
            input_value: Some(input),
            trigger,
            run_id: Some(run_id.to_string()),
            route_key,
            cancel: Some(self.cancelled()),
            ..chainlift_api::RunArgs::default()
        };
        let prepared = match self.api.prepare_run(&args).await {
            Ok(p) => p,
            Err(e) => {
                slots.waiting.fetch_sub(1, Ordering::SeqCst);
                self.end();
                return Err(e.into());
            }
        };
        let run = match prepared.view() {
            Ok(run) => run,
            Err(e) => {
                slots.waiting.fetch_sub(1, Ordering::SeqCst);
                let _ = self.api.abandon(prepared, &e.message).await;
                self.end();
                return Err(e.into());
            }
        };
        let labels = metrics::EnvLabels {
            env: env.to_string(),
        };
        if trigger == chainlift_api::dto::Trigger::Api {
            slots.count_request();
        }
        slots.live.fetch_add(1, Ordering::SeqCst);
        self.metrics.queue_depth.get_or_create(&labels).inc();
        let (done_tx, done) = tokio::sync::oneshot::channel();
        let st = self.clone();
        let mut notify_at = self.at.clone();
        notify_at.chain = Some(chain.to_string());
        tokio::spawn(async move {
            let mut cancel = st.cancelled();
            let running = slots.running(prepared.concurrency);
            let permit = tokio::select! {
                p = running.acquire_owned() => p.ok(),
                _ = cancel.wait_for(|c| *c) => None,
            };
            slots.waiting.fetch_sub(1, Ordering::SeqCst);
            st.metrics.queue_depth.get_or_create(&labels).dec();
            let result = match permit {
                Some(_permit) => {
                    st.metrics.in_flight.get_or_create(&labels).inc();
                    let r = st.api.execute(prepared, &|_| {}).await;
                    st.metrics.in_flight.get_or_create(&labels).dec();
                    r
                }
                None => {
                    let id = prepared.id.clone();
                    match st
                        .api
                        .abandon(prepared, "serve shut down before the run started")
                        .await
                    {
                        Ok(()) => st.api.run_show(&id).await,
                        Err(e) => Err(e),
                    }
                }
            };
            slots.live.fetch_sub(1, Ordering::SeqCst);
            match &result {
                Ok(run) if run.status != chainlift_model::lifecycle::RunStatus::Completed => slots
                    .record_error(format!(
                        "{} {}: run {} {}{}",
                        run.chain,
                        run.version,
                        run.id,
                        run.status,
                        run.error
                            .as_deref()
                            .map_or(String::new(), |e| format!(": {e}"))
                    )),
                Ok(_) => {}
                Err(e) => slots.record_error(e.message.clone()),
            }
            match &result {
                Ok(run) => {
                    http::record(&st, run);
                    for w in st.api.notify_run(&notify_at, run).await {
                        tracing::warn!(run = %run.id, warning = %w, "notify");
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e.message, "a run could not be recorded to its end")
                }
            }
            st.end();
            let _ = done_tx.send(result);
        });
        Ok(Submitted { run, done })
    }
}

/// Check the config, read the tokens, bind: what `serve` refuses (exit 2) happens here, before
/// anything listens.
pub async fn prepare(api: Arc<Chainlift>, cfg: ServeConfig) -> Result<Server, ApiError> {
    let project = api.project_of(&cfg.at).await?;
    let all = project.environments();
    let envs = if cfg.envs.is_empty() {
        all.last().cloned().into_iter().collect()
    } else {
        cfg.envs.clone()
    };
    for env in &envs {
        if !all.contains(env) {
            return Err(ApiError::new(
                ErrorCode::BadInput,
                format!("--env {env}: the project's envs are {}", all.join(", ")),
            ));
        }
    }
    let mut tokens = BTreeMap::new();
    let mut open = Vec::new();
    for env in &envs {
        match api.serve_token(&project, env).await? {
            Some(t) => {
                tokens.insert(env.clone(), t);
            }
            None => open.push(env.clone()),
        }
    }
    if !open.is_empty() && !cfg.listen.ip().is_loopback() {
        // A usage error (exit 2, DESIGN.md §9), not a policy refusal.
        return Err(ApiError::new(
            ErrorCode::BadInput,
            format!(
                "--listen {} is reachable from other machines, and {} has no serve token: run `chainlift serve token set --env {}` (or listen on 127.0.0.1)",
                cfg.listen,
                open.join(", "),
                open[0]
            ),
        ));
    }
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(|e| {
            ApiError::new(
                ErrorCode::BadInput,
                format!("cannot listen on {}: {e}", cfg.listen),
            )
        })?;
    let local = listener
        .local_addr()
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("the listening address: {e}")))?;
    let (cancel, _) = watch::channel(false);
    let state = Arc::new(State {
        api,
        at: cfg.at.clone(),
        project,
        envs,
        listen: local.to_string(),
        tokens,
        max_body: cfg.max_body,
        queue: cfg.queue,
        draining: AtomicBool::new(false),
        metrics: Metrics::new(),
        slots: Mutex::new(BTreeMap::new()),
        live: AtomicUsize::new(0),
        ended: Notify::new(),
        cancel,
    });
    Ok(Server {
        state,
        listener,
        local,
        drain: cfg.drain,
        open,
    })
}

/// A bound server, not yet serving.
pub struct Server {
    state: Arc<State>,
    listener: tokio::net::TcpListener,
    pub local: SocketAddr,
    drain: Duration,
    /// The envs served without a token (loopback only).
    pub open: Vec<String>,
}

impl Server {
    pub fn envs(&self) -> &[String] {
        &self.state.envs
    }

    /// Serve until `shutdown` resolves, then drain: `/readyz` and new requests answer 503,
    /// in-flight runs get the drain time, the rest are cancelled.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), ApiError> {
        let state = self.state.clone();
        let (stop_tx, stop_rx) = watch::channel(false);
        let draining = state.clone();
        let drain = self.drain;
        tokio::spawn(async move {
            shutdown.await;
            draining.draining.store(true, Ordering::SeqCst);
            tracing::info!(drain_s = drain.as_secs_f64(), "draining");
            let deadline = tokio::time::Instant::now() + drain;
            if !draining.wait_idle(Some(deadline)).await {
                let left = draining.live.load(Ordering::SeqCst);
                tracing::warn!(runs = left, "drain time is up: cancelling the runs left");
                let _ = draining.cancel.send(true);
                draining.wait_idle(None).await;
            }
            let _ = stop_tx.send(true);
        });
        // DESIGN.md §9: runs of a gone owner (another process, or one on another host whose
        // heartbeat stopped) end `interrupted`, at start (Chainlift::open) and while serving.
        let sweeper = state.clone();
        let sweep = tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(10));
            loop {
                every.tick().await;
                match sweeper.api.interrupt_orphans().await {
                    Ok(ids) if !ids.is_empty() => {
                        tracing::warn!(runs = ?ids, "ended the runs of a gone owner as interrupted")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e.message, "the orphan sweep failed"),
                }
            }
        });
        let holder = schedule::holder();
        let schedulers: Vec<_> = state
            .envs
            .iter()
            .map(|env| tokio::spawn(schedule::run(state.clone(), env.clone(), holder.clone())))
            .collect();
        let app = http::router(state);
        let mut stop = stop_rx;
        let served = axum::serve(self.listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await
            .map_err(|e| ApiError::new(ErrorCode::Internal, format!("serve: {e}")));
        sweep.abort();
        for s in schedulers {
            let _ = s.await; // each gives its lease up once draining
        }
        served
    }
}
