//! The `csms` command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use super::{Options, TlsFiles};

/// The command line's usage text.
pub const USAGE: &str = "usage: csms --listen 127.0.0.1:9000 --api 127.0.0.1:9001 --db csms.sqlite \
[--open] [--tls-cert CERT.pem --tls-key KEY.pem [--client-ca CA.pem]]";

/// Parses the arguments (without the program name).
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
    let mut args = args.into_iter();
    let (mut listen, mut api, mut db, mut open) = (None, None, None, false);
    let (mut cert, mut key, mut client_ca) = (None, None, None);
    while let Some(arg) = args.next() {
        if arg == "--open" {
            open = true;
            continue;
        }
        let value = args.next().ok_or_else(|| format!("{arg} needs a value"))?;
        let address = || {
            value
                .parse::<SocketAddr>()
                .map_err(|_| format!("{arg}: {value} is not an address like 127.0.0.1:9000"))
        };
        match arg.as_str() {
            "--listen" => listen = Some(address()?),
            "--api" => api = Some(address()?),
            "--db" => db = Some(PathBuf::from(&value)),
            "--tls-cert" => cert = Some(PathBuf::from(&value)),
            "--tls-key" => key = Some(PathBuf::from(&value)),
            "--client-ca" => client_ca = Some(PathBuf::from(&value)),
            _ => return Err(format!("unknown option {arg}")),
        }
    }
    let mut options = Options::new(
        listen.ok_or("--listen is required")?,
        api.ok_or("--api is required")?,
        db.ok_or("--db is required")?,
    );
    options.open = open;
    options.tls = match (cert, key, client_ca) {
        (None, None, None) => None,
        (Some(cert), Some(key), client_ca) => Some(TlsFiles {
            cert,
            key,
            client_ca,
        }),
        _ => return Err("--tls-cert and --tls-key go together (--client-ca needs both)".into()),
    };
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn parses_the_documented_command_line() {
        let o = parse(args(
            "--listen 127.0.0.1:9000 --api 127.0.0.1:9001 --db csms.sqlite --open \
             --tls-cert c.pem --tls-key k.pem --client-ca ca.pem",
        ))
        .unwrap();
        assert_eq!(o.listen.port(), 9000);
        assert_eq!(o.api.port(), 9001);
        assert_eq!(o.db, PathBuf::from("csms.sqlite"));
        assert!(o.open);
        let tls = o.tls.unwrap();
        assert_eq!(tls.client_ca, Some(PathBuf::from("ca.pem")));
    }

    #[test]
    fn refuses_incomplete_or_unknown_options() {
        assert!(parse(args("--api 127.0.0.1:1 --db x")).is_err());
        assert!(parse(args("--listen nowhere --api 127.0.0.1:1 --db x")).is_err());
        assert!(
            parse(args(
                "--listen 127.0.0.1:1 --api 127.0.0.1:2 --db x --tls-key k"
            ))
            .is_err()
        );
        assert!(
            parse(args(
                "--listen 127.0.0.1:1 --api 127.0.0.1:2 --db x --bogus 1"
            ))
            .is_err()
        );
        assert!(parse(args("--listen 127.0.0.1:1 --api")).is_err());
    }
}
