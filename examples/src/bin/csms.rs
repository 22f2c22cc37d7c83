//! The CSMS: every OCPP version on one port, an SQLite database and an
//! HTTP JSON API; see [`ocpp_examples::csms`]. Ctrl-C shuts it down.

use std::process::ExitCode;

use ocpp_examples::csms::{self, command_line};

#[tokio::main]
async fn main() -> ExitCode {
    let options = match command_line::parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(message) => {
            eprintln!("{message}\n{}", command_line::USAGE);
            return ExitCode::from(2);
        }
    };
    let (db, open, tls) = (options.db.clone(), options.open, options.tls.is_some());
    let running = match csms::start(options).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("csms: {e}");
            return ExitCode::FAILURE;
        }
    };
    let scheme = if tls { "wss" } else { "ws" };
    println!(
        "csms: chargers at {scheme}://{}/ocpp/<id>, API at http://{}/api, database {}{}",
        running.ocpp_addr,
        running.api_addr,
        db.display(),
        if open { " (open mode)" } else { "" }
    );
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("csms: cannot wait for Ctrl-C: {e}");
    }
    println!("csms: shutting down");
    running.shutdown().await;
    ExitCode::SUCCESS
}
