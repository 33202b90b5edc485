//! The database service: migrations in the start hook, a transaction, and
//! the pool's figures in the health registry.
//!
//! ```text
//! cargo run --example db --features db                      # in-memory SQLite
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//!     cargo run --example db --features postgres             # PostgreSQL
//! ```

use servitor::db::sqlx::{Decode, Type};
use servitor::db::{Backend, Db, DbConfig, DbError, Migrations, Tx, Value};
use servitor::{Runtime, Supervisor};
use std::time::Duration;

/// The schema, as versioned migrations (the same SQL on both backends).
fn migrations() -> Migrations {
    Migrations::new()
        .add(
            1,
            "create accounts",
            "CREATE TABLE accounts (id BIGINT PRIMARY KEY, owner TEXT NOT NULL, balance BIGINT NOT NULL CHECK (balance >= 0))",
        )
        .add(
            2,
            "seed accounts",
            "INSERT INTO accounts VALUES (1, 'ada', 100), (2, 'grace', 20)",
        )
}

/// Moves `amount` between two accounts: both updates or neither.
async fn transfer<B: Backend>(db: &Db<B>, from: i64, to: i64, amount: i64) -> Result<(), DbError>
where
    i64: Value<B>,
{
    db.transaction(async |tx: &mut Tx<B>| {
        tx.execute(
            "UPDATE accounts SET balance = balance - $1 WHERE id = $2",
            (amount, from),
        )
        .await?;
        tx.execute(
            "UPDATE accounts SET balance = balance + $1 WHERE id = $2",
            (amount, to),
        )
        .await?;
        Ok(())
    })
    .await
}

async fn run<B: Backend>(config: DbConfig) -> Result<(), Box<dyn std::error::Error>>
where
    i64: Value<B> + for<'r> Decode<'r, B> + Type<B>,
    String: for<'r> Decode<'r, B> + Type<B>,
    usize: servitor::db::sqlx::ColumnIndex<B::Row>,
{
    let (spec, db) = Db::<B>::builder("accounts-db")
        .config(config)
        .migrations(migrations())
        .build()?;
    let app = Runtime::start(Supervisor::builder("app").child(spec).build()?).await?;
    println!("{} database at {}", db.backend(), db.url());

    transfer(&db, 1, 2, 30).await?;
    // Too much: the CHECK fails, and the first update is rolled back too.
    let refused = transfer(&db, 2, 1, 500).await;
    println!("overdraft refused: {}", refused.is_err());

    let balances: Vec<(String, i64)> = db
        .fetch_all("SELECT owner, balance FROM accounts ORDER BY id", ())
        .await?;
    println!("balances: {balances:?}");
    for m in db.applied_migrations().await? {
        println!(
            "migration {} ({}) applied at {} in {:?}",
            m.version, m.name, m.applied_at, m.duration
        );
    }

    db.checked().await?; // one health check with these figures in it
    let health = app.registry().get("accounts-db").expect("registered");
    println!(
        "health: {:?}\n{}",
        health.status,
        serde_json::to_string_pretty(&health.details)?
    );
    app.shutdown().await?;
    Ok(())
}

#[actix_rt::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let fast = |config: DbConfig| DbConfig {
        health_interval: Duration::from_millis(200),
        ..config
    };
    match std::env::var("DATABASE_URL") {
        #[cfg(feature = "postgres")]
        Ok(url) => {
            // A schema of its own, so the example can run again and again.
            use servitor::db::sqlx::{Connection, Executor};
            let mut admin = servitor::db::sqlx::postgres::PgConnection::connect(&url).await?;
            admin
                .execute("DROP SCHEMA IF EXISTS servitor_example CASCADE; CREATE SCHEMA servitor_example")
                .await?;
            let sep = if url.contains('?') { '&' } else { '?' };
            let url = format!("{url}{sep}options[search_path]=servitor_example");
            run::<servitor::db::Postgres>(fast(DbConfig::url(url))).await
        }
        #[cfg(not(feature = "postgres"))]
        Ok(_) => Err("DATABASE_URL is set: build with `--features postgres` to use it".into()),
        Err(_) => run::<servitor::db::Sqlite>(fast(DbConfig::default())).await,
    }
}
