//! JUnit XML for CI systems: one test case per gate.

use crate::report::{GateReport, GateStatus};

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn render(suite: &str, reports: &[GateReport]) -> String {
    let failures = reports
        .iter()
        .filter(|r| r.status == GateStatus::Failed)
        .count();
    let skipped = reports
        .iter()
        .filter(|r| r.status == GateStatus::Skipped)
        .count();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\">\n",
        escape(suite),
        reports.len()
    );
    for r in reports {
        xml.push_str(&format!(
            "  <testcase classname=\"chainlift.gates\" name=\"{}\">\n",
            escape(&r.gate)
        ));
        let body: Vec<String> = r
            .evidence
            .iter()
            .map(|e| {
                format!(
                    "[{}] {}: {}",
                    if e.ok { "ok" } else { "FAIL" },
                    e.check,
                    e.detail
                )
            })
            .collect();
        match r.status {
            GateStatus::Failed => xml.push_str(&format!(
                "    <failure message=\"{}\">{}</failure>\n",
                escape(&r.summary),
                escape(&body.join("\n"))
            )),
            GateStatus::Skipped => xml.push_str(&format!(
                "    <skipped message=\"{}\"/>\n",
                escape(&r.summary)
            )),
            _ => xml.push_str(&format!(
                "    <system-out>{}</system-out>\n",
                escape(&format!("{}\n{}", r.summary, body.join("\n")))
            )),
        }
        xml.push_str("  </testcase>\n");
    }
    xml.push_str("</testsuite>\n");
    xml
}
