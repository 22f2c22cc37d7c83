//! Load on the tokio transport over loopback: N OCPP 2.0.1 charge points,
//! each doing Heartbeat round trips back-to-back against one `Server`.
//!
//! Run with `cargo bench -p ocpp-rpc --features tokio --bench load` (options
//! after `--`: `--sizes 100,1000`, `--secs 3`); see `BENCHMARKS.md`.
//!
//! Three processes per N, each a re-exec of this binary, so that the
//! server's memory is measured alone:
//!
//! * the driver (no mode argument) runs one server process per N and prints
//!   the table;
//! * `--serve N --secs S`: binds a `Server` with a Heartbeat handler on
//!   127.0.0.1, reads its own VmRSS, starts the client process, waits until
//!   all N are connected, reads VmRSS again, says "go", and reports one line;
//! * `--clients N --addr A --secs S`: connects the N clients in batches,
//!   reports its own memory, waits for "go" on stdin, then every client calls
//!   Heartbeat back-to-back for S seconds; prints one summary line.
//!
//! Every process uses a multi-thread tokio runtime with 2 workers. Every
//! wait is bounded; a child that overruns is killed.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use ocpp_rpc::tokio::{ClientConfig, Connection, Router, Routers, Server, ServerConfig, connect};
use ocpp_types::{Version, v201};

/// Worker threads of each process's runtime.
const WORKERS: usize = 2;
/// Clients that connect at once.
const BATCH: usize = 50;
/// The longest a single Heartbeat may take before it counts as an error.
const CALL_LIMIT: Duration = Duration::from_secs(10);
/// The longest the connect phase may take.
const CONNECT_LIMIT: Duration = Duration::from_secs(120);

type P = v201::V201;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let number = |name: &str, default: u64| {
        value(name)
            .map(|v| {
                v.parse()
                    .unwrap_or_else(|_| panic!("{name} {v}: not a number"))
            })
            .unwrap_or(default)
    };
    let secs = number("--secs", 3);
    if let Some(n) = value("--clients") {
        let addr: SocketAddr = value("--addr").expect("--addr").parse().expect("--addr");
        clients(n.parse().expect("--clients"), addr, secs);
    } else if let Some(n) = value("--serve") {
        serve(n.parse().expect("--serve"), secs);
    } else {
        // `cargo bench` passes `--bench`; anything unknown is ignored.
        let sizes: Vec<usize> = value("--sizes")
            .unwrap_or_else(|| "100,1000".into())
            .split(',')
            .map(|s| s.trim().parse().expect("--sizes"))
            .collect();
        drive(&sizes, secs);
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// CPU time used by this process (all threads), in clock ticks (USER_HZ,
/// 100 a second on Linux), from `/proc/self/stat`.
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // utime and stime are fields 14 and 15; the command name before them
    // may hold spaces, so count from the closing parenthesis.
    let after = stat.rsplit_once(')').map_or("", |(_, a)| a);
    let fields: Vec<u64> = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse().ok())
        .collect();
    fields.iter().sum()
}

/// The machine's busy and total clock ticks over all cores, from `/proc/stat`.
fn machine_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let cpu: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .take(8)
        .filter_map(|f| f.parse().ok())
        .collect();
    let total: u64 = cpu.iter().sum();
    let idle = cpu.get(3).copied().unwrap_or(0) + cpu.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

/// This process's resident set, in KiB, from `/proc/self/status`.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// `key=value` pairs of a summary line.
fn fields(line: &str) -> HashMap<String, String> {
    line.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// A re-exec of this binary with piped stdin and stdout; its stdout lines
/// arrive on the receiver, read by a thread.
fn spawn_self(args: &[String]) -> (Child, ChildStdin, mpsc::Receiver<String>) {
    let exe = std::env::current_exe().expect("current_exe");
    let mut child = Command::new(exe)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn self");
    let stdin = child.stdin.take().expect("stdin");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, stdin, rx)
}

/// The next line that starts with `tag`, within `limit`.
fn line_from(lines: &mpsc::Receiver<String>, tag: &str, limit: Duration) -> Option<String> {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        match lines.recv_timeout(left) {
            Ok(line) if line.starts_with(tag) => return Some(line),
            Ok(line) => eprintln!("unexpected line from child: {line}"),
            Err(_) => return None,
        }
    }
}

