//! `names.toml` (names the schemas lack) and `actions.toml` (who sends what).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::model::{Error, Senders};

/// Both configuration files, parsed.
#[derive(Debug, Default)]
pub struct Config {
    names: BTreeMap<String, NamesFile>,
    actions: BTreeMap<String, ActionsFile>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct NamesFile {
    #[serde(default)]
    types: BTreeMap<String, String>,
    #[serde(default)]
    spellings: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionsFile {
    #[serde(default)]
    charge_point: Vec<String>,
    #[serde(default)]
    both: Vec<String>,
}

/// The configuration of one version.
#[derive(Debug, Default, Clone)]
pub struct VersionConfig {
    /// `<Owner>.<property>` -> type name.
    pub types: BTreeMap<String, String>,
    /// `<Enum>.<Variant>` -> spellings, the written one first.
    pub spellings: BTreeMap<String, Vec<String>>,
    charge_point: Vec<String>,
    both: Vec<String>,
}

impl Config {
    /// The configuration shipped with the generator.
    pub fn builtin() -> Result<Config, Error> {
        Config::parse(
            include_str!("../names.toml"),
            include_str!("../actions.toml"),
        )
    }

    /// Parses the two files.
    pub fn parse(names: &str, actions: &str) -> Result<Config, Error> {
        let names = toml::from_str(names).map_err(|e| format!("names.toml: {e}"))?;
        let actions = toml::from_str(actions).map_err(|e| format!("actions.toml: {e}"))?;
        Ok(Config { names, actions })
    }

    /// The part for one version module (`v16`).
    pub fn version(&self, module: &str) -> VersionConfig {
        let names = self.names.get(module).cloned().unwrap_or_default();
        let actions = self.actions.get(module).cloned().unwrap_or_default();
        VersionConfig {
            types: names.types,
            spellings: names.spellings,
            charge_point: actions.charge_point,
            both: actions.both,
        }
    }
}

impl VersionConfig {
    /// Who may send `action`.
    pub fn senders(&self, action: &str) -> Senders {
        if self.both.iter().any(|a| a == action) {
            Senders::Both
        } else if self.charge_point.iter().any(|a| a == action) {
            Senders::ChargePoint
        } else {
            Senders::Csms
        }
    }

    /// Fails if `actions.toml` names an action the schemas do not have.
    pub fn check_actions<'a>(&self, actions: impl Iterator<Item = &'a str>) -> Result<(), Error> {
        let known: Vec<&str> = actions.collect();
        for a in self.charge_point.iter().chain(&self.both) {
            if !known.contains(&a.as_str()) {
                return Err(format!("actions.toml: unknown action `{a}`"));
            }
        }
        Ok(())
    }
}
