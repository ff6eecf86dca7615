//! `chainlift db status | migrate | copy --to URL` (DESIGN.md §11).

use chainlift_api::{database, ApiError, ErrorCode, Result};
use chainlift_store::{Engine, Location};

use crate::args::DbCommand;
use crate::render::print_json;

pub(crate) async fn run(action: &DbCommand, json: bool) -> Result<u8> {
    let data_dir = chainlift_api::default_data_dir()?;
    let location = database::location(&data_dir)?;
    match action {
        DbCommand::Status => {
            // A PostgreSQL history is looked at as it is; the SQLite file is brought up to date
            // on opening, as every command does.
            let pool = match &location {
                Location::Postgres(url) => {
                    chainlift_store::connect_postgres_unmigrated(url).await?
                }
                Location::Sqlite(path) => chainlift_store::open(path).await?,
            };
            let view = database::view(&pool, &location).await?;
            if json {
                print_json(&view);
            } else {
                println!("{} {}", view.engine, view.location);
                if view.pending.is_empty() {
                    println!("schema {} (current)", view.schema);
                } else {
                    println!(
                        "schema {} of {}: {} migration(s) pending (`chainlift db migrate`):",
                        view.schema,
                        view.latest,
                        view.pending.len()
                    );
                    for m in &view.pending {
                        println!("  {m}");
                    }
                }
            }
            Ok(0)
        }
        DbCommand::Migrate => {
            let pool = chainlift_store::open_location(&location).await?;
            let view = database::view(&pool, &location).await?;
            if json {
                print_json(&view);
            } else {
                println!(
                    "{} {}: schema {} (current)",
                    view.engine, view.location, view.schema
                );
            }
            Ok(0)
        }
        DbCommand::Copy { to } => {
            let target = Location::from_url(to)
                .map_err(|e| ApiError::new(ErrorCode::BadInput, format!("--to: {e}")))?;
            if target == location {
                return Err(ApiError::new(
                    ErrorCode::BadInput,
                    "--to names the history that is open: copy into another database",
                ));
            }
            let from = chainlift_store::open_location(&location).await?;
            let dest = chainlift_store::open_location(&target).await?;
            let copied = chainlift_store::copy::copy(&from, &dest)
                .await
                .map_err(|e| match e {
                    chainlift_store::StoreError::NotEmpty(why) => ApiError::new(
                        ErrorCode::BadInput,
                        format!("--to {}: {why}", target.display()),
                    ),
                    other => ApiError::from(other),
                })?;
            // This machine's folders keep their project ids on the shared history.
            if location.engine() == Engine::Sqlite {
                chainlift_store::projects::adopt(&dest, &chainlift_api::host_name()).await?;
            }
            // The copy's chain is walked from its first row; its head must be the source's.
            let (rows, problem) = chainlift_store::audit::verify(&dest, None).await?;
            let source_head = chainlift_store::audit::last_seq(&from).await?;
            let problem = problem.or_else(|| {
                (rows as i64 != source_head).then(|| {
                    format!("the copy's audit log has {rows} rows, the source's {source_head}")
                })
            });
            if json {
                let tables: serde_json::Map<String, serde_json::Value> = copied
                    .iter()
                    .map(|(t, n)| (t.to_string(), (*n).into()))
                    .collect();
                print_json(&serde_json::json!({
                    "from": location.display(),
                    "to": target.display(),
                    "tables": tables,
                    "audit": { "rows": rows, "ok": problem.is_none(), "problem": problem },
                }));
            } else {
                println!(
                    "copied {} into {} {}:",
                    location.display(),
                    Engine::Postgres.name(),
                    target.display()
                );
                for (t, n) in &copied {
                    println!("  {t:<18} {n}");
                }
                match &problem {
                    None => println!("audit chain verified on the copy: {rows} rows"),
                    Some(p) => println!("audit chain on the copy is BROKEN: {p}"),
                }
            }
            Ok(if problem.is_none() { 0 } else { 1 })
        }
    }
}
