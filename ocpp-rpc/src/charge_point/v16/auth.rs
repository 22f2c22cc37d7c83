//! Local authorization: the local authorization list (changed only by
//! SendLocalList) and the authorization cache (fed by the IdTagInfo of
//! every Authorize, StartTransaction and StopTransaction answer).
//! idTags are compared case-insensitively (CiString20).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use ocpp_types::v16::{
    AuthorizationStatus, IdTagInfo, SendLocalListRequest, UpdateStatus, UpdateType,
};
use serde::{Deserialize, Serialize};

/// The key an idTag is stored under.
pub fn tag_key(tag: &str) -> String {
    tag.to_ascii_lowercase()
}

/// Whether `info` allows charging at `now` (Accepted and not expired).
pub fn is_valid(info: &IdTagInfo, now: DateTime<Utc>) -> bool {
    info.status == AuthorizationStatus::Accepted && info.expiry_date.is_none_or(|e| e > now)
}

/// The local authorization list and its version.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LocalList {
    /// 0: empty (never a version of a list sent by the CSMS).
    pub version: i32,
    entries: BTreeMap<String, IdTagInfo>,
}

impl LocalList {
    /// The entry for `tag`.
    pub fn get(&self, tag: &str) -> Option<&IdTagInfo> {
        self.entries.get(&tag_key(tag))
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Applies a SendLocalList.req with at most `max_len` entries kept.
    pub fn apply(&mut self, request: &SendLocalListRequest, max_len: usize) -> UpdateStatus {
        if request.list_version <= 0 {
            return UpdateStatus::Failed;
        }
        let items = request.local_authorization_list.as_deref().unwrap_or(&[]);
        match request.update_type {
            UpdateType::Full => {
                let mut entries = BTreeMap::new();
                for item in items {
                    if let Some(info) = &item.id_tag_info {
                        entries.insert(tag_key(&item.id_tag), info.clone());
                    }
                }
                if entries.len() > max_len {
                    return UpdateStatus::Failed;
                }
                self.entries = entries;
            }
            UpdateType::Differential => {
                if request.list_version <= self.version {
                    return UpdateStatus::VersionMismatch;
                }
                let mut entries = self.entries.clone();
                for item in items {
                    match &item.id_tag_info {
                        Some(info) => entries.insert(tag_key(&item.id_tag), info.clone()),
                        None => entries.remove(&tag_key(&item.id_tag)),
                    };
                }
                if entries.len() > max_len {
                    return UpdateStatus::Failed;
                }
                self.entries = entries;
            }
        }
        self.version = request.list_version;
        UpdateStatus::Accepted
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct CacheEntry {
    info: IdTagInfo,
    /// Insertion order, for evicting the oldest.
    seq: u64,
}

/// The authorization cache.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuthCache {
    entries: BTreeMap<String, CacheEntry>,
    seq: u64,
}

/// Entries the cache holds before it evicts.
const CACHE_CAPACITY: usize = 1000;

impl AuthCache {
    /// The cached entry for `tag`.
    pub fn get(&self, tag: &str) -> Option<&IdTagInfo> {
        self.entries.get(&tag_key(tag)).map(|e| &e.info)
    }

    /// Records the answer for `tag`; when full, evicts invalid entries
    /// first, then the oldest.
    pub fn put(&mut self, tag: &str, info: IdTagInfo, now: DateTime<Utc>) {
        self.seq += 1;
        let key = tag_key(tag);
        if !self.entries.contains_key(&key) && self.entries.len() >= CACHE_CAPACITY {
            let victim = self
                .entries
                .iter()
                .find(|(_, e)| !is_valid(&e.info, now))
                .or_else(|| self.entries.iter().min_by_key(|(_, e)| e.seq))
                .map(|(k, _)| k.clone());
            if let Some(victim) = victim {
                self.entries.remove(&victim);
            }
        }
        self.entries.insert(
            key,
            CacheEntry {
                info,
                seq: self.seq,
            },
        );
    }

    /// Empties the cache.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
