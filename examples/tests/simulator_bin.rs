//! The `charge-point` binary end to end: two 2.0.1 stations of two
//! connectors against the test CSMS, one short session on each connector
//! at once; it exits 0 and prints a summary.
//! A bad command line exits non-zero with the usage.

mod simulator_csms;

use std::process::{Command, Stdio};
use std::time::Duration;

use simulator_csms::{LIMIT, Seen, count, csms};

const BIN: &str = env!("CARGO_BIN_EXE_charge-point");

/// Runs the binary with `args`, killed if it outlasts [`LIMIT`]; its exit
/// success and its standard output.
async fn run(args: &[&str]) -> (bool, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = tokio::time::Instant::now() + LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if tokio::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("charge-point did not finish in time");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let output = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stations_charge_and_the_binary_exits_zero() {
    let seen = Seen::default();
    let server = csms(&seen, "Accepted").await;
    let url = format!("ws://{}/ocpp/SIM-BIN", server.local_addr());
    let (ok, out) = run(&[
        "--url",
        &url,
        "--version",
        "2.0.1",
        "--count",
        "2",
        "--session-secs",
        "2",
        "--connectors",
        "2",
    ])
    .await;
    assert!(ok, "{out}");
    for id in ["SIM-BIN", "SIM-BIN-2"] {
        assert!(out.contains(&format!("{id}: booted")), "{out}");
        for connector in [1, 2] {
            assert!(
                out.contains(&format!("{id}: connector {connector}: started tx 1")),
                "{out}"
            );
        }
        assert!(out.contains(&format!("{id}: 2 session(s)")), "{out}");
        assert!(
            out.contains(&format!("{id}:   connector 2 (SIM-{id}-2)")),
            "{out}"
        );
    }
    assert!(out.contains("--- summary ---"), "{out}");
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        count(&seen, "SIM-BIN TransactionEvent Ended"),
        2,
        "{seen:?}"
    );
    assert_eq!(
        count(&seen, "SIM-BIN-2 TransactionEvent Ended"),
        2,
        "{seen:?}"
    );
}

#[tokio::test]
async fn a_bad_command_line_prints_the_usage_and_fails() {
    let (ok, out) = run(&["--url", "ws://localhost:1/ocpp/X", "--version", "3"]).await;
    assert!(!ok);
    assert!(out.contains("usage: charge-point"), "{out}");
}
