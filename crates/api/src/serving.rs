//! What `chainlift serve` needs from the api beyond running chains (DESIGN.md §9): its token,
//! the deployment a request runs, idempotency keys, a readiness probe.

use chainlift_model::secret::SecretValue;
use chainlift_model::Project;
use chainlift_secrets::account;

use crate::{ApiError, Chainlift, ErrorCode, Result};

/// The secret holding an env's serve token.
pub const SERVE_TOKEN: &str = "CHAINLIFT_SERVE_TOKEN";

/// How long an idempotency key names its first run.
const IDEMPOTENCY_HOURS: i64 = 24;

/// The version a request to (chain, env) runs.
#[derive(Debug, Clone)]
pub struct Deployed {
    /// Its tag, else 12 hex of its hash.
    pub label: String,
    /// The chain's `input.schema` in that version, parsed.
    pub input_schema: Option<serde_json::Value>,
    /// The version's `schedule:` as written.
    pub schedule: Option<serde_json::Value>,
    /// The version's verified copy (its schedule's input file is read from there).
    pub dir: std::path::PathBuf,
}

/// What a lease holder says of itself at each renewal (shown on the app's Home).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaseStats {
    pub listen: String,
    /// Run requests accepted in the last minute.
    pub requests_per_min: u32,
    /// Runs accepted and not ended (queued or running).
    pub in_flight: u32,
    /// The newest error (a run that did not complete, or a request the server failed), when.
    pub last_error: Option<(String, chrono::DateTime<chrono::Utc>)>,
}

/// The longest last error kept on a lease row.
const LAST_ERROR_CHARS: usize = 300;

/// Who holds an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This request: it records the run under the id it offered.
    Mine,
    /// An earlier request: its run id.
    Theirs(String),
}

impl Chainlift {
    /// The env's serve token (keychain, or the process variable with `CHAINLIFT_SECRETS=env`).
    pub async fn serve_token(&self, project: &Project, env: &str) -> Result<Option<SecretValue>> {
        Ok(self
            .secrets
            .get(&account(&project.id, env, SERVE_TOKEN), SERVE_TOKEN)
            .await?
            .filter(|t| !t.expose().is_empty()))
    }

    /// Generate a serve token for an env, store it as its `CHAINLIFT_SERVE_TOKEN` secret and
    /// return it (the only time it is shown).
    pub async fn serve_token_set(&self, args: &crate::SecretArgs) -> Result<SecretValue> {
        let token = SecretValue::new(format!("clt_{}", crate::secrets::random_hex("token")?));
        self.secret_set(args, SERVE_TOKEN, &token).await?;
        Ok(token)
    }

    /// The database answers (serve's `/readyz`).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// The version deployed to (chain, env), if any: its label and its input schema (from the
    /// version's own verified copy), so a request is checked against what will run.
    pub async fn deployed(
        &self,
        project: &Project,
        chain: &str,
        env: &str,
    ) -> Result<Option<Deployed>> {
        let Some(d) =
            chainlift_store::deployments::current(&self.pool, &project.id, chain, env).await?
        else {
            return Ok(None);
        };
        let v = chainlift_store::versions::get(&self.pool, d.version_id)
            .await?
            .ok_or_else(|| ApiError::new(ErrorCode::Internal, "the deployed version is missing"))?;
        let dir = self.materialize(project, &v).await?;
        let def = self.chain_at(&dir)?;
        let input_schema = match &def.input_schema {
            Some(rel) => {
                let path = def.path(rel)?;
                let bytes = crate::runs::read_bounded(&path, "input schema")?;
                Some(serde_json::from_slice(&bytes).map_err(|e| {
                    ApiError::new(
                        ErrorCode::BadInput,
                        format!("{}: the input schema is not JSON: {e}", path.display()),
                    )
                })?)
            }
            None => None,
        };
        Ok(Some(Deployed {
            label: crate::history::label(&v),
            input_schema,
            schedule: def.schedule.clone(),
            dir,
        }))
    }

    /// The chain an entry point runs in `env` now: its flag as the env has it at this moment
    /// (DESIGN.md §9), so a flag flip by any process applies to the next request.
    pub async fn entrypoint_chain(
        &self,
        project: &Project,
        name: &str,
        env: &str,
    ) -> Result<String> {
        let flags = self.flag_values(project, env).await?;
        Ok(project.entrypoint_chain(name, &flags)?)
    }

