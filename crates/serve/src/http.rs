//! The HTTP surface of DESIGN.md §9. Every error is `{"error": {"code", "message"}}` with the
//! CLI's codes; the status says which refusal it is.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State as AxState};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chainlift_api::dto::{RunView, Trigger};
use chainlift_api::{ApiError, Claim, ErrorCode};
use serde_json::{json, Value};

use crate::metrics::{RunLabels, TokenLabels, VersionLabels};
use crate::State;

type St = AxState<Arc<State>>;

/// The longest `?wait=` honoured, in seconds.
const MAX_WAIT_S: u64 = 300;

pub fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/v1/chains", get(chains))
        .route("/v1/chains/{chain}/runs", post(create_run))
        .route("/v1/entrypoints/{name}/runs", post(create_entrypoint_run))
        .route("/v1/runs/{id}", get(get_run))
        .fallback(not_found)
        // Bodies are read with serve's own limit, so a refusal is a JSON 413.
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn(log_request))
        .with_state(state)
}

/// One line per request: method, path (no query: it may carry keys), status, time.
async fn log_request(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let started = Instant::now();
    let res = next.run(req).await;
    tracing::info!(
        %method,
        path,
        status = res.status().as_u16(),
        ms = started.elapsed().as_secs_f64() * 1e3,
        "request"
    );
    res
}

/// A refusal: status, the CLI's error code, a message saying what to fix.
pub struct Refusal {
    status: StatusCode,
    code: ErrorCode,
    message: String,
    errors: Vec<String>,
    retry_after: Option<u64>,
}

fn refuse(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Refusal {
    Refusal {
        status,
        code,
        message: message.into(),
        errors: vec![],
        retry_after: None,
    }
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Self {
        let status = match e.code {
            ErrorCode::BadInput => StatusCode::BAD_REQUEST,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::Refused | ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::BudgetExceeded => StatusCode::FORBIDDEN,
            ErrorCode::KeychainUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Failed | ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        refuse(status, e.code, e.message)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut error = json!({"code": self.code, "message": self.message});
        if !self.errors.is_empty() {
            error["errors"] = json!(self.errors);
        }
        let mut res = (self.status, Json(json!({ "error": error }))).into_response();
        if let Some(s) = self.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        res
    }
}

async fn not_found() -> Refusal {
    refuse(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        "no such path: see POST /v1/chains/{chain}/runs, POST /v1/entrypoints/{name}/runs, GET /v1/runs/{id}, GET /v1/chains, /healthz, /readyz, /metrics",
    )
}

async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn readyz(AxState(st): St) -> Response {
    if st.draining.load(Ordering::SeqCst) {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Refused,
            "draining: this process is shutting down",
        )
        .into_response();
    }
    match st.api.ping().await {
        Ok(()) => Json(json!({"status": "ready", "envs": st.envs})).into_response(),
        Err(e) => refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal,
            format!("the database does not answer: {}", e.message),
        )
        .into_response(),
    }
}

async fn metrics(AxState(st): St) -> Response {
    match st.metrics.encode() {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            format!("metrics: {e}"),
        )
        .into_response(),
    }
}

/// The caller may use `env`: it has no token, or the request carries it.
fn authorize(st: &State, env: &str, headers: &HeaderMap, body: &[u8]) -> Result<(), Refusal> {
    match st.tokens.get(env) {
        None => Ok(()),
        Some(t) if crate::auth::allowed(t, headers, body) => Ok(()),
        Some(_) => Err(refuse(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Refused,
            format!("`{env}` needs its serve token: send `Authorization: Bearer <token>` or `X-Chainlift-Signature-256: sha256=<HMAC-SHA256 of the body>`"),
        )),
    }
}

