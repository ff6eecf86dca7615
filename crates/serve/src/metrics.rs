//! `/metrics`: DESIGN.md §9's names, in the OpenMetrics text format (prometheus-client).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RunLabels {
    pub chain: String,
    pub env: String,
    pub version: String,
    pub status: String,
    pub trigger: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VersionLabels {
    pub chain: String,
    pub env: String,
    pub version: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TokenLabels {
    pub chain: String,
    pub env: String,
    pub version: String,
    pub direction: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EnvLabels {
    pub env: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChainEnvLabels {
    pub chain: String,
    pub env: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RollbackLabels {
    pub chain: String,
    pub env: String,
    pub reason: String,
}

fn duration_histogram() -> Histogram {
    // 10 ms to about 5.5 minutes.
    Histogram::new(exponential_buckets(0.01, 2.0, 16))
}

pub struct Metrics {
    registry: Registry,
    pub runs: Family<RunLabels, Counter>,
    pub duration: Family<VersionLabels, Histogram, fn() -> Histogram>,
    pub cost: Family<VersionLabels, Counter<f64, AtomicU64>>,
    pub tokens: Family<TokenLabels, Counter>,
    pub in_flight: Family<EnvLabels, Gauge>,
    pub queue_depth: Family<EnvLabels, Gauge>,
    pub schedule_skipped: Family<ChainEnvLabels, Counter>,
    pub rollbacks: Family<RollbackLabels, Counter>,
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let m = Metrics {
            runs: Family::default(),
            duration: Family::new_with_constructor(duration_histogram),
            cost: Family::default(),
            tokens: Family::default(),
            in_flight: Family::default(),
            queue_depth: Family::default(),
            schedule_skipped: Family::default(),
            rollbacks: Family::default(),
            registry: Registry::default(),
        };
        // Counters get `_total` from the encoder.
        registry.register("chainlift_runs", "Runs ended, by outcome", m.runs.clone());
        registry.register(
            "chainlift_run_duration_seconds",
            "Run duration",
            m.duration.clone(),
        );
        registry.register(
            "chainlift_run_cost_usd",
            "Provider cost of runs",
            m.cost.clone(),
        );
        registry.register("chainlift_tokens", "Tokens in and out", m.tokens.clone());
        registry.register(
            "chainlift_runs_in_flight",
            "Runs executing now",
            m.in_flight.clone(),
        );
        registry.register(
            "chainlift_queue_depth",
            "Runs accepted and waiting for a slot",
            m.queue_depth.clone(),
        );
        registry.register(
            "chainlift_schedule_skipped",
            "Schedule ticks skipped while the previous run still ran",
            m.schedule_skipped.clone(),
        );
        registry.register(
            "chainlift_rollbacks",
            "Rollbacks by reason",
            m.rollbacks.clone(),
        );
        Metrics { registry, ..m }
    }

    /// The text exposition.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
