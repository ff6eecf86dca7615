//! The editor's YAML edits on a 500-agent chain.yaml: set one agent's field (find the entry,
//! replace its lines, reparse to prove nothing else changed), and append an agent.
//! `cargo bench -p chainlift-model --bench edit`

use std::fmt::Write;

use chainlift_model::yamledit::{self, NewValue};
use criterion::{criterion_group, criterion_main, Criterion};

const AGENTS: usize = 500;

fn chain_yaml() -> String {
    let mut chain = String::from("# A generated chain\nversion: 1\nname: big\nagents:\n");
    for i in 0..AGENTS {
        let _ = writeln!(
            chain,
            "  # agent {i}\n  - name: agent{i}\n    model: ${{MODEL}}  # per env\n    timeout: ${{AGENT_TIMEOUT}}"
        );
    }
    chain.push_str("output: {from: agent0}\n");
    chain
}

fn bench(c: &mut Criterion) {
    let text = chain_yaml();
    let last = format!("agent{}", AGENTS - 1);
    c.bench_function("set a field of the last of 500 agents", |b| {
        b.iter(|| {
            let Some((idx, block)) = yamledit::find_item(&text, "agents", &last) else {
                return;
            };
            let value = NewValue::Text("gpt-5.4-mini".into());
            let out = yamledit::set_key(
                &text,
                block,
                &format!("/agents/{idx}"),
                "model",
                Some(&value),
            );
            assert!(out.is_ok());
        })
    });
    c.bench_function("append an agent to 500", |b| {
        b.iter(|| assert!(yamledit::append_item(&text, "agents", "new-agent").is_ok()))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
