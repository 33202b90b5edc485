//! Behaviour suite: the database pool service, on SQLite and (with
//! `DATABASE_URL`) PostgreSQL.

mod common;
mod config;
mod health;
mod lifetime;
mod migrations;
mod pool;
mod queries;
#[cfg(feature = "postgres")]
mod recovery;
mod secrets;
mod transactions;
