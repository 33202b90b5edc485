//! Behaviour suite: the database pool service, on SQLite and (with
//! `DATABASE_URL`) PostgreSQL.

mod common;
mod pool;
mod queries;
mod transactions;
