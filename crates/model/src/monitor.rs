//! An env's watch policy (`monitor:` in chainlift.yaml, DESIGN.md §10) and canary routing.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// What an env watches after a deploy, every value bounded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitorPolicy {
    /// The watch after the full switch.
    #[serde(with = "secs")]
    pub window: Duration,
    /// One analysis per interval.
    #[serde(with = "secs")]
    pub interval: Duration,
    pub min_runs: u32,
    pub max_failure_rate: f64,
    pub max_cost_ratio: f64,
    pub max_latency_ratio: f64,
    pub quality_sample: f64,
    /// `None`: the quality gate's `min_average`.
    pub min_quality: Option<f64>,
    /// Canary weights before the full switch, increasing, each in 1..=99.
    pub steps: Vec<u8>,
    #[serde(with = "secs")]
    pub step_for: Duration,
    pub inconclusive: Inconclusive,
}

/// What the end of a window whose latest analysis was inconclusive does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Inconclusive {
    Pause,
    Promote,
    Rollback,
}

mod secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_secs(u64::deserialize(d)?))
    }
}

/// The longest window or step (a month): anything longer is a typo.
const LONGEST: Duration = Duration::from_secs(31 * 24 * 3600);

/// `30s`, `5m`, `1h`, `2d`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let (num, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let n: u64 = num.parse().ok()?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    let d = Duration::from_secs(n.checked_mul(mult)?);
    (d <= LONGEST).then_some(d)
}

impl MonitorPolicy {
    /// The policy `monitor:` writes, with DESIGN.md §10's defaults; an error names the key and
    /// what it takes.
    pub fn parse(value: &Value) -> Result<MonitorPolicy, String> {
        let map = value
            .as_object()
            .ok_or("`monitor:` takes a map (window, interval, max_failure_rate, …)")?;
        let duration = |key: &str, default: Duration| -> Result<Duration, String> {
            match map.get(key) {
                None | Some(Value::Null) => Ok(default),
                Some(v) => {
                    let text = match v {
                        Value::String(s) => s.clone(),
                        Value::Number(n) => n.to_string(),
                        _ => String::new(),
                    };
                    match parse_duration(&text) {
                        Some(d) if !d.is_zero() => Ok(d),
                        _ => Err(format!(
                            "monitor.{key}: `{text}` is not a duration: write e.g. 30s, 5m, 1h or 2d (at most 31d)"
                        )),
                    }
                }
            }
        };
        let number = |key: &str, default: f64, lo: f64, hi: f64| -> Result<f64, String> {
            match map.get(key) {
                None | Some(Value::Null) => Ok(default),
                Some(v) => match v.as_f64() {
                    Some(x) if x.is_finite() && (lo..=hi).contains(&x) => Ok(x),
                    _ => Err(format!(
                        "monitor.{key}: `{v}` is out of range: write a number from {lo} to {hi}"
                    )),
                },
            }
        };
        let window = duration("window", Duration::from_secs(24 * 3600))?;
        let interval = duration("interval", Duration::from_secs(300))?;
        if interval > window {
            return Err(format!(
                "monitor.interval ({}s) is longer than monitor.window ({}s): an interval must fit in the window",
                interval.as_secs(),
                window.as_secs()
            ));
        }
        let min_runs = number("min_runs", 20.0, 1.0, 1_000_000.0)?;
        let steps = match map.get("steps") {
            None | Some(Value::Null) => vec![],
            Some(Value::Array(items)) => {
                let mut out: Vec<u8> = Vec::new();
                for item in items {
                    let w = item
                        .as_u64()
                        .filter(|w| (1..=99).contains(w))
                        .ok_or_else(|| format!("monitor.steps: `{item}` is not a weight: write percents from 1 to 99, e.g. [10, 50]"))?;
                    let w = w as u8;
                    if out.last().is_some_and(|&last| last >= w) {
                        return Err("monitor.steps: weights must increase, e.g. [10, 50]".into());
                    }
                    out.push(w);
                }
                out
            }
            Some(other) => {
                return Err(format!(
                    "monitor.steps: `{other}` is not a list: write e.g. [10, 50]"
                ))
            }
        };
        let step_for = duration("step_for", interval.saturating_mul(3).min(LONGEST))?;
        let inconclusive = match map.get("inconclusive") {
            None | Some(Value::Null) => Inconclusive::Pause,
            Some(v) => match v.as_str() {
                Some("pause") => Inconclusive::Pause,
                Some("promote") => Inconclusive::Promote,
                Some("rollback") => Inconclusive::Rollback,
                _ => {
                    return Err(format!(
                        "monitor.inconclusive: `{v}` is not one of pause, promote, rollback"
                    ))
                }
            },
        };
        Ok(MonitorPolicy {
            window,
            interval,
            min_runs: min_runs as u32,
            max_failure_rate: number("max_failure_rate", 0.1, 0.0, 1.0)?,
            max_cost_ratio: number("max_cost_ratio", 1.5, 0.01, 1000.0)?,
            max_latency_ratio: number("max_latency_ratio", 2.0, 0.01, 1000.0)?,
            quality_sample: number("quality_sample", 0.0, 0.0, 1.0)?,
            min_quality: match map.get("min_quality") {
                None | Some(Value::Null) => None,
                Some(_) => Some(number("min_quality", 4.0, 0.0, 5.0)?),
            },
            steps,
            step_for,
            inconclusive,
        })
    }
}