/// Waits for `child` to exit within `limit`, else kills it.
fn finish(mut child: Child, limit: Duration, what: &str) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!("{what} overran; killing it");
    let _ = child.kill();
    let _ = child.wait();
}

// ---------------------------------------------------------------- driver

fn drive(sizes: &[usize], secs: u64) {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let rustc = Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map_or_else(|| "rustc ?".into(), |s| s.trim().to_owned());
    println!(
        "ocpp-rpc tokio transport, loopback 127.0.0.1, OCPP 2.0.1 Heartbeat round trips, {secs} s per N"
    );
    println!(
        "{cores} cores shared by the server process and the client process, \
         {WORKERS} tokio workers in each; {rustc}"
    );
    println!();
    println!(
        "| N | calls/s | p50 | p99 | max | errors | server RSS / conn | client RSS / conn \
         | cores: server + clients + other |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &n in sizes {
        let args = vec![
            "--serve".to_owned(),
            n.to_string(),
            "--secs".to_owned(),
            secs.to_string(),
        ];
        let (child, _stdin, lines) = spawn_self(&args);
        let limit = CONNECT_LIMIT + Duration::from_secs(secs) + Duration::from_secs(90);
        let line = line_from(&lines, "serve ", limit);
        finish(child, Duration::from_secs(20), "server process");
        let Some(line) = line else {
            println!("| {n} | no result from the server process within {limit:?} | | | | | | | |");
            continue;
        };
        let f = fields(&line);
        let get = |k: &str| f.get(k).map_or("?", String::as_str);
        let num = |k: &str| get(k).parse::<f64>().unwrap_or(f64::NAN);
        let connected = get("connected");
        let errors = if connected == n.to_string() {
            get("errors").to_owned()
        } else {
            format!("{} ({connected}/{n} connected)", get("errors"))
        };
        let (server, clients) = (num("server_cores"), num("client_cores"));
        let other = (num("machine_cores") - server - clients).max(0.0);
        println!(
            "| {n} | {:.0} | {} | {} | {} | {errors} | {:.1} KiB | {:.1} KiB \
             | {server:.2} + {clients:.2} + {other:.2} |",
            num("calls") / num("elapsed_s"),
            micros(num("p50_us")),
            micros(num("p99_us")),
            micros(num("max_us")),
            num("server_kib_per_conn"),
            num("client_kib_per_conn"),
        );
        eprintln!("N={n}: {line}");
    }
    println!();
    println!(
        "cores: average cores busy while the clients ran, from /proc: the server \
         process, the client process, and everything else on the machine"
    );
}

fn micros(us: f64) -> String {
    if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.0} µs")
    }
}

// ---------------------------------------------------------------- server

