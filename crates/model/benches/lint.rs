//! Lint + resolve of a generated 500-agent chain with three envs (target < 50 ms).
//! `cargo bench -p chainlift-model --bench lint`

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use chainlift_model::lint::{lint, EnvLint, LintInput};
use chainlift_model::resolve::{resolve, ResolveInput};
use chainlift_model::{ChainDef, EnvFile, Project};
use criterion::{criterion_group, criterion_main, Criterion};

const AGENTS: usize = 500;

fn generate(dir: &Path) -> std::io::Result<()> {
    let chain_dir = dir.join("chains/big");
    std::fs::create_dir_all(chain_dir.join("config"))?;
    std::fs::create_dir_all(chain_dir.join("agents"))?;
    let mut chain = String::from("version: 1\nname: big\nsecrets: [HOOK]\nagents:\n");
    for i in 0..AGENTS {
        let _ = writeln!(
            chain,
            "  - name: agent{i}\n    model: ${{MODEL_{}}}\n    timeout: ${{AGENT_TIMEOUT}}",
            i % 5
        );
        let trigger = if i == 0 {
            "chain:start".to_string()
        } else {
            format!("step{}:done", i - 1)
        };
        let emit = if i + 1 == AGENTS {
            "chain:complete".to_string()
        } else {
            format!("step{i}:done")
        };
        let prompt = if i == 0 {
            "Start from {{ input.topic }} using {{ data.db }}".to_string()
        } else {
            format!("Continue from {{{{ events[\"step{}:done\"].output }}}} about {{{{ input.topic }}}}", i - 1)
        };
        std::fs::write(
            chain_dir.join(format!("agents/agent{i}.yaml")),
            format!("name: agent{i}\nprompt: |\n  {prompt}\ntriggers: [{trigger}]\nemits: {emit}\nmax_tokens: 500\n"),
        )?;
    }
    chain.push_str("execution: {retries: \"${RETRIES}\", concurrency: \"${CONCURRENCY}\"}\n");
    chain.push_str(
        "limits: {cost_per_run: \"${MAX_RUN}\", cost_per_day: \"${MAX_DAY}\", max_rounds: 3}\n",
    );
    chain.push_str("notify: {slack: \"${HOOK}\"}\ndata: {db: \"${DATABASE_URL}\"}\n");
    std::fs::write(chain_dir.join("chain.yaml"), chain)?;
    for (env, timeout, retries, host) in [
        ("dev", 300, 0, "localhost"),
        ("staging", 120, 2, "staging-db"),
        ("production", 60, 3, "prod-db"),
    ] {
        let mut text = String::new();
        for m in 0..5 {
            let _ = writeln!(text, "MODEL_{m}=claude-sonnet");
        }
        let _ = write!(
            text,
            "AGENT_TIMEOUT={timeout}\nRETRIES={retries}\nCONCURRENCY=4\nMAX_RUN=1\nMAX_DAY=10\nDATABASE_URL=postgres://{host}:5432/{env}\n"
        );
        std::fs::write(chain_dir.join(format!("config/{env}.env")), text)?;
    }
    Ok(())
}

fn lint_all(root: &Path) -> usize {
    let project = Project::open(root).expect("project opens");
    let chain = ChainDef::load(&root.join("chains/big")).expect("chain loads");
    let none = BTreeMap::new();
    let envs: Vec<EnvLint> = project
        .environments()
        .into_iter()
        .map(|name| {
            let file = EnvFile::load(&chain.dir.join(format!("config/{name}.env"))).ok();
            let input = ResolveInput {
                project: &project,
                chain: &chain,
                env: &name,
                env_file: file.as_ref(),
                vars: &none,
                flags: &none,
            };
            let resolved = resolve(&input);
            EnvLint {
                name,
                file,
                resolved,
                report: true,
            }
        })
        .collect();
    let set = |_: &str, _: &str| true;
    let lints = lint(&LintInput {
        project: &project,
        chain: &chain,
        envs: &envs,
        secret_is_set: &set,
        secret_hash: &|_, _| None,
    });
    assert!(lints.is_empty(), "the generated chain is clean: {lints:?}");
    lints.len()
}

fn bench(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("temp dir");
    generate(tmp.path()).expect("generate the chain");
    c.bench_function("parse + resolve x3 + lint, 500 agents", |b| {
        b.iter(|| lint_all(tmp.path()))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
