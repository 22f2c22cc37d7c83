//! Authorization of a presented idTag: the local list and the cache
//! (`LocalPreAuthorize`, `LocalAuthorizeOffline`,
//! `AllowOfflineTxForUnknownId`), Authorize.req when online, reservations.

use std::time::Instant;

use chrono::{DateTime, Utc};
use ocpp_types::v16::{self, AuthorizationStatus, IdTagInfo};

use super::{AuthPurpose, ChargePoint, Event, Sent, auth, secs, tag};

impl ChargePoint {
    /// What the local list (first) or the cache says about `tag`.
    pub(super) fn local_info(&self, id_tag: &str, _utc: DateTime<Utc>) -> Option<IdTagInfo> {
        let cfg = &self.state.configuration;
        if cfg.bool("LocalAuthListEnabled")
            && let Some(info) = self.state.local_list.get(id_tag)
        {
            return Some(info.clone());
        }
        if cfg.bool("AuthorizationCacheEnabled") {
            return self.state.cache.get(id_tag).cloned();
        }
        None
    }

    pub(super) fn can_start(&self, connector: u32) -> bool {
        let Some(c) = self.connector(connector) else {
            return false;
        };
        let station = self.connector(0);
        c.transaction.is_none()
            && !c.inoperative
            && !station.is_some_and(|s| s.inoperative || s.fault.is_some_and(|(_, w)| !w))
            && c.fault.is_none_or(|(_, warning)| warning)
    }

    pub(super) fn reservation_allows(
        &self,
        connector: u32,
        id_tag: &str,
        info: Option<&IdTagInfo>,
    ) -> bool {
        let Some(r) = self
            .connector(connector)
            .and_then(|c| c.reservation.as_ref())
        else {
            return true;
        };
        r.id_tag.eq_ignore_ascii_case(id_tag)
            || matches!(
                (&r.parent_id_tag, info.and_then(|i| i.parent_id_tag.as_ref())),
                (Some(a), Some(b)) if a.eq_ignore_ascii_case(b.as_str())
            )
    }

    pub(super) fn authorize_for_start(
        &mut self,
        now: Instant,
        connector: u32,
        id_tag: &str,
        local: Option<IdTagInfo>,
    ) {
        let utc = self.utc(now);
        let cfg = &self.state.configuration;
        let local_valid = local.as_ref().is_some_and(|i| auth::is_valid(i, utc));
        if self.online() {
            if cfg.bool("LocalPreAuthorize") && local_valid {
                let parent = local.and_then(|i| i.parent_id_tag.map(String::from));
                self.authorized(now, connector, id_tag, parent);
            } else {
                self.send_authorize(now, connector, id_tag, AuthPurpose::Start);
            }
            return;
        }
        self.authorize_offline(now, connector, id_tag, local);
    }

    pub(super) fn authorize_offline(
        &mut self,
        now: Instant,
        connector: u32,
        id_tag: &str,
        local: Option<IdTagInfo>,
    ) {
        let utc = self.utc(now);
        let cfg = &self.state.configuration;
        match local {
            Some(info) if cfg.bool("LocalAuthorizeOffline") => {
                if auth::is_valid(&info, utc) {
                    let parent = info.parent_id_tag.map(String::from);
                    self.authorized(now, connector, id_tag, parent);
                } else {
                    let status = match info.status {
                        AuthorizationStatus::Accepted => AuthorizationStatus::Expired,
                        other => other,
                    };
                    self.refuse(connector, id_tag, status);
                }
            }
            None if cfg.bool("AllowOfflineTxForUnknownId") => {
                self.authorized(now, connector, id_tag, None);
            }
            _ => self.refuse(connector, id_tag, AuthorizationStatus::Invalid),
        }
    }

    pub(super) fn send_authorize(
        &mut self,
        now: Instant,
        connector: u32,
        id_tag: &str,
        purpose: AuthPurpose,
    ) {
        let request = v16::AuthorizeRequest {
            id_tag: tag(id_tag),
        };
        let sent = Sent::Authorize {
            connector,
            id_tag: id_tag.to_owned(),
            purpose,
        };
        if !self.call(now, request, sent) {
            let local = self.local_info(id_tag, self.utc(now));
            self.authorize_offline(now, connector, id_tag, local);
        }
    }

    pub(super) fn refuse(&mut self, connector: u32, id_tag: &str, status: AuthorizationStatus) {
        self.events.push_back(Event::AuthorizationRefused {
            connector,
            id_tag: id_tag.to_owned(),
            status,
        });
    }

    pub(super) fn authorized(
        &mut self,
        now: Instant,
        connector: u32,
        id_tag: &str,
        parent: Option<String>,
    ) {
        self.events.push_back(Event::Authorized {
            connector,
            id_tag: id_tag.to_owned(),
        });
        let timeout = self.state.configuration.int("ConnectionTimeOut");
        if let Some(c) = self.connector_mut(connector) {
            c.authorized = Some((id_tag.to_owned(), parent));
            c.finishing = false;
        }
        if let Some(slot) = self.authorized_until.get_mut(connector as usize) {
            *slot = (timeout > 0).then(|| now + secs(timeout));
        }
        self.dirty = true;
        self.refresh_statuses(now);
        self.try_start(now, connector);
    }

    /// Records an IdTagInfo from the CSMS in the cache (never for tags on
    /// the local list, which has priority).
    pub(super) fn cache_info(&mut self, now: Instant, id_tag: &str, info: &IdTagInfo) {
        let cfg = &self.state.configuration;
        if !cfg.bool("AuthorizationCacheEnabled") {
            return;
        }
        if cfg.bool("LocalAuthListEnabled") && self.state.local_list.get(id_tag).is_some() {
            return;
        }
        let utc = self.utc(now);
        self.state.cache.put(id_tag, info.clone(), utc);
        self.dirty = true;
    }
}