/// `GET /v1/chains`: per chain and served env, the version deployed there.
async fn chains(AxState(st): St, headers: HeaderMap) -> Result<Json<Value>, Refusal> {
    if !st.tokens.is_empty()
        && !st
            .tokens
            .values()
            .any(|t| crate::auth::allowed(t, &headers, b""))
    {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Refused,
            "send a served env's token: `Authorization: Bearer <token>`",
        ));
    }
    let mut out = Vec::new();
    for dir in st.project.chain_dirs() {
        let Some(name) = dir.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let mut envs = serde_json::Map::new();
        for env in &st.envs {
            let stable = st
                .api
                .deployed(&st.project, name, env)
                .await?
                .map(|d| d.label);
            envs.insert(
                env.clone(),
                json!({"stable": stable, "candidate": null, "weight": 0, "rollout": "none"}),
            );
        }
        out.push(json!({"chain": name, "envs": envs}));
    }
    Ok(Json(json!({ "chains": out })))
}

/// `GET /v1/runs/{id}`: the run object of §8, for a run of a served env of this project.
async fn get_run(
    AxState(st): St,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<RunView>, Refusal> {
    let missing = || {
        refuse(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            format!("no run `{id}` here"),
        )
    };
    if id.len() > 64 || !id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        return Err(missing());
    }
    let run = match st.api.run_show(&id).await {
        Ok(r) => r,
        Err(e) if e.code == ErrorCode::NotFound => return Err(missing()),
        Err(e) => return Err(e.into()),
    };
    if run.project != st.project.id || !st.envs.contains(&run.env) {
        return Err(missing());
    }
    authorize(&st, &run.env, &headers, b"")?;
    Ok(Json(run))
}

fn accepted(run: &RunView) -> Value {
    json!({
        "id": run.id,
        "status": run.status,
        "chain": run.chain,
        "env": run.env,
        "version": run.version,
        "trigger": run.trigger,
        "location": format!("/v1/runs/{}", run.id),
    })
}

/// What a request runs: a chain by name, or an entry point whose env flag picks the chain.
enum Target {
    Chain(String),
    Entrypoint(String),
}

