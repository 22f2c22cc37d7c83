//! The CSMS's SQLite database: chargers, connectors, id tokens,
//! transactions, meter samples, the audit log of every frame and the 1.6
//! transaction-id sequence. Migrations run at open (`PRAGMA user_version`).
//!
//! Access is synchronous; the service calls it off the async workers
//! (`spawn_blocking`, the audit writer thread).

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

/// The migrations, in order; `user_version` counts those applied.
const MIGRATIONS: &[&str] = &[
    r"
CREATE TABLE chargers (
    id TEXT PRIMARY KEY,
    password_hash TEXT,
    version TEXT,
    vendor TEXT,
    model TEXT,
    registration TEXT,
    online INTEGER NOT NULL DEFAULT 0,
    last_contact TEXT,
    errors INTEGER NOT NULL DEFAULT 0,
    session_state TEXT
);
CREATE TABLE connectors (
    charger_id TEXT NOT NULL REFERENCES chargers(id) ON DELETE CASCADE,
    evse INTEGER NOT NULL,
    connector INTEGER NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (charger_id, evse, connector)
);
CREATE TABLE id_tokens (
    token TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    expiry TEXT,
    group_id TEXT
);
CREATE TABLE transactions (
    charger_id TEXT NOT NULL REFERENCES chargers(id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    evse INTEGER NOT NULL,
    connector INTEGER NOT NULL,
    id_token TEXT,
    meter_start_wh REAL,
    meter_stop_wh REAL,
    energy_wh REAL,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    stop_reason TEXT,
    PRIMARY KEY (charger_id, id)
);
CREATE TABLE meter_samples (
    seq INTEGER PRIMARY KEY,
    charger_id TEXT NOT NULL REFERENCES chargers(id) ON DELETE CASCADE,
    transaction_id TEXT,
    evse INTEGER,
    measurand TEXT NOT NULL,
    phase TEXT,
    unit TEXT NOT NULL,
    value TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    context TEXT NOT NULL
);
CREATE INDEX meter_samples_by_transaction ON meter_samples (charger_id, transaction_id);
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY,
    charger_id TEXT NOT NULL,
    at TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    frame TEXT NOT NULL
);
CREATE INDEX audit_by_charger ON audit (charger_id);
CREATE TABLE transaction_ids (
    only INTEGER PRIMARY KEY CHECK (only = 1),
    next INTEGER NOT NULL
);
INSERT INTO transaction_ids VALUES (1, 1);
",
    r"
ALTER TABLE chargers ADD COLUMN boots INTEGER NOT NULL DEFAULT 0;
",
];

/// A store failure.
#[derive(Debug, thiserror::Error)]
#[error("database: {0}")]
pub struct StoreError(#[from] rusqlite::Error);

/// What the database returns, or why not.
pub type StoreResult<T> = Result<T, StoreError>;

/// A charger as listed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChargerRow {
    /// The charge point id.
    pub id: String,
    /// Whether it has a password.
    pub has_password: bool,
    /// The version of its last connection (`1.6`, `2.0.1`, `2.1`).
    pub version: Option<String>,
    /// The vendor it booted with.
    pub vendor: Option<String>,
    /// The model it booted with.
    pub model: Option<String>,
    /// The registration state of its last boot.
    pub registration: Option<String>,
    /// Whether it is connected now.
    pub online: bool,
    /// When it last sent anything (RFC 3339).
    pub last_contact: Option<String>,
    /// Frames in the audit log.
    pub frames: i64,
    /// Messages it sent that were refused or broke the schema.
    pub errors: i64,
    /// BootNotifications it sent.
    pub boots: i64,
}

/// One connector's last state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConnectorRow {
    /// The EVSE (1.6: connectorId).
    pub evse: i64,
    /// The connector on the EVSE.
    pub connector: i64,
    /// The status (`Available`, `Occupied`, ...).
    pub status: String,
    /// The 1.6 error code, if any.
    pub error: Option<String>,
    /// When the CSMS heard it (RFC 3339).
    pub updated_at: String,
}