fn serve(n: usize, secs: u64) {
    let rt = runtime();
    let current_time: chrono::DateTime<chrono::Utc> =
        "2026-12-01T10:00:00Z".parse().expect("a time");
    let routers = Routers {
        v201: Router::new().on(move |_, _: v201::HeartbeatRequest| async move {
            Ok(v201::HeartbeatResponse {
                current_time,
                custom_data: None,
            })
        }),
        ..Routers::default()
    };
    let mut config = ServerConfig::default();
    config.versions = vec![Version::V201];
    config.keepalive.ping_interval = None;
    let mut server = rt
        .block_on(Server::bind(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            config,
            routers,
        ))
        .expect("bind");
    let addr = server.local_addr();
    // Take the accepted connections as an application would, and keep them;
    // publish `connection_count` for the main thread.
    let count = Arc::new(AtomicUsize::new(0));
    let published = Arc::clone(&count);
    let (stop_accepting, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let acceptor = rt.spawn(async move {
        let mut accepted = Vec::new();
        let mut tick = tokio::time::interval(Duration::from_millis(5));
        loop {
            tokio::select! {
                a = server.accept() => match a {
                    Some(a) => accepted.push(a),
                    None => break,
                },
                _ = tick.tick() => published.store(server.connection_count(), Ordering::Relaxed),
                _ = &mut stopped => break,
            }
        }
        (server, accepted.len())
    });
    // Let the runtime settle before the first reading.
    std::thread::sleep(Duration::from_millis(200));
    let before = rss_kib();

    let args = vec![
        "--clients".to_owned(),
        n.to_string(),
        "--addr".to_owned(),
        addr.to_string(),
        "--secs".to_owned(),
        secs.to_string(),
    ];
    let (child, mut stdin, lines) = spawn_self(&args);
    let Some(ready) = line_from(&lines, "connected ", CONNECT_LIMIT) else {
        eprintln!("the client process did not connect within {CONNECT_LIMIT:?}");
        finish(child, Duration::ZERO, "client process");
        println!("serve n={n} connected=0");
        return;
    };
    let ready = fields(&ready);
    let connected: usize = ready.get("ok").and_then(|v| v.parse().ok()).unwrap_or(0);
    let client_kib: f64 = ready.get("kib").and_then(|v| v.parse().ok()).unwrap_or(0.0);
    let connect_s = ready.get("secs").map_or("?", String::as_str).to_owned();
    // The server counts a connection from its TCP accept; wait until every
    // connected client is counted.
    let deadline = Instant::now() + Duration::from_secs(10);
    while count.load(Ordering::Relaxed) < connected && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(200));
    let after = rss_kib();
    let counted = count.load(Ordering::Relaxed);

    let (own_before, (busy_before, total_before)) = (cpu_ticks(), machine_ticks());
    let _ = writeln!(stdin, "go");
    let _ = stdin.flush();
    let limit = Duration::from_secs(secs) + CALL_LIMIT + Duration::from_secs(30);
    let result = line_from(&lines, "load ", limit);
    let (own_after, (busy_after, total_after)) = (cpu_ticks(), machine_ticks());
    // Cores in use on average while the clients ran: this process, and the
    // whole machine.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let window = (total_after - total_before).max(1) as f64 / cores;
    let server_cores = (own_after - own_before) as f64 / window;
    let machine_cores = (busy_after - busy_before) as f64 / window;
    // Still connected here: the client process has not exited yet.
    let counted_at_end = count.load(Ordering::Relaxed);
    drop(stdin);
    finish(child, Duration::from_secs(10), "client process");
    let _ = stop_accepting.send(());
    let (server, kept) = match rt.block_on(acceptor) {
        Ok((server, kept)) => (Some(server), kept),
        Err(_) => (None, 0),
    };
    if let Some(server) = server {
        rt.block_on(async {
            let _ = tokio::time::timeout(
                Duration::from_secs(5),
                server.shutdown(Duration::from_millis(100)),
            )
            .await;
        });
    }
    rt.shutdown_timeout(Duration::from_secs(1));

    let per_conn = if connected == 0 {
        0.0
    } else {
        after.saturating_sub(before) as f64 / connected as f64
    };
    eprintln!(
        "N={n}: server VmRSS {before} KiB before, {after} KiB with {counted} counted \
         ({kept} accepted and kept); {counted_at_end} counted at the end of the run"
    );
    println!(
        "serve n={n} connected={connected} connect_s={connect_s} \
         server_kib_per_conn={per_conn:.2} \
         client_kib_per_conn={client_kib:.2} server_cores={server_cores:.2} \
         machine_cores={machine_cores:.2} {}",
        result.as_deref().unwrap_or("load errors=timeout")
    );
}

// ---------------------------------------------------------------- clients