/// `POST /v1/chains/{chain}/runs[?env=E][&wait=SECONDS]`.
async fn create_run(
    st: St,
    Path(chain): Path<String>,
    query: Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Refusal> {
    start_run(st, Target::Chain(chain), query, headers, body).await
}

/// `POST /v1/entrypoints/{name}/runs`: `chainlift.yaml` `entrypoints:` picks the chain by the
/// env's flag at this request (the seed's whole-chain flag switch).
async fn create_entrypoint_run(
    st: St,
    Path(name): Path<String>,
    query: Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Refusal> {
    start_run(st, Target::Entrypoint(name), query, headers, body).await
}

/// Start a run of `target`; a failure of the server itself (not of the caller) becomes the
/// env's last error on Home.
async fn start_run(
    AxState(st): St,
    target: Target,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Refusal> {
    let env = match query.get("env") {
        Some(e) => st.envs.contains(e).then(|| e.clone()),
        None => (st.envs.len() == 1).then(|| st.envs[0].clone()),
    };
    let r = accept_run(&st, target, query, headers, body).await;
    if let (Err(refusal), Some(env)) = (&r, env) {
        if refusal.status == StatusCode::INTERNAL_SERVER_ERROR {
            st.slots(&env).record_error(refusal.message.clone());
        }
    }
    r
}

async fn accept_run(
    st: &Arc<State>,
    target: Target,
    query: BTreeMap<String, String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Refusal> {
    if st.draining.load(Ordering::SeqCst) {
        return Err(refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Refused,
            "draining: this process is shutting down; retry against another",
        ));
    }
    let env = match query.get("env") {
        Some(e) if st.envs.contains(e) => e.clone(),
        Some(e) => {
            return Err(refuse(
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                format!(
                    "env `{e}` is not served here (serving: {})",
                    st.envs.join(", ")
                ),
            ))
        }
        None if st.envs.len() == 1 => st.envs[0].clone(),
        None => {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadInput,
                format!(
                    "this serve runs several envs: add `?env=` ({})",
                    st.envs.join(", ")
                ),
            ))
        }
    };
    let wait = match query.get("wait") {
        None => None,
        Some(w) => match w.parse::<u64>() {
            Ok(s) if s <= MAX_WAIT_S => Some(Duration::from_secs(s)),
            _ => {
                return Err(refuse(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::BadInput,
                    format!("`wait={w}`: give whole seconds, at most {MAX_WAIT_S}"),
                ))
            }
        },
    };
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
    if !json_type {
        return Err(refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::BadInput,
            "the body is the chain's input as JSON: send `Content-Type: application/json`",
        ));
    }
    let too_large = || {
        refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::BadInput,
            format!(
                "the body is larger than {} bytes (serve --max-body)",
                st.max_body
            ),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > st.max_body as u64) {
        return Err(too_large());
    }
    let bytes = axum::body::to_bytes(body, st.max_body)
        .await
        .map_err(|_| too_large())?;
    authorize(st, &env, &headers, &bytes)?;
    let input: Value = serde_json::from_slice(&bytes).map_err(|e| {
        refuse(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadInput,
            format!("the body is not JSON: {e}"),
        )
    })?;
    let chain = match target {
        Target::Chain(c) => c,
        Target::Entrypoint(name) => {
            if !chainlift_model::confine::is_plain_name(&name) {
                return Err(refuse(
                    StatusCode::NOT_FOUND,
                    ErrorCode::NotFound,
                    "no such entry point: names are letters, digits, _ - .",
                ));
            }
            st.api.entrypoint_chain(&st.project, &name, &env).await?
        }
    };
    if !chainlift_model::confine::is_plain_name(&chain)
        || !st
            .project
            .chain_dirs()
            .iter()
            .any(|d| d.file_name().is_some_and(|n| n == chain.as_str()))
    {
        return Err(refuse(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            format!("no chain `{chain}` in project {}", st.project.id),
        ));
    }
    let Some(deployed) = st.api.deployed(&st.project, &chain, &env).await? else {
        return Err(refuse(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            format!("nothing is deployed to `{env}` for {chain}: `chainlift deploy {chain} --env {env} --version V`"),
        ));
    };
    if let Some(schema) = &deployed.input_schema {
        let errors = chainlift_api::schema_errors(schema, &input).map_err(|e| {
            refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                format!("{chain} {}: its input schema: {e}", deployed.label),
            )
        })?;
        if !errors.is_empty() {
            let mut r = refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::BadInput,
                format!(
                    "the input breaks {chain}'s input schema ({} problem(s))",
                    errors.len()
                ),
            );
            r.errors = errors;
            return Err(r);
        }
    }

    let run_id = uuid::Uuid::now_v7().to_string();
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => match v.to_str() {
            Ok(k) if !k.is_empty() && k.len() <= 200 => Some(k.to_string()),
            _ => {
                return Err(refuse(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::BadInput,
                    "Idempotency-Key: 1 to 200 visible ASCII characters",
                ))
            }
        },
    };
    if let Some(k) = &key {
        if let Claim::Theirs(first) = st.api.claim_idempotency(&st.project, k, &run_id).await? {
            return answer_first(st, &first, wait).await;
        }
    }
    let release = |st: Arc<State>, key: Option<String>, run_id: String| async move {
        if let Some(k) = key {
            let _ = st.api.release_idempotency(&st.project, &k, &run_id).await;
        }
    };

    // DESIGN.md §9: the canary routing key; default the idempotency key, else random.
    let route = match headers.get("x-chainlift-key") {
        None => key.clone(),
        Some(v) => match v.to_str() {
            Ok(k) if !k.is_empty() && k.len() <= 200 => Some(k.to_string()),
            _ => {
                release(st.clone(), key, run_id).await;
                return Err(refuse(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::BadInput,
                    "X-Chainlift-Key: 1 to 200 visible ASCII characters",
                ));
            }
        },
    };
    let submitted = match st
        .submit(&chain, &env, input, Trigger::Api, &run_id, route)
        .await
    {
        Ok(s) => s,
        Err(e) => {
            release(st.clone(), key, run_id).await;
            return Err(match e {
                crate::SubmitError::QueueFull => {
                    let mut r = refuse(
                        StatusCode::TOO_MANY_REQUESTS,
                        ErrorCode::Refused,
                        format!(
                            "`{env}` has {} runs waiting (serve --queue): retry later",
                            st.queue
                        ),
                    );
                    r.retry_after = Some(1);
                    r
                }
                crate::SubmitError::Draining => refuse(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::Refused,
                    "draining: this process is shutting down; retry against another",
                ),
                crate::SubmitError::Api(e) => e.into(),
            });
        }
    };
    let (first, done_rx) = (submitted.run, submitted.done);
    let Some(wait) = wait else {
        return Ok((StatusCode::ACCEPTED, Json(accepted(&first))).into_response());
    };
    match tokio::time::timeout(wait, done_rx).await {
        Ok(Ok(Ok(run))) => Ok((StatusCode::OK, Json(run)).into_response()),
        Ok(Ok(Err(e))) => Err(e.into()),
        // Still running (or its task is gone): the accepted answer, to poll.
        _ => Ok((StatusCode::ACCEPTED, Json(accepted(&first))).into_response()),
    }
}

