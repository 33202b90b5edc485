//! The queue's tables and the statements that work on them, built once per
//! service from its table prefix (checked to be a plain identifier, so it
//! is safe to splice).
//!
//! One table holds every task of every queue sharing the prefix. A task's
//! row moves `pending → running → completed | failed | timed_out |
//! cancelled | dead`, back to `pending` for a retry or when its lease ran
//! out. Two partial indexes keep the claim and the lease sweep on the rows
//! they look at: ready tasks in claim order, running tasks by lease end.

use crate::db::Migrations;
use sqlx::AssertSqlSafe;
use std::sync::Arc;

/// A statement, cheap to hand to the driver again and again.
#[derive(Debug)]
pub(crate) struct Sql(Arc<str>);

impl Sql {
    /// The statement for the driver (built from a checked identifier).
    pub fn q(&self) -> AssertSqlSafe<Arc<str>> {
        AssertSqlSafe(self.0.clone())
    }
}

fn sql(s: String) -> Sql {
    Sql(Arc::from(s))
}

/// The columns a [`TaskInfo`](crate::tasks::TaskInfo) is made from, in
/// [`Row`](super::store::InfoRow) order.
const INFO_COLUMNS: &str = "id, handler, status, priority, attempts, result::text, error, \
     unique_key, EXTRACT(EPOCH FROM (now() - submitted_at))::float8, \
     EXTRACT(EPOCH FROM (now() - finished_at))::float8";

/// The statements of one queue's tables.
#[derive(Debug)]
pub(crate) struct Statements {
    pub tasks_table: String,
    pub migrations_table: String,
    pub enqueue: Sql,
    pub enqueue_unique: Sql,
    pub find_unique: Sql,
    pub claim: Sql,
    pub renew: Sql,
    pub complete: Sql,
    pub retry: Sql,
    pub finish: Sql,
    pub expire: Sql,
    pub get: Sql,
    pub list: Sql,
    pub cancel_pending: Sql,
    pub cancel_running: Sql,
    pub counts: Sql,
}

