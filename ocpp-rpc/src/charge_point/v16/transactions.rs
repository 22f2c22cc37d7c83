//! The durable FIFO queue of transaction messages (StartTransaction,
//! StopTransaction and transaction MeterValues): kept across disconnects
//! and restarts, sent in order, one at a time, and retried.
//!
//! Messages carry the charge point's own *local* transaction number; the
//! CSMS's transactionId is filled in when the message goes out. A message
//! whose transaction has no id yet waits behind its StartTransaction, so
//! `-1` never goes on the wire.

use std::collections::{BTreeMap, VecDeque};

use ocpp_types::v16::{MeterValuesRequest, StartTransactionRequest, StopTransactionRequest};
use serde::{Deserialize, Serialize};

/// One transaction-related message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum TxMessage {
    /// StartTransaction.req.
    Start(StartTransactionRequest),
    /// StopTransaction.req (its transactionId is patched at send time).
    Stop(StopTransactionRequest),
    /// MeterValues.req of a transaction (its transactionId is patched at send time).
    MeterValues(MeterValuesRequest),
}

impl TxMessage {
    /// The action name.
    pub fn action(&self) -> &'static str {
        match self {
            TxMessage::Start(_) => "StartTransaction",
            TxMessage::Stop(_) => "StopTransaction",
            TxMessage::MeterValues(_) => "MeterValues",
        }
    }
}

/// A queued message and how often it was tried.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Queued {
    /// The local number of its transaction.
    pub transaction: u64,
    /// The message.
    pub message: TxMessage,
    /// Tries that failed (CALLERROR, timeout or an invalid answer); a lost
    /// connection does not count.
    pub failed_attempts: u32,
}

/// The queue and the transactionIds learnt so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TxQueue {
    messages: VecDeque<Queued>,
    /// Local transaction number -> the CSMS's transactionId.
    ids: BTreeMap<u64, i32>,
}

impl TxQueue {
    /// Appends a message.
    pub fn push(&mut self, transaction: u64, message: TxMessage) {
        self.messages.push_back(Queued {
            transaction,
            message,
            failed_attempts: 0,
        });
    }

    /// The message at the head.
    pub fn front(&self) -> Option<&Queued> {
        self.messages.front()
    }

    /// The message at the head, mutably.
    pub fn front_mut(&mut self) -> Option<&mut Queued> {
        self.messages.front_mut()
    }

    /// Removes the head.
    pub fn pop(&mut self) -> Option<Queued> {
        self.messages.pop_front()
    }

    /// Messages waiting.
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// Every waiting message, head first.
    pub fn iter(&self) -> impl Iterator<Item = &Queued> {
        self.messages.iter()
    }

    /// The transactionId of local transaction `transaction`, once known.
    pub fn transaction_id(&self, transaction: u64) -> Option<i32> {
        self.ids.get(&transaction).copied()
    }

    /// Records the transactionId the CSMS gave `transaction`.
    pub fn set_transaction_id(&mut self, transaction: u64, id: i32) {
        self.ids.insert(transaction, id);
    }

    /// Removes every waiting message of `transaction` (its Start was
    /// dropped: without an id they can never go out) and returns them.
    pub fn remove_transaction(&mut self, transaction: u64) -> Vec<Queued> {
        let (gone, kept): (VecDeque<Queued>, VecDeque<Queued>) = std::mem::take(&mut self.messages)
            .into_iter()
            .partition(|q| q.transaction == transaction);
        self.messages = kept;
        gone.into()
    }

    /// Forgets the ids of transactions no queued message refers to, except
    /// those in `keep` (still running).
    pub fn forget_ids(&mut self, keep: &[u64]) {
        let messages = &self.messages;
        self.ids
            .retain(|t, _| keep.contains(t) || messages.iter().any(|q| q.transaction == *t));
    }

    /// The head made ready to send, with its transactionId filled in:
    /// `None` when the queue is empty or the head waits for an id.
    pub fn ready(&self) -> Option<TxMessage> {
        let head = self.messages.front()?;
        match &head.message {
            TxMessage::Start(s) => Some(TxMessage::Start(s.clone())),
            TxMessage::Stop(s) => {
                let id = self.transaction_id(head.transaction)?;
                let mut s = s.clone();
                s.transaction_id = id;
                Some(TxMessage::Stop(s))
            }
            TxMessage::MeterValues(m) => {
                let id = self.transaction_id(head.transaction)?;
                let mut m = m.clone();
                m.transaction_id = Some(id);
                Some(TxMessage::MeterValues(m))
            }
        }
    }
}