/// A repeated Idempotency-Key: the first run's answer, waiting briefly for its row when the
/// first request is still recording it.
async fn answer_first(st: &State, id: &str, wait: Option<Duration>) -> Result<Response, Refusal> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !st.api.run_exists(id).await? {
        if Instant::now() > deadline {
            return Err(refuse(
                StatusCode::CONFLICT,
                ErrorCode::Conflict,
                "a request with this Idempotency-Key is still being accepted: retry",
            ));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut run = st.api.run_show(id).await?;
    if let Some(w) = wait {
        let until = Instant::now() + w;
        while matches!(run.status.as_str(), "queued" | "running") && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(50)).await;
            run = st.api.run_show(id).await?;
        }
        if !matches!(run.status.as_str(), "queued" | "running") {
            return Ok((StatusCode::OK, Json(run)).into_response());
        }
    }
    Ok((StatusCode::ACCEPTED, Json(accepted(&run))).into_response())
}

/// Metrics and one log line for a run that ended.
pub(crate) fn record(st: &State, run: &RunView) {
    let v = VersionLabels {
        chain: run.chain.clone(),
        env: run.env.clone(),
        version: run.version.clone(),
    };
    st.metrics
        .runs
        .get_or_create(&RunLabels {
            chain: run.chain.clone(),
            env: run.env.clone(),
            version: run.version.clone(),
            status: run.status.as_str().into(),
            trigger: run.trigger.as_str().to_string(),
        })
        .inc();
    let seconds = run.duration_ms.unwrap_or(0) as f64 / 1e3;
    st.metrics.duration.get_or_create(&v).observe(seconds);
    if let Some(c) = run.cost.filter(|c| c.is_finite() && *c >= 0.0) {
        st.metrics.cost.get_or_create(&v).inc_by(c);
    }
    for (direction, n) in [("in", run.tokens_in), ("out", run.tokens_out)] {
        st.metrics
            .tokens
            .get_or_create(&TokenLabels {
                chain: run.chain.clone(),
                env: run.env.clone(),
                version: run.version.clone(),
                direction: direction.into(),
            })
            .inc_by(n);
    }
    tracing::info!(
        chain = %run.chain,
        env = %run.env,
        version = %run.version,
        run = %run.id,
        status = %run.status,
        duration_ms = run.duration_ms.unwrap_or(0),
        cost = run.cost.unwrap_or(0.0),
        "run"
    );
}