impl Statements {
    pub fn new(prefix: &str) -> Statements {
        let t = format!("{prefix}_tasks");
        let lease_set = "lease_owner = NULL, lease_until = NULL";
        Statements {
            enqueue: sql(format!(
                "INSERT INTO {t} (queue, handler, payload, priority, run_at, max_attempts, backoff, timeout_ms) \
                 VALUES ($1, $2, $3::jsonb, $4, COALESCE(to_timestamp($5), now()), $6, $7::jsonb, $8) RETURNING id"
            )),
            enqueue_unique: sql(format!(
                "INSERT INTO {t} (queue, handler, payload, priority, run_at, max_attempts, backoff, timeout_ms, unique_key) \
                 VALUES ($1, $2, $3::jsonb, $4, COALESCE(to_timestamp($5), now()), $6, $7::jsonb, $8, $9) \
                 ON CONFLICT (queue, unique_key) WHERE unique_key IS NOT NULL AND status IN ('pending', 'running') \
                 DO NOTHING RETURNING id"
            )),
            find_unique: sql(format!(
                "SELECT id FROM {t} WHERE queue = $1 AND unique_key = $2 AND status IN ('pending', 'running')"
            )),
            // The inner SELECT picks ready rows in claim order and locks
            // them, passing over rows another claimer holds locked.
            claim: sql(format!(
                "UPDATE {t} AS t SET status = 'running', attempts = t.attempts + 1, lease_owner = $2, \
                 lease_until = now() + $3 * interval '1 millisecond', started_at = now() \
                 FROM (SELECT id FROM {t} WHERE queue = $1 AND status = 'pending' AND run_at <= now() \
                       ORDER BY priority, run_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) AS ready \
                 WHERE t.id = ready.id \
                 RETURNING t.id, t.handler, t.payload::text, t.priority, t.attempts, t.max_attempts, \
                 t.backoff::text, t.timeout_ms, t.cancel_requested, t.lost_leases"
            )),
            renew: sql(format!(
                "UPDATE {t} SET lease_until = now() + $3 * interval '1 millisecond' \
                 WHERE id = ANY($1) AND lease_owner = $2 AND status = 'running' \
                 RETURNING id, cancel_requested"
            )),
            // Every settlement is fenced by owner and attempt: a worker
            // whose lease ran out and was taken over settles nothing.
            complete: sql(format!(
                "UPDATE {t} SET status = 'completed', result = $4::jsonb, error = NULL, finished_at = now(), {lease_set} \
                 WHERE id = $1 AND lease_owner = $2 AND attempts = $3 AND status = 'running'"
            )),
            retry: sql(format!(
                "UPDATE {t} SET status = 'pending', error = $4, run_at = now() + $5 * interval '1 millisecond', {lease_set} \
                 WHERE id = $1 AND lease_owner = $2 AND attempts = $3 AND status = 'running'"
            )),
            finish: sql(format!(
                "UPDATE {t} SET status = $4, error = $5, finished_at = now(), {lease_set} \
                 WHERE id = $1 AND lease_owner = $2 AND attempts = $3 AND status = 'running'"
            )),
            // A lease that ran out: the attempt is lost. The task runs
            // again (its next attempt counts as a retry), or is dead if
            // that was its last attempt, or cancelled if that was asked.
            expire: sql(format!(
                "UPDATE {t} SET \
                 status = CASE WHEN cancel_requested THEN 'cancelled' WHEN attempts >= max_attempts THEN 'dead' ELSE 'pending' END, \
                 finished_at = CASE WHEN cancel_requested OR attempts >= max_attempts THEN now() END, \
                 error = 'lease expired: attempt ' || attempts || ' by ' || lease_owner || ' stopped renewing', \
                 lost_leases = lost_leases + 1, run_at = now(), {lease_set} \
                 WHERE queue = $1 AND status = 'running' AND lease_until < now() \
                 RETURNING status"
            )),
            get: sql(format!("SELECT {INFO_COLUMNS} FROM {t} WHERE queue = $1 AND id = $2")),
            list: sql(format!(
                "SELECT {INFO_COLUMNS} FROM {t} WHERE queue = $1 AND ($2::text IS NULL OR status = $2) \
                 AND ($3::text IS NULL OR handler = $3) ORDER BY id DESC LIMIT $4"
            )),
            cancel_pending: sql(format!(
                "UPDATE {t} SET status = 'cancelled', error = 'cancelled', finished_at = now() \
                 WHERE queue = $1 AND id = $2 AND status = 'pending'"
            )),
            cancel_running: sql(format!(
                "UPDATE {t} SET cancel_requested = true WHERE queue = $1 AND id = $2 AND status = 'running'"
            )),
            counts: sql(format!(
                "SELECT count(*) FILTER (WHERE status = 'pending' AND run_at <= now()), \
                 count(*) FILTER (WHERE status = 'pending' AND run_at > now()), \
                 count(*) FILTER (WHERE status = 'running') \
                 FROM {t} WHERE queue = $1 AND status IN ('pending', 'running')"
            )),
            migrations_table: format!("{prefix}_task_migrations"),
            tasks_table: t,
        }
    }

    /// The queue's migrations, recorded in a table of their own so they
    /// never collide with the application's.
    pub fn migrations(&self) -> Migrations {
        let t = &self.tasks_table;
        Migrations::new().table(self.migrations_table.clone()).add(
            1,
            "create the durable task table",
            format!(
                "CREATE TABLE {t} (
                    id BIGSERIAL PRIMARY KEY,
                    queue TEXT NOT NULL,
                    handler TEXT NOT NULL,
                    payload JSONB NOT NULL,
                    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN
                        ('pending', 'running', 'completed', 'failed', 'cancelled', 'timed_out', 'dead')),
                    priority SMALLINT NOT NULL DEFAULT 1,
                    run_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    attempts INTEGER NOT NULL DEFAULT 0,
                    max_attempts INTEGER NOT NULL,
                    backoff JSONB,
                    timeout_ms BIGINT,
                    lease_owner TEXT,
                    lease_until TIMESTAMPTZ,
                    lost_leases INTEGER NOT NULL DEFAULT 0,
                    cancel_requested BOOLEAN NOT NULL DEFAULT false,
                    unique_key TEXT,
                    result JSONB,
                    error TEXT,
                    submitted_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    started_at TIMESTAMPTZ,
                    finished_at TIMESTAMPTZ
                );
                CREATE INDEX {t}_ready ON {t} (queue, priority, run_at, id) WHERE status = 'pending';
                CREATE INDEX {t}_leases ON {t} (queue, lease_until) WHERE status = 'running';
                CREATE UNIQUE INDEX {t}_unique ON {t} (queue, unique_key)
                    WHERE unique_key IS NOT NULL AND status IN ('pending', 'running');"
            ),
        )
    }
}