    /// Claim an idempotency key for `run_id`, or learn which run holds it. Keys older than a
    /// day are forgotten first. One statement under the key's primary key: of any number of
    /// concurrent claims, one wins.
    pub async fn claim_idempotency(
        &self,
        project: &Project,
        key: &str,
        run_id: &str,
    ) -> Result<Claim> {
        let now = self.clock.now();
        let expired = (now - chrono::Duration::hours(IDEMPOTENCY_HOURS)).to_rfc3339();
        let mut tx = chainlift_store::begin_write(&self.pool).await?;
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE project = $1 AND key = $2 AND created_at < $3",
        )
        .bind(&project.id)
        .bind(key)
        .bind(&expired)
        .execute(&mut *tx)
        .await?;
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (project, key, run_id, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (project, key) DO NOTHING",
        )
        .bind(&project.id)
        .bind(key)
        .bind(run_id)
        .bind(now.to_rfc3339())
        .execute(&mut *tx)
        .await?;
        let claim = if inserted.rows_affected() == 1 {
            Claim::Mine
        } else {
            let holder: String = sqlx::query_scalar(
                "SELECT run_id FROM idempotency_keys WHERE project = $1 AND key = $2",
            )
            .bind(&project.id)
            .bind(key)
            .fetch_one(&mut *tx)
            .await?;
            Claim::Theirs(holder)
        };
        tx.commit().await?;
        Ok(claim)
    }

    /// Give a key back when its request was refused before a run was recorded.
    pub async fn release_idempotency(
        &self,
        project: &Project,
        key: &str,
        run_id: &str,
    ) -> Result<()> {
        sqlx::query("DELETE FROM idempotency_keys WHERE project = $1 AND key = $2 AND run_id = $3")
            .bind(&project.id)
            .bind(key)
            .bind(run_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Whether a run with this id is recorded yet.
    pub async fn run_exists(&self, id: &str) -> Result<bool> {
        Ok(chainlift_store::runs::get(&self.pool, id).await?.is_some())
    }

    /// Take or renew the scheduler lease of an env for `holder` (compare-and-swap inside one
    /// IMMEDIATE transaction): true while this holder has it.
    pub async fn lease(
        &self,
        project: &Project,
        env: &str,
        holder: &str,
        ttl: std::time::Duration,
        stats: &LeaseStats,
    ) -> Result<bool> {
        let now = self.clock.now();
        let expires = now
            + chrono::Duration::from_std(ttl).map_err(|e| {
                ApiError::new(ErrorCode::BadInput, format!("lease time {ttl:?}: {e}"))
            })?;
        let mut tx = chainlift_store::begin_write(&self.pool).await?;
        let current: Option<(String, String)> = sqlx::query_as(
            "SELECT holder, expires_at FROM serve_leases WHERE project = $1 AND env = $2",
        )
        .bind(&project.id)
        .bind(env)
        .fetch_optional(&mut *tx)
        .await?;
        let free = match &current {
            None => true,
            Some((h, _)) if h == holder => true,
            Some((_, until)) => chrono::DateTime::parse_from_rfc3339(until)
                .map(|t| t < now)
                .unwrap_or(true), // an unreadable expiry is no claim on the lease
        };
        if free {
            let renewing = current.as_ref().is_some_and(|(h, _)| h == holder);
            let (error, error_at) = match &stats.last_error {
                Some((e, at)) => (
                    Some(e.chars().take(LAST_ERROR_CHARS).collect::<String>()),
                    Some(at.to_rfc3339()),
                ),
                None => (None, None),
            };
            sqlx::query(
                "INSERT INTO serve_leases (project, env, holder, acquired_at, expires_at, listen,
                   renewed_at, requests_per_min, in_flight, last_error, last_error_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                 ON CONFLICT (project, env) DO UPDATE SET holder = excluded.holder,
                   expires_at = excluded.expires_at, listen = excluded.listen,
                   renewed_at = excluded.renewed_at, requests_per_min = excluded.requests_per_min,
                   in_flight = excluded.in_flight, last_error = excluded.last_error,
                   last_error_at = excluded.last_error_at,
                   acquired_at = CASE WHEN $12 THEN serve_leases.acquired_at ELSE excluded.acquired_at END",
            )
            .bind(&project.id)
            .bind(env)
            .bind(holder)
            .bind(now.to_rfc3339())
            .bind(expires.to_rfc3339())
            .bind(&stats.listen)
            .bind(now.to_rfc3339())
            .bind(i64::from(stats.requests_per_min))
            .bind(i64::from(stats.in_flight))
            .bind(error)
            .bind(error_at)
            .bind(renewing)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(free)
    }

    /// The serve process holding each env of the project, from its lease row, newest first;
    /// `live` false when the lease expired unrenewed (a process that crashed or hangs).
    pub async fn serve_status(
        &self,
        project: &Project,
    ) -> Result<Vec<crate::dto::ServeStatusView>> {
        type Row = (
            String,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            i64,
            i64,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT env, holder, acquired_at, expires_at, listen, renewed_at, requests_per_min,
                    in_flight, last_error, last_error_at
             FROM serve_leases WHERE project = $1 ORDER BY env",
        )
        .bind(&project.id)
        .fetch_all(&self.pool)
        .await?;
        let now = self.clock.now();
        let envs = project.environments();
        let mut out: Vec<crate::dto::ServeStatusView> = rows
            .into_iter()
            .map(
                |(
                    env,
                    holder,
                    since,
                    expires_at,
                    listen,
                    renewed_at,
                    rpm,
                    in_flight,
                    last_error,
                    last_error_at,
                )| {
                    // `host/pid/nonce` (serve's holder name); a host name may hold no `/`.
                    let mut parts = holder.rsplitn(3, '/');
                    let _nonce = parts.next();
                    let pid = parts.next().and_then(|p| p.parse::<u32>().ok());
                    let host = parts.next().unwrap_or(&holder).to_string();
                    let live =
                        chrono::DateTime::parse_from_rfc3339(&expires_at).is_ok_and(|t| t > now);
                    crate::dto::ServeStatusView {
                        env,
                        host,
                        pid,
                        listen,
                        since,
                        renewed_at,
                        expires_at,
                        live,
                        requests_per_min: u32::try_from(rpm).unwrap_or(u32::MAX),
                        in_flight: u32::try_from(in_flight).unwrap_or(u32::MAX),
                        last_error,
                        last_error_at,
                    }
                },
            )
            .collect();
        // In promotion order, as Home lists the envs.
        out.sort_by_key(|s| envs.iter().position(|e| *e == s.env).unwrap_or(usize::MAX));
        Ok(out)
    }

    /// The change feed: one cheap read of three numbers, moved by triggers in every write
    /// transaction that changes runs, the history, or a serve lease's holder or figures.
    pub async fn changes(&self) -> Result<crate::dto::ChangeFeed> {
        let rows: Vec<(String, i64)> = sqlx::query_as("SELECT topic, seq FROM change_feed")
            .fetch_all(&self.pool)
            .await?;
        let get = |t: &str| rows.iter().find(|(n, _)| n == t).map_or(0, |(_, s)| *s);
        Ok(crate::dto::ChangeFeed {
            runs: get("runs"),
            history: get("history"),
            serve: get("serve"),
        })
    }

    /// Give the lease up (a draining serve), so another process schedules at once.
    pub async fn release_lease(&self, project: &Project, env: &str, holder: &str) -> Result<()> {
        sqlx::query("DELETE FROM serve_leases WHERE project = $1 AND env = $2 AND holder = $3")
            .bind(&project.id)
            .bind(env)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The last tick handled for (chain, env), if any.
    pub async fn last_tick(
        &self,
        project: &Project,
        chain: &str,
        env: &str,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
        let t: Option<String> = sqlx::query_scalar(
            "SELECT last_tick FROM schedule_ticks WHERE project = $1 AND chain = $2 AND env = $3",
        )
        .bind(&project.id)
        .bind(chain)
        .bind(env)
        .fetch_optional(&self.pool)
        .await?;
        t.map(|t| {
            chrono::DateTime::parse_from_rfc3339(&t)
                .map(|d| d.with_timezone(&chrono::Utc))
                .map_err(|e| {
                    ApiError::new(
                        ErrorCode::Internal,
                        format!("schedule_ticks holds an unreadable time `{t}`: {e}"),
                    )
                })
        })
        .transpose()
    }

    pub async fn set_tick(
        &self,
        project: &Project,
        chain: &str,
        env: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO schedule_ticks (project, chain, env, last_tick) VALUES ($1, $2, $3, $4)
             ON CONFLICT (project, chain, env) DO UPDATE SET last_tick = excluded.last_tick",
        )
        .bind(&project.id)
        .bind(chain)
        .bind(env)
        .bind(at.to_rfc3339())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Whether a scheduled run of (chain, env) is still queued or running (no overlap).
    pub async fn scheduled_run_live(
        &self,
        project: &Project,
        chain: &str,
        env: &str,
    ) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM runs WHERE project = $1 AND chain = $2 AND env = $3
             AND triggered_by = 'schedule' AND status IN ('queued', 'running')",
        )
        .bind(&project.id)
        .bind(chain)
        .bind(env)
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }

    /// DESIGN.md §9: a run that did not complete posts to the env's `notify` targets; a
    /// completed one too where `notify.on` lists `completion` (chain, version, status, cost and
    /// the first 1,000 characters of the output). Warnings come back, never naming a target.
    pub async fn notify_run(
        &self,
        at: &crate::ProjectArgs,
        run: &crate::dto::RunView,
    ) -> Vec<String> {
        use chainlift_model::chain::NotifyOn;
        let Ok((project, chain)) = self.chain_shared(at).await else {
            return vec![];
        };
        let completed = run.status == chainlift_model::lifecycle::RunStatus::Completed;
        let wanted = if completed {
            NotifyOn::Completion
        } else {
            NotifyOn::Failure
        };
        if !chain.notify_on.contains(&wanted) {
            return vec![];
        }
        let cost = run.cost.map_or("n/a".to_string(), |c| format!("${c:.4}"));
        let mut text = format!(
            "Chainlift: {} {} in {} {} ({}, cost {cost}, run {})",
            run.chain,
            run.version,
            run.env,
            run.status,
            run.trigger.as_str(),
            run.id
        );
        let detail = if completed {
            run.output_preview.as_deref()
        } else {
            run.error.as_deref()
        };
        if let Some(d) = detail {
            text.push('\n');
            text.extend(d.chars().take(1000));
        }
        self.notify(&project, &chain, &run.env, &text).await
    }
}