/// One transaction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TransactionRow {
    /// The charger.
    pub charger_id: String,
    /// The transaction id.
    pub id: String,
    /// The EVSE.
    pub evse: i64,
    /// The connector.
    pub connector: i64,
    /// The token that started it.
    pub id_token: Option<String>,
    /// The energy register at start, Wh.
    pub meter_start_wh: Option<f64>,
    /// The energy register at the end, Wh.
    pub meter_stop_wh: Option<f64>,
    /// The energy delivered, Wh (so far, while running).
    pub energy_wh: Option<f64>,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// When it ended.
    pub ended_at: Option<String>,
    /// Why it ended.
    pub stop_reason: Option<String>,
    /// Meter samples stored for it.
    pub samples: i64,
}

/// An id token of the authorization list.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct IdTokenRow {
    /// The token (1.6 idTag, 2.x idToken).
    pub token: String,
    /// `Accepted`, `Blocked`, `Expired`, `Invalid`, ...
    pub status: String,
    /// Until when it is valid (RFC 3339).
    pub expiry: Option<String>,
    /// Its group (1.6 parentIdTag, 2.x groupIdToken).
    pub group: Option<String>,
}

/// A transaction as it starts.
#[derive(Debug, Clone)]
pub struct NewTransaction<'a> {
    /// The charger.
    pub charger_id: &'a str,
    /// The transaction id.
    pub id: &'a str,
    /// The EVSE.
    pub evse: i32,
    /// The connector.
    pub connector: i32,
    /// The token.
    pub id_token: Option<&'a str>,
    /// The energy register, Wh.
    pub meter_start_wh: Option<f64>,
    /// When (RFC 3339).
    pub started_at: &'a str,
}

/// One meter sample to store.
#[derive(Debug, Clone)]
pub struct SampleRow<'a> {
    /// The measurand.
    pub measurand: &'a str,
    /// The phase.
    pub phase: Option<&'a str>,
    /// The unit.
    pub unit: &'a str,
    /// The value, as exact decimal text.
    pub value: String,
    /// When (RFC 3339).
    pub timestamp: String,
    /// The reading context.
    pub context: &'a str,
}

/// One frame of the audit log.
#[derive(Debug, Clone)]
pub struct AuditFrame {
    /// The charger.
    pub charger_id: String,
    /// When (RFC 3339).
    pub at: String,
    /// Received from the charger (`true`) or sent to it.
    pub incoming: bool,
    /// The frame text.
    pub frame: String,
}

/// The database, one connection behind a lock.
#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
}

