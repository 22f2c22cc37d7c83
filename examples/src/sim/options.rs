//! What a simulated station does, and the command line that says it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ocpp_types::Version;
use tokio::sync::watch;

/// What a station does once booted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scenario {
    /// Charge `sessions` times, then end.
    Session,
    /// Wait for CSMS commands until told to stop.
    Idle,
    /// Charge `sessions` times, each started by the CSMS: plug in, wait
    /// for a remote start (1.6 RemoteStartTransaction, 2.x
    /// RequestStartTransaction, with the station's [tag](StationOptions::tag)),
    /// meter, stop with the tag, unplug.
    Remote,
}

/// How one station runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StationOptions {
    /// The CSMS URL without the station id (`ws://host:port/path`).
    pub url: String,
    /// The station id, appended to `url`.
    pub id: String,
    /// The OCPP version spoken.
    pub version: Version,
    /// HTTP Basic password.
    pub password: Option<String>,
    /// TLS for a `wss://` URL (see [`client_tls`](super::client_tls)).
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Where the station keeps its state between runs (`ID.json` in the
    /// directory); none: it starts afresh every time.
    pub state_dir: Option<PathBuf>,
    /// Connectors (EVSEs in 2.x); the scripted sessions run on all at
    /// once, each with its own [tag](Self::tag_at) and meter.
    pub connectors: u32,
    /// What to do once booted.
    pub scenario: Scenario,
    /// Sessions to charge ([`Scenario::Session`]).
    pub sessions: u32,
    /// Print every frame.
    pub verbose: bool,
    /// The simulated charging power, W.
    pub power_w: i64,
    /// How long a session charges.
    pub session_time: Duration,
    /// How often the meter advances.
    pub tick: Duration,
    /// The meter sample interval set in the machine's configuration, s.
    pub sample_secs: u32,
    /// The longest wait for any one step (boot, start, stop, delivery).
    pub step_timeout: Duration,
    /// [`Scenario::Idle`] ends once this turns `true` (or its sender goes).
    pub stop: Option<watch::Receiver<bool>>,
}

impl StationOptions {
    /// Defaults for station `id` of `version` at `url`: one connector, one
    /// 6 s session at 11 kW, meter values every 2 s.
    pub fn new(url: impl Into<String>, id: impl Into<String>, version: Version) -> Self {
        StationOptions {
            url: url.into(),
            id: id.into(),
            version,
            password: None,
            tls: None,
            state_dir: None,
            connectors: 1,
            scenario: Scenario::Session,
            sessions: 1,
            verbose: false,
            power_w: 11_000,
            session_time: Duration::from_secs(6),
            tick: Duration::from_secs(1),
            sample_secs: 2,
            step_timeout: Duration::from_secs(30),
            stop: None,
        }
    }

    /// The id tag the station presents at connector 1 (≤20 characters).
    pub fn tag(&self) -> String {
        self.tag_at(1)
    }

    /// The id tag presented at `connector`: [`tag`](Self::tag) on the
    /// first, with `-N` on connector N > 1 (≤20 characters, the id cut
    /// to fit).
    pub fn tag_at(&self, connector: u32) -> String {
        let suffix = if connector > 1 {
            format!("-{connector}")
        } else {
            String::new()
        };
        let room = 20usize.saturating_sub(4 + suffix.len());
        let id: String = self.id.chars().take(room).collect();
        format!("SIM-{id}{suffix}")
    }
}

/// `1.6`, `2.0.1` or `2.1`.
pub fn parse_version(text: &str) -> Option<Version> {
    match text {
        "1.6" | "16" | "ocpp1.6" => Some(Version::V16),
        "2.0.1" | "201" | "ocpp2.0.1" => Some(Version::V201),
        "2.1" | "21" | "ocpp2.1" => Some(Version::V21),
        _ => None,
    }
}

/// Splits `ws://host:port/path/ID` into the base URL and the id.
pub fn split_url(url: &str) -> Option<(String, String)> {
    let url = url.trim_end_matches('/');
    let (base, id) = url.rsplit_once('/')?;
    let scheme_end = base.find("://")?;
    // The id must follow the authority, not be the host itself.
    if id.is_empty() || base.len() <= scheme_end + 3 {
        return None;
    }
    Some((base.to_owned(), id.to_owned()))
}

/// The parsed command line: one station's options and how many stations.
#[derive(Debug, Clone)]
pub struct CommandLine {
    /// The first station's options; the others differ by id.
    pub station: StationOptions,
    /// How many stations.
    pub count: u32,
}

/// The command line's usage text.
pub const USAGE: &str = "usage: charge-point --url ws://host:port/path/ID --version 1.6|2.0.1|2.1 \
[--password P] [--ca CA.pem [--cert CERT.pem --key KEY.pem]] [--state DIR] [--connectors N] [--count K] [--scenario session|idle|remote] [--sessions S] \
[--session-secs T] [--power W] [--verbose]";

