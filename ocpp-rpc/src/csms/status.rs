//! Connector and EVSE states: the neutral mapping of each version's states
//! and the table of the last state per connector.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::event::{ConnectorState, ConnectorStatus};

/// The neutral state of a 1.6 ChargePointStatus or 2.x ConnectorStatusEnum
/// wire name; `None` for a name neither version has.
pub(crate) fn from_wire(status: &str) -> Option<ConnectorStatus> {
    Some(match status {
        "Available" => ConnectorStatus::Available,
        "Occupied" | "Preparing" | "Charging" | "SuspendedEV" | "SuspendedEVSE" | "Finishing" => {
            ConnectorStatus::Occupied
        }
        "Reserved" => ConnectorStatus::Reserved,
        "Unavailable" => ConnectorStatus::Unavailable,
        "Faulted" => ConnectorStatus::Faulted,
        _ => return None,
    })
}

/// The last known state of every connector that reported one.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StatusTable {
    connectors: Vec<ConnectorState>,
}

impl StatusTable {
    /// Every connector's state, by EVSE then connector.
    pub fn iter(&self) -> impl Iterator<Item = &ConnectorState> {
        self.connectors.iter()
    }

    /// One connector's state.
    pub fn get(&self, evse: i32, connector: i32) -> Option<&ConnectorState> {
        self.connectors
            .iter()
            .find(|c| c.evse == evse && c.connector == connector)
    }

    /// Records a state; `true` if it differs from the one known.
    pub(crate) fn update(
        &mut self,
        evse: i32,
        connector: i32,
        status: ConnectorStatus,
        error: Option<String>,
        since: Option<DateTime<Utc>>,
    ) -> bool {
        let state = ConnectorState {
            evse,
            connector,
            status,
            error,
            since,
        };
        match self
            .connectors
            .binary_search_by_key(&(evse, connector), |c| (c.evse, c.connector))
        {
            Ok(at) => {
                let Some(known) = self.connectors.get_mut(at) else {
                    return false;
                };
                let changed = known.status != state.status || known.error != state.error;
                *known = state;
                changed
            }
            Err(at) => {
                self.connectors.insert(at, state);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_reports_changes_only() {
        let mut t = StatusTable::default();
        assert!(t.update(2, 1, ConnectorStatus::Available, None, None));
        assert!(t.update(1, 1, ConnectorStatus::Available, None, None));
        assert!(!t.update(1, 1, ConnectorStatus::Available, None, None));
        assert!(t.update(1, 1, ConnectorStatus::Occupied, None, None));
        let order: Vec<_> = t.iter().map(|c| c.evse).collect();
        assert_eq!(order, [1, 2]);
        assert_eq!(from_wire("SuspendedEV"), Some(ConnectorStatus::Occupied));
        assert_eq!(from_wire("Nope"), None);
    }
}