impl Store {
    /// Opens (or creates) the database at `path` and migrates it.
    pub fn open(path: &Path) -> StoreResult<Store> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let store = Store {
            conn: Mutex::new(conn),
        };
        store.migrate()?;
        Ok(store)
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent:
        // keep going with the connection.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn migrate(&self) -> StoreResult<()> {
        let mut conn = self.lock();
        let applied: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        for (n, sql) in MIGRATIONS.iter().enumerate().skip(applied.max(0) as usize) {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", n as i64 + 1)?;
            tx.commit()?;
        }
        Ok(())
    }

    // ----- chargers -----

    /// Every charger's id with its password hash (for the auth hook's cache).
    pub fn passwords(&self) -> StoreResult<Vec<(String, Option<String>)>> {
        let conn = self.lock();
        let mut stmt = conn.prepare("SELECT id, password_hash FROM chargers")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>().map_err(Into::into)
    }

    /// Every charger's stored session state (JSON), for restoring.
    pub fn session_states(&self) -> StoreResult<Vec<(String, String)>> {
        let conn = self.lock();
        let mut stmt =
            conn.prepare("SELECT id, session_state FROM chargers WHERE session_state IS NOT NULL")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>().map_err(Into::into)
    }

    /// Registers a charger, or replaces its password hash; whether it is new.
    pub fn put_charger(&self, id: &str, password_hash: Option<&str>) -> StoreResult<bool> {
        let conn = self.lock();
        let updated = conn.execute(
            "UPDATE chargers SET password_hash = ?2 WHERE id = ?1",
            params![id, password_hash],
        )?;
        if updated == 0 {
            conn.execute(
                "INSERT INTO chargers (id, password_hash) VALUES (?1, ?2)",
                params![id, password_hash],
            )?;
        }
        Ok(updated == 0)
    }

    /// Registers a charger without a password unless it is known.
    pub fn ensure_charger(&self, id: &str) -> StoreResult<()> {
        self.lock().execute(
            "INSERT OR IGNORE INTO chargers (id) VALUES (?1)",
            params![id],
        )?;
        Ok(())
    }

    /// A charger connected with `version`.
    pub fn connected(&self, id: &str, version: &str, at: &str) -> StoreResult<()> {
        self.lock().execute(
            "UPDATE chargers SET online = 1, version = ?2, last_contact = ?3 WHERE id = ?1",
            params![id, version, at],
        )?;
        Ok(())
    }

    /// A charger's connection ended; its session state is kept.
    pub fn disconnected(&self, id: &str, session_state: &str) -> StoreResult<()> {
        self.lock().execute(
            "UPDATE chargers SET online = 0, session_state = ?2 WHERE id = ?1",
            params![id, session_state],
        )?;
        Ok(())
    }

    /// Marks every charger offline (at start: no connection survives a restart).
    pub fn all_offline(&self) -> StoreResult<()> {
        self.lock().execute("UPDATE chargers SET online = 0", [])?;
        Ok(())
    }

    /// Keeps a charger's session state.
    pub fn save_session_state(&self, id: &str, session_state: &str) -> StoreResult<()> {
        self.lock().execute(
            "UPDATE chargers SET session_state = ?2 WHERE id = ?1",
            params![id, session_state],
        )?;
        Ok(())
    }

    /// When a charger last sent anything.
    pub fn touch(&self, id: &str, at: &str) -> StoreResult<()> {
        self.lock().execute(
            "UPDATE chargers SET last_contact = ?2 WHERE id = ?1",
            params![id, at],
        )?;
        Ok(())
    }

    /// The outcome of a boot.
    pub fn booted(
        &self,
        id: &str,
        vendor: &str,
        model: &str,
        registration: &str,
    ) -> StoreResult<()> {
        self.lock().execute(
            "UPDATE chargers SET vendor = ?2, model = ?3, registration = ?4, boots = boots + 1 \
             WHERE id = ?1",
            params![id, vendor, model, registration],
        )?;
        Ok(())
    }

    /// Counts a refused or deviating message.
    pub fn count_error(&self, id: &str) -> StoreResult<()> {
        self.lock().execute(
            "UPDATE chargers SET errors = errors + 1 WHERE id = ?1",
            params![id],
        )?;
        Ok(())
    }

    const CHARGER_COLUMNS: &str = "id, password_hash IS NOT NULL, version, vendor, model, \
        registration, online, last_contact, \
        (SELECT count(*) FROM audit WHERE audit.charger_id = chargers.id), errors, boots";

    fn charger_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChargerRow> {
        Ok(ChargerRow {
            id: r.get(0)?,
            has_password: r.get(1)?,
            version: r.get(2)?,
            vendor: r.get(3)?,
            model: r.get(4)?,
            registration: r.get(5)?,
            online: r.get(6)?,
            last_contact: r.get(7)?,
            frames: r.get(8)?,
            errors: r.get(9)?,
            boots: r.get(10)?,
        })
    }

    /// Every charger.
    pub fn chargers(&self) -> StoreResult<Vec<ChargerRow>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(&format!(
            "SELECT {} FROM chargers ORDER BY id",
            Self::CHARGER_COLUMNS
        ))?;
        let rows = stmt.query_map([], Self::charger_row)?;
        rows.collect::<Result<_, _>>().map_err(Into::into)
    }

    /// One charger.
    pub fn charger(&self, id: &str) -> StoreResult<Option<ChargerRow>> {
        let conn = self.lock();
        conn.query_row(
            &format!(
                "SELECT {} FROM chargers WHERE id = ?1",
                Self::CHARGER_COLUMNS
            ),
            params![id],
            Self::charger_row,
        )
        .optional()
        .map_err(Into::into)
    }

    // ----- connectors -----

    /// A connector's new state.
    pub fn connector_status(
        &self,
        id: &str,
        evse: i32,
        connector: i32,
        status: &str,
        error: Option<&str>,
        at: &str,
    ) -> StoreResult<()> {
        self.lock().execute(
            "INSERT INTO connectors (charger_id, evse, connector, status, error, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (charger_id, evse, connector) DO UPDATE SET \
             status = excluded.status, error = excluded.error, updated_at = excluded.updated_at",
            params![id, evse, connector, status, error, at],
        )?;
        Ok(())
    }

    /// A charger's connectors.
    pub fn connectors(&self, id: &str) -> StoreResult<Vec<ConnectorRow>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT evse, connector, status, error, updated_at FROM connectors \
             WHERE charger_id = ?1 ORDER BY evse, connector",
        )?;
        let rows = stmt.query_map(params![id], |r| {
            Ok(ConnectorRow {
                evse: r.get(0)?,
                connector: r.get(1)?,
                status: r.get(2)?,
                error: r.get(3)?,
                updated_at: r.get(4)?,
            })
        })?;
        rows.collect::<Result<_, _>>().map_err(Into::into)
    }

    // ----- id tokens -----

    /// Every id token.
    pub fn id_tokens(&self) -> StoreResult<Vec<IdTokenRow>> {
        let conn = self.lock();
        let mut stmt =
            conn.prepare("SELECT token, status, expiry, group_id FROM id_tokens ORDER BY token")?;
        let rows = stmt.query_map([], Self::token_row)?;
        rows.collect::<Result<_, _>>().map_err(Into::into)
    }

    fn token_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<IdTokenRow> {
        Ok(IdTokenRow {
            token: r.get(0)?,
            status: r.get(1)?,
            expiry: r.get(2)?,
            group: r.get(3)?,
        })
    }

    /// One id token.
    pub fn id_token(&self, token: &str) -> StoreResult<Option<IdTokenRow>> {
        self.lock()
            .query_row(
                "SELECT token, status, expiry, group_id FROM id_tokens WHERE token = ?1",
                params![token],
                Self::token_row,
            )
            .optional()
            .map_err(Into::into)
    }

    /// Creates or replaces an id token; whether it is new.
    pub fn put_id_token(&self, row: &IdTokenRow) -> StoreResult<bool> {
        let conn = self.lock();
        let known: bool = conn.query_row(
            "SELECT count(*) > 0 FROM id_tokens WHERE token = ?1",
            params![row.token],
            |r| r.get(0),
        )?;
        conn.execute(
            "INSERT OR REPLACE INTO id_tokens (token, status, expiry, group_id) \
             VALUES (?1, ?2, ?3, ?4)",
            params![row.token, row.status, row.expiry, row.group],
        )?;
        Ok(!known)
    }

    /// Deletes an id token; whether it existed.
    pub fn delete_id_token(&self, token: &str) -> StoreResult<bool> {
        let n = self
            .lock()
            .execute("DELETE FROM id_tokens WHERE token = ?1", params![token])?;
        Ok(n > 0)
    }

    // ----- transactions -----

    /// The next 1.6 transactionId, unique across chargers and restarts.
    pub fn next_transaction_id(&self) -> StoreResult<i32> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let next: i32 = tx.query_row("SELECT next FROM transaction_ids", [], |r| r.get(0))?;
        let after = next.checked_add(1).unwrap_or(1);
        tx.execute("UPDATE transaction_ids SET next = ?1", params![after])?;
        tx.commit()?;
        Ok(next)
    }

    /// A transaction started (a repeat is ignored).
    pub fn transaction_started(&self, t: &NewTransaction<'_>) -> StoreResult<()> {
        self.lock().execute(
            "INSERT OR IGNORE INTO transactions \
             (charger_id, id, evse, connector, id_token, meter_start_wh, started_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                t.charger_id,
                t.id,
                t.evse,
                t.connector,
                t.id_token,
                t.meter_start_wh,
                t.started_at
            ],
        )?;
        Ok(())
    }

    /// The energy a running transaction delivered so far.
    pub fn transaction_progress(
        &self,
        charger_id: &str,
        id: &str,
        energy_wh: f64,
    ) -> StoreResult<()> {
        self.lock().execute(
            "UPDATE transactions SET energy_wh = ?3 \
             WHERE charger_id = ?1 AND id = ?2 AND ended_at IS NULL",
            params![charger_id, id, energy_wh],
        )?;
        Ok(())
    }

    /// A transaction ended.
    #[allow(clippy::too_many_arguments)]
    pub fn transaction_ended(
        &self,
        charger_id: &str,
        id: &str,
        meter_stop_wh: Option<f64>,
        energy_wh: Option<f64>,
        ended_at: &str,
        reason: &str,
    ) -> StoreResult<()> {
        self.lock().execute(
            "UPDATE transactions SET meter_stop_wh = ?3, energy_wh = ?4, ended_at = ?5, \
             stop_reason = ?6 WHERE charger_id = ?1 AND id = ?2",
            params![charger_id, id, meter_stop_wh, energy_wh, ended_at, reason],
        )?;
        Ok(())
    }

    /// Meter samples, of a transaction or not.
    pub fn samples(
        &self,
        charger_id: &str,
        transaction_id: Option<&str>,
        evse: Option<i32>,
        samples: &[SampleRow<'_>],
    ) -> StoreResult<()> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO meter_samples (charger_id, transaction_id, evse, measurand, phase, \
                 unit, value, timestamp, context) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for s in samples {
                stmt.execute(params![
                    charger_id,
                    transaction_id,
                    evse,
                    s.measurand,
                    s.phase,
                    s.unit,
                    s.value,
                    s.timestamp,
                    s.context
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Transactions, of one charger or all, newest first.
    pub fn transactions(&self, charger_id: Option<&str>) -> StoreResult<Vec<TransactionRow>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT charger_id, id, evse, connector, id_token, meter_start_wh, meter_stop_wh, \
             energy_wh, started_at, ended_at, stop_reason, \
             (SELECT count(*) FROM meter_samples m WHERE m.charger_id = t.charger_id \
              AND m.transaction_id = t.id) \
             FROM transactions t WHERE ?1 IS NULL OR charger_id = ?1 \
             ORDER BY started_at DESC, id",
        )?;
        let rows = stmt.query_map(params![charger_id], |r| {
            Ok(TransactionRow {
                charger_id: r.get(0)?,
                id: r.get(1)?,
                evse: r.get(2)?,
                connector: r.get(3)?,
                id_token: r.get(4)?,
                meter_start_wh: r.get(5)?,
                meter_stop_wh: r.get(6)?,
                energy_wh: r.get(7)?,
                started_at: r.get(8)?,
                ended_at: r.get(9)?,
                stop_reason: r.get(10)?,
                samples: r.get(11)?,
            })
        })?;
        rows.collect::<Result<_, _>>().map_err(Into::into)
    }

    // ----- audit -----

    /// Appends frames to the audit log, in one transaction.
    pub fn audit(&self, frames: &[AuditFrame]) -> StoreResult<()> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO audit (charger_id, at, direction, frame) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for f in frames {
                let direction = if f.incoming { "in" } else { "out" };
                stmt.execute(params![f.charger_id, f.at, direction, f.frame])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_keeps_data_across_opens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("csms.sqlite");
        {
            let store = Store::open(&path).unwrap();
            assert!(store.put_charger("CP-1", Some("$hash")).unwrap());
            assert_eq!(store.next_transaction_id().unwrap(), 1);
            assert_eq!(store.next_transaction_id().unwrap(), 2);
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(
            store.passwords().unwrap(),
            vec![("CP-1".to_owned(), Some("$hash".to_owned()))]
        );
        assert_eq!(store.next_transaction_id().unwrap(), 3);
        assert!(!store.put_charger("CP-1", None).unwrap());
        assert!(!store.charger("CP-1").unwrap().unwrap().has_password);
    }

    #[test]
    fn id_tokens_are_created_replaced_and_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).unwrap();
        let mut row = IdTokenRow {
            token: "TAG".into(),
            status: "Accepted".into(),
            expiry: None,
            group: None,
        };
        assert!(store.put_id_token(&row).unwrap());
        row.status = "Blocked".into();
        assert!(!store.put_id_token(&row).unwrap());
        assert_eq!(store.id_token("TAG").unwrap(), Some(row));
        assert!(store.delete_id_token("TAG").unwrap());
        assert!(!store.delete_id_token("TAG").unwrap());
        assert!(store.id_tokens().unwrap().is_empty());
    }
}
