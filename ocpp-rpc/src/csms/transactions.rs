//! Transaction bookkeeping: the transactions a charger runs, their energy,
//! 2.x seqNo completeness, and the 1.6 StartTransactions already answered
//! (so that a repeated one gets the same transactionId).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::event::{Authorization, IdToken};

/// Ended transactions remembered, to recognise a repeated end message.
const ENDED_REMEMBERED: usize = 256;
/// 1.6 StartTransactions remembered, to recognise a repeated one.
const STARTS_REMEMBERED: usize = 64;
/// Missing seqNos tracked per transaction; a bigger gap is reported but
/// its late arrivals are then treated as new.
const MISSING_TRACKED: i64 = 1024;

/// One transaction as far as the CSMS has seen it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionRecord {
    /// The transaction id.
    pub id: String,
    /// The EVSE (1.6: connectorId; 0 while a 2.x event has not named it).
    pub evse: i32,
    /// The connector (1.6: 1).
    pub connector: i32,
    /// The token that started it.
    pub id_token: Option<IdToken>,
    /// The energy register at start, Wh.
    #[serde(default, with = "super::decimal_text::option")]
    pub meter_start_wh: Option<Decimal>,
    /// The last energy register reading, Wh.
    #[serde(default, with = "super::decimal_text::option")]
    pub last_energy_wh: Option<Decimal>,
    /// When it started (the first message's timestamp).
    pub started_at: DateTime<Utc>,
    /// When it ended, once it has.
    pub ended_at: Option<DateTime<Utc>>,
    /// 2.x seqNo bookkeeping.
    pub seq_nos: SeqNos,
}

impl TransactionRecord {
    /// The energy delivered so far (or in all, once ended), Wh.
    pub fn energy_wh(&self) -> Option<Decimal> {
        self.last_energy_wh?.checked_sub(self.meter_start_wh?)
    }
}

/// The seqNos of one 2.x transaction received so far: all below `next`
/// except `missing`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SeqNos {
    /// One more than the highest seqNo received (0: none yet).
    pub next: i64,
    /// SeqNos below `next` not received.
    pub missing: BTreeSet<i32>,
}

/// What a seqNo tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SeqCheck {
    /// The next one expected, or a late one filling a gap.
    New,
    /// Received before.
    Duplicate,
    /// Numbers from `expected` up to the received one are missing.
    Gap { expected: i32 },
}

impl SeqNos {
    pub(crate) fn check(&mut self, seq_no: i32) -> SeqCheck {
        let seq = i64::from(seq_no);
        if seq < self.next {
            return if self.missing.remove(&seq_no) {
                SeqCheck::New
            } else {
                SeqCheck::Duplicate
            };
        }
        let expected = self.next;
        if seq > expected && seq - expected <= MISSING_TRACKED {
            // Both ends are i32 here: `expected` is at most `seq`.
            let from = i32::try_from(expected).unwrap_or(seq_no);
            self.missing.extend(from..seq_no);
        }
        self.next = seq + 1;
        if seq == expected {
            SeqCheck::New
        } else {
            SeqCheck::Gap {
                expected: i32::try_from(expected).unwrap_or(i32::MAX),
            }
        }
    }
}

/// A 1.6 StartTransaction answered: its content (the duplicate key) and the
/// answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StartRecord {
    pub connector: i32,
    pub id_tag: String,
    pub meter_start: i32,
    pub timestamp: DateTime<Utc>,
    pub transaction_id: i32,
    pub authorization: Authorization,
}

impl StartRecord {
    pub(crate) fn same_start(
        &self,
        connector: i32,
        id_tag: &str,
        meter_start: i32,
        timestamp: DateTime<Utc>,
    ) -> bool {
        self.connector == connector
            && self.id_tag == id_tag
            && self.meter_start == meter_start
            && self.timestamp == timestamp
    }
}

/// All transactions of one charger: running ones and recently ended ones.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Ledger {
    transactions: BTreeMap<String, TransactionRecord>,
    ended: VecDeque<String>,
    starts: VecDeque<StartRecord>,
}

impl Ledger {
    /// A transaction by id.
    pub fn get(&self, id: &str) -> Option<&TransactionRecord> {
        self.transactions.get(id)
    }

    /// The transactions still running.
    pub fn running(&self) -> impl Iterator<Item = &TransactionRecord> {
        self.transactions.values().filter(|t| t.ended_at.is_none())
    }

    pub(crate) fn get_mut(&mut self, id: &str) -> Option<&mut TransactionRecord> {
        self.transactions.get_mut(id)
    }

    /// The transaction `id`, created as started at `at` if new; `true`
    /// when it was created.
    pub(crate) fn open(&mut self, id: &str, at: DateTime<Utc>) -> (&mut TransactionRecord, bool) {
        let mut created = false;
        let record = self.transactions.entry(id.to_owned()).or_insert_with(|| {
            created = true;
            TransactionRecord {
                id: id.to_owned(),
                evse: 0,
                connector: 0,
                id_token: None,
                meter_start_wh: None,
                last_energy_wh: None,
                started_at: at,
                ended_at: None,
                seq_nos: SeqNos::default(),
            }
        });
        (record, created)
    }

    /// Marks `id` ended at `at`; forgets the oldest ended transactions
    /// beyond what is remembered.
    pub(crate) fn close(&mut self, id: &str, at: DateTime<Utc>) {
        if let Some(record) = self.transactions.get_mut(id)
            && record.ended_at.is_none()
        {
            record.ended_at = Some(at);
            self.ended.push_back(id.to_owned());
        }
        while self.ended.len() > ENDED_REMEMBERED {
            if let Some(old) = self.ended.pop_front() {
                self.transactions.remove(&old);
            }
        }
    }

    pub(crate) fn find_start(
        &self,
        connector: i32,
        id_tag: &str,
        meter_start: i32,
        timestamp: DateTime<Utc>,
    ) -> Option<&StartRecord> {
        self.starts
            .iter()
            .find(|s| s.same_start(connector, id_tag, meter_start, timestamp))
    }

    pub(crate) fn remember_start(&mut self, start: StartRecord) {
        self.starts.push_back(start);
        while self.starts.len() > STARTS_REMEMBERED {
            self.starts.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_nos_report_gaps_duplicates_and_late_fills() {
        let mut s = SeqNos::default();
        assert_eq!(s.check(0), SeqCheck::New);
        assert_eq!(s.check(1), SeqCheck::New);
        assert_eq!(s.check(1), SeqCheck::Duplicate);
        assert_eq!(s.check(4), SeqCheck::Gap { expected: 2 });
        assert_eq!(s.check(3), SeqCheck::New);
        assert_eq!(s.check(3), SeqCheck::Duplicate);
        assert_eq!(s.missing.iter().copied().collect::<Vec<_>>(), [2]);
        assert_eq!(s.check(i32::MAX), SeqCheck::Gap { expected: 5 });
        assert_eq!(s.check(i32::MAX), SeqCheck::Duplicate);
    }
}
