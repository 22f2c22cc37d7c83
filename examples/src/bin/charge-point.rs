//! The charge-point simulator: `K` stations of one OCPP version against a
//! CSMS, each booting and charging (or idling until Ctrl-C); see
//! [`ocpp_examples::sim`]. Exits non-zero if any station failed.

use std::process::ExitCode;

use ocpp_examples::sim::{CommandLine, Scenario, USAGE, run_station};
use tokio::sync::watch;

#[tokio::main]
async fn main() -> ExitCode {
    let command_line = match CommandLine::parse(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(message) => {
            eprintln!("{message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let (stop_tx, stop) = watch::channel(false);
    if command_line.station.scenario == Scenario::Idle {
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            let _ = stop_tx.send(true);
        });
    }
    let tasks: Vec<_> = command_line
        .stations()
        .into_iter()
        .map(|mut options| {
            options.stop = Some(stop.clone());
            let id = options.id.clone();
            (id, tokio::spawn(run_station(options)))
        })
        .collect();
    let mut results = Vec::new();
    for (id, task) in tasks {
        results.push((id, task.await));
    }
    let mut failed = false;
    println!("--- summary ---");
    for (id, result) in results {
        match result {
            Ok(Ok(report)) => {
                failed |= !report.errors.is_empty();
                println!("{report}");
                for error in &report.errors {
                    println!("{id}:   error: {error}");
                }
            }
            Ok(Err(error)) => {
                failed = true;
                println!("{id}: FAILED: {error}");
            }
            Err(error) => {
                failed = true;
                println!("{id}: FAILED: the station's task ended: {error}");
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