impl CommandLine {
    /// Parses the arguments (without the program name).
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, String> {
        let mut args = args.into_iter();
        let mut url = None;
        let mut version = None;
        let mut rest = Vec::new();
        while let Some(arg) = args.next() {
            if arg == "--verbose" {
                rest.push((arg, String::new()));
                continue;
            }
            let value = args.next().ok_or_else(|| format!("{arg} needs a value"))?;
            match arg.as_str() {
                "--url" => url = Some(value),
                "--version" => version = Some(value),
                _ => rest.push((arg, value)),
            }
        }
        let url = url.ok_or("--url is required")?;
        let (base, id) =
            split_url(&url).ok_or_else(|| format!("{url}: expected ws://host:port/path/ID"))?;
        let version = version.ok_or("--version is required")?;
        let version = parse_version(&version)
            .ok_or_else(|| format!("{version}: expected 1.6, 2.0.1 or 2.1"))?;
        let mut station = StationOptions::new(base, id, version);
        let mut count = 1;
        let (mut ca, mut cert, mut key) = (None, None, None);
        for (arg, value) in rest {
            let number = || {
                value
                    .parse::<u32>()
                    .map_err(|_| format!("{arg}: {value} is not a number"))
            };
            match arg.as_str() {
                "--verbose" => station.verbose = true,
                "--password" => station.password = Some(value.clone()),
                "--ca" => ca = Some(PathBuf::from(&value)),
                "--cert" => cert = Some(PathBuf::from(&value)),
                "--key" => key = Some(PathBuf::from(&value)),
                "--state" => station.state_dir = Some(PathBuf::from(&value)),
                "--connectors" => station.connectors = number()?.max(1),
                "--count" => count = number()?.max(1),
                "--sessions" => station.sessions = number()?,
                "--session-secs" => {
                    station.session_time = Duration::from_secs(number()?.into());
                }
                "--power" => station.power_w = number()?.into(),
                "--scenario" => {
                    station.scenario = match value.as_str() {
                        "session" => Scenario::Session,
                        "idle" => Scenario::Idle,
                        "remote" => Scenario::Remote,
                        _ => {
                            return Err(format!(
                                "--scenario {value}: expected session, idle or remote"
                            ));
                        }
                    }
                }
                _ => return Err(format!("unknown option {arg}")),
            }
        }
        station.tls = match (ca, cert, key) {
            (None, None, None) => None,
            (Some(ca), None, None) => Some(super::client_tls(&ca, None)?),
            (Some(ca), Some(cert), Some(key)) => Some(super::client_tls(&ca, Some((&cert, &key)))?),
            _ => return Err("--cert and --key go together, and need --ca".into()),
        };
        if station.url.starts_with("wss://") && station.tls.is_none() {
            return Err("a wss:// URL needs --ca".into());
        }
        Ok(CommandLine { station, count })
    }

    /// The options of every station: ids `ID`, `ID-2`, `ID-3`, ...
    pub fn stations(&self) -> Vec<StationOptions> {
        (1..=self.count)
            .map(|k| {
                let mut options = self.station.clone();
                if k > 1 {
                    options.id = format!("{}-{k}", self.station.id);
                }
                options
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn parses_a_command_line_and_names_the_stations() {
        let cl = CommandLine::parse(args(
            "--url ws://localhost:9000/ocpp/CP1 --version 2.0.1 --count 3 --sessions 2 --verbose",
        ))
        .unwrap();
        assert_eq!(cl.station.url, "ws://localhost:9000/ocpp");
        assert_eq!(cl.station.version, Version::V201);
        assert_eq!(cl.station.sessions, 2);
        assert!(cl.station.verbose);
        let ids: Vec<_> = cl.stations().into_iter().map(|s| s.id).collect();
        assert_eq!(ids, ["CP1", "CP1-2", "CP1-3"]);
    }

    #[test]
    fn reads_the_tls_files_and_the_state_directory() {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
        let dir = tempfile::tempdir().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(Vec::<String>::new())
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        let path = |name: &str| dir.path().join(name).display().to_string();
        std::fs::write(path("ca.pem"), ca.pem()).unwrap();
        std::fs::write(path("cert.pem"), cert.pem()).unwrap();
        std::fs::write(path("key.pem"), key.serialize_pem()).unwrap();
        let cl = CommandLine::parse(args(&format!(
            "--url wss://h:1/CP --version 2.0.1 --ca {} --cert {} --key {} --state {} \
             --connectors 3",
            path("ca.pem"),
            path("cert.pem"),
            path("key.pem"),
            path("state"),
        )))
        .unwrap();
        let tls = cl.station.tls.as_ref().expect("a TLS configuration");
        assert!(tls.client_auth_cert_resolver.has_certs());
        assert_eq!(cl.station.state_dir, Some(dir.path().join("state")));
        assert_eq!(cl.station.connectors, 3);
        assert_eq!(cl.station.tag_at(3), "SIM-CP-3");
    }

    #[test]
    fn refuses_bad_command_lines() {
        assert!(CommandLine::parse(args("--version 1.6")).is_err());
        assert!(CommandLine::parse(args("--url ws://h:1/CP --version 3")).is_err());
        assert!(CommandLine::parse(args("--url ws://h:1 --version 1.6")).is_err());
        assert!(CommandLine::parse(args("--url ws://h:1/CP --version 1.6 --count x")).is_err());
        assert!(CommandLine::parse(args("--url ws://h:1/CP --version 1.6 --bogus 1")).is_err());
        assert!(CommandLine::parse(args("--url wss://h:1/CP --version 1.6")).is_err());
        assert!(
            CommandLine::parse(args(
                "--url wss://h:1/CP --version 1.6 --ca /nonexistent.pem"
            ))
            .unwrap_err()
            .contains("/nonexistent.pem")
        );
        assert!(CommandLine::parse(args("--url ws://h:1/CP --version 1.6 --cert c.pem")).is_err());
    }
}