/// A request's routing bucket (DESIGN.md §10): the first 8 bytes of SHA-256 of its key as a
/// big-endian integer, mod 100. Below the candidate's weight → the candidate.
pub fn bucket(key: &str) -> u8 {
    let digest = Sha256::digest(key.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(first) % 100) as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_are_designs() {
        let p = MonitorPolicy::parse(&json!({})).expect("empty map");
        assert_eq!(p.window, Duration::from_secs(86_400));
        assert_eq!(p.interval, Duration::from_secs(300));
        assert_eq!(p.min_runs, 20);
        assert_eq!(p.max_failure_rate, 0.1);
        assert_eq!(p.max_cost_ratio, 1.5);
        assert_eq!(p.max_latency_ratio, 2.0);
        assert_eq!(p.quality_sample, 0.0);
        assert_eq!(p.min_quality, None);
        assert!(p.steps.is_empty());
        assert_eq!(p.step_for, Duration::from_secs(900));
        assert_eq!(p.inconclusive, Inconclusive::Pause);
    }

    #[test]
    fn values_are_read_and_bounded() {
        let p = MonitorPolicy::parse(&json!({"window": "20s", "interval": "2s", "steps": [10, 50], "min_runs": 3, "inconclusive": "promote"})).expect("valid");
        assert_eq!(p.window, Duration::from_secs(20));
        assert_eq!(p.step_for, Duration::from_secs(6));
        assert_eq!(p.steps, vec![10, 50]);
        for (bad, says) in [
            (json!({"window": "forever"}), "monitor.window"),
            (json!({"window": "99999999999999999999d"}), "monitor.window"),
            (json!({"window": "40d"}), "monitor.window"),
            (json!({"interval": "0s"}), "monitor.interval"),
            (json!({"window": "1m", "interval": "5m"}), "longer than"),
            (json!({"max_failure_rate": 1.5}), "monitor.max_failure_rate"),
            (json!({"max_cost_ratio": "x"}), "monitor.max_cost_ratio"),
            (json!({"steps": [50, 10]}), "must increase"),
            (json!({"steps": [0]}), "monitor.steps"),
            (json!({"steps": [100]}), "monitor.steps"),
            (json!({"steps": "10"}), "not a list"),
            (json!({"inconclusive": "shrug"}), "monitor.inconclusive"),
            (json!([1]), "takes a map"),
        ] {
            let err = MonitorPolicy::parse(&bad).expect_err(&bad.to_string());
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    /// Pinned so that other implementations of DESIGN.md §10's hash agree key by key.
    #[test]
    fn buckets_are_pinned() {
        let pinned: Vec<(String, u8)> = ["alice", "bob", "customer-42", ""]
            .iter()
            .map(|k| (k.to_string(), bucket(k)))
            .collect();
        // SHA-256("alice")[..8] = 2bd806c97f0e00af, as a big-endian u64 mod 100 = 7 (Python's
        // hashlib agrees: int.from_bytes(sha256(b"alice").digest()[:8], "big") % 100).
        assert_eq!(
            pinned,
            vec![
                ("alice".into(), PIN[0]),
                ("bob".into(), PIN[1]),
                ("customer-42".into(), PIN[2]),
                ("".into(), PIN[3]),
            ]
        );
    }

    const PIN: [u8; 4] = [7, 50, 69, 52];

    #[test]
    fn ten_thousand_keys_split_by_weight() {
        let to_candidate = (0..10_000)
            .filter(|i| bucket(&format!("user-{i}")) < 10)
            .count();
        assert!(
            (900..=1100).contains(&to_candidate),
            "{to_candidate} of 10000"
        );
    }
}