fn clients(n: usize, addr: SocketAddr, secs: u64) {
    let rt = runtime();
    std::thread::sleep(Duration::from_millis(200));
    let before = rss_kib();
    let url = format!("ws://{addr}/ocpp");
    let started = Instant::now();
    let (connections, failed) = rt.block_on(async {
        let mut connections: Vec<Connection<P>> = Vec::with_capacity(n);
        let mut failed = 0usize;
        let mut first_error = None;
        for batch in (0..n).collect::<Vec<_>>().chunks(BATCH) {
            if started.elapsed() > CONNECT_LIMIT / 2 {
                failed += batch.len();
                continue;
            }
            let mut set = tokio::task::JoinSet::new();
            for &i in batch {
                let mut config = ClientConfig::new(url.clone(), format!("CP-{i:05}"));
                config.reconnect = None;
                config.keepalive.ping_interval = None;
                set.spawn(async move { connect(&config, Router::<P>::new()).await });
            }
            while let Some(joined) = set.join_next().await {
                match joined {
                    Ok(Ok(c)) => connections.push(c),
                    Ok(Err(e)) => {
                        failed += 1;
                        first_error.get_or_insert(e.to_string());
                    }
                    Err(e) => {
                        failed += 1;
                        first_error.get_or_insert(e.to_string());
                    }
                }
            }
        }
        if let Some(e) = first_error {
            eprintln!("{failed} connects failed; the first: {e}");
        }
        (connections, failed)
    });
    let connect_time = started.elapsed();
    std::thread::sleep(Duration::from_millis(200));
    let after = rss_kib();
    let kib = if connections.is_empty() {
        0.0
    } else {
        after.saturating_sub(before) as f64 / connections.len() as f64
    };
    println!(
        "connected ok={} failed={failed} kib={kib:.2} secs={:.3}",
        connections.len(),
        connect_time.as_secs_f64()
    );
    let _ = std::io::stdout().flush();

    // Wait for "go", at most a minute; end on EOF or anything else.
    let (go_tx, go_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
        let _ = go_tx.send(line.trim() == "go");
    });
    if go_rx.recv_timeout(Duration::from_secs(60)) != Ok(true) {
        eprintln!("no go from the server process; stopping");
        rt.shutdown_timeout(Duration::from_secs(1));
        return;
    }

    let run = Duration::from_secs(secs);
    let (mut latencies, errors, elapsed, per_client, kept, client_cores) =
        rt.block_on(async move {
            let start = Instant::now();
            let ticks = cpu_ticks();
            let deadline = start + run;
            let mut set = tokio::task::JoinSet::new();
            for c in connections {
                set.spawn(async move {
                    let mut latencies: Vec<u32> = Vec::with_capacity(4096);
                    let mut errors = 0u64;
                    let mut first_error = None;
                    while Instant::now() < deadline {
                        let t = Instant::now();
                        let call = c.call(v201::HeartbeatRequest::default());
                        match tokio::time::timeout(CALL_LIMIT, call).await {
                            Ok(Ok(_)) => {
                                let us = t.elapsed().as_micros();
                                latencies.push(u32::try_from(us).unwrap_or(u32::MAX));
                            }
                            Ok(Err(e)) => {
                                errors += 1;
                                first_error.get_or_insert(format!("{e:?}"));
                            }
                            Err(_) => {
                                errors += 1;
                                first_error.get_or_insert("no answer within 10 s".into());
                            }
                        }
                    }
                    (latencies, errors, first_error, c)
                });
            }
            let mut all = Vec::new();
            let mut errors = 0u64;
            let mut per_client = Vec::new();
            let mut kept = Vec::new();
            while let Some(joined) = set.join_next().await {
                let Ok((latencies, e, first_error, c)) = joined else {
                    errors += 1;
                    continue;
                };
                if let Some(first_error) = first_error {
                    eprintln!(
                        "{}: {e} errors, the first: {first_error}",
                        c.charge_point_id()
                    );
                }
                per_client.push(latencies.len());
                all.extend(latencies);
                errors += e;
                kept.push(c);
            }
            let elapsed = start.elapsed();
            let cores = (cpu_ticks() - ticks) as f64 / 100.0 / elapsed.as_secs_f64();
            (all, errors, elapsed, per_client, kept, cores)
        });
    latencies.sort_unstable();
    let pct = |p: f64| -> u32 {
        if latencies.is_empty() {
            return 0;
        }
        let rank = (p * latencies.len() as f64).ceil() as usize;
        latencies[rank.clamp(1, latencies.len()) - 1]
    };
    println!(
        "load calls={} errors={errors} elapsed_s={:.3} p50_us={} p99_us={} max_us={} \
         min_per_client={} max_per_client={} client_cores={client_cores:.2}",
        latencies.len(),
        elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        latencies.last().copied().unwrap_or(0),
        per_client.iter().min().copied().unwrap_or(0),
        per_client.iter().max().copied().unwrap_or(0),
    );
    let _ = std::io::stdout().flush();
    // Stay connected until the server process closes stdin, at most 10 s.
    let (eof_tx, eof_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = std::io::stdin().read_line(&mut String::new());
        let _ = eof_tx.send(());
    });
    let _ = eof_rx.recv_timeout(Duration::from_secs(10));
    drop(kept);
    rt.shutdown_timeout(Duration::from_secs(1));
}
