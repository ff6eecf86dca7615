//! `schedule:` (DESIGN.md §9): a cron string (5 fields, or 6 with leading seconds) or
//! `{cron, timezone (IANA, default UTC), input (a file under the chain; default {}), missed:
//! skip | run_once}`.

use std::str::FromStr as _;

use chrono::{DateTime, Utc};
use serde_json::Value;

/// What a scheduler that was not running at a tick does when it comes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Missed {
    /// Wait for the next tick.
    #[default]
    Skip,
    /// Run once for everything missed, then go on.
    RunOnce,
}

#[derive(Debug, Clone)]
pub struct Schedule {
    /// The cron pattern as written.
    pub pattern: String,
    cron: croner::Cron,
    pub timezone: chrono_tz::Tz,
    /// The input file, relative to the chain folder; `None`: `{}`.
    pub input: Option<String>,
    pub missed: Missed,
}

impl Schedule {
    /// Parse the `schedule:` value; the error says what to write instead.
    pub fn parse(value: &Value) -> Result<Schedule, String> {
        let (pattern, tz, input, missed) = match value {
            Value::String(s) => (s.clone(), None, None, None),
            Value::Object(m) => {
                for k in m.keys() {
                    if !["cron", "timezone", "input", "missed"].contains(&k.as_str()) {
                        return Err(format!(
                            "schedule.{k} is not a field: use cron, timezone, input and missed"
                        ));
                    }
                }
                let text = |k: &str| -> Result<Option<String>, String> {
                    match m.get(k) {
                        None | Some(Value::Null) => Ok(None),
                        Some(Value::String(s)) => Ok(Some(s.clone())),
                        Some(other) => Err(format!("schedule.{k} must be text, not {other}")),
                    }
                };
                let Some(cron) = text("cron")? else {
                    return Err("schedule needs `cron:` (e.g. \"0 9 * * 1-5\")".into());
                };
                (cron, text("timezone")?, text("input")?, text("missed")?)
            }
            other => {
                return Err(format!(
                    "schedule is a cron string or {{cron, timezone, input, missed}}, not {other}"
                ))
            }
        };
        let fields = pattern.split_whitespace().count();
        if !(5..=6).contains(&fields) {
            return Err(format!(
                "schedule `{pattern}` has {fields} field(s): give 5 (minute hour day month weekday) or 6 (seconds first)"
            ));
        }
        let cron = croner::Cron::new(&pattern)
            .with_seconds_optional()
            .parse()
            .map_err(|e| format!("schedule `{pattern}` is not a cron expression: {e}"))?;
        let timezone = match tz.as_deref() {
            None => chrono_tz::UTC,
            Some(t) => chrono_tz::Tz::from_str(t).map_err(|_| {
                format!("schedule.timezone `{t}` is not an IANA zone (e.g. Europe/Paris, UTC)")
            })?,
        };
        let missed = match missed.as_deref() {
            None | Some("skip") => Missed::Skip,
            Some("run_once") => Missed::RunOnce,
            Some(other) => return Err(format!("schedule.missed `{other}`: give skip or run_once")),
        };
        if let Some(i) = &input {
            if crate::confine::relative(i).is_err() {
                return Err(format!(
                    "schedule.input `{i}` must be a relative path inside the chain folder"
                ));
            }
        }
        Ok(Schedule {
            pattern,
            cron,
            timezone,
            input,
            missed,
        })
    }

    /// The first tick strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .find_next_occurrence(&t.with_timezone(&self.timezone), false)
            .ok()
            .map(|d| d.with_timezone(&Utc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn five_or_six_fields_with_a_zone() -> Result<(), String> {
        let s = Schedule::parse(&json!("*/2 * * * * *"))?;
        let t = DateTime::parse_from_rfc3339("2026-12-02T10:00:01Z")
            .map_err(|e| e.to_string())?
            .with_timezone(&Utc);
        assert_eq!(
            s.next_after(t).map(|d| d.to_rfc3339()),
            Some("2026-12-02T10:00:02+00:00".into())
        );
        let paris = Schedule::parse(
            &json!({"cron": "0 9 * * *", "timezone": "Europe/Paris", "missed": "run_once"}),
        )?;
        assert_eq!(paris.missed, Missed::RunOnce);
        assert_eq!(
            paris.next_after(t).map(|d| d.to_rfc3339()),
            Some("2026-12-03T08:00:00+00:00".into())
        );
        for bad in [
            json!("* * *"),
            json!("61 * * * *"),
            json!({"cron": "0 9 * * *", "timezone": "Mars/Olympus"}),
            json!({"cron": "0 9 * * *", "missed": "later"}),
            json!({"cron": "0 9 * * *", "input": "../../etc/passwd"}),
            json!({"cron": "0 9 * * *", "every": 1}),
            json!(7),
        ] {
            assert!(Schedule::parse(&bad).is_err(), "{bad}");
        }
        Ok(())
    }
}
