//! `servitorctl`: the status of a running servitor application, in the
//! terminal. It reads the application's HTTP endpoint (`servitor::http`) —
//! `/services` for one look, `/services/events` to follow — or, with
//! `--nats`, the health every process of a fleet publishes on NATS; it
//! links neither actix nor tokio: its data types come from
//! `servitor-health`.
//!
//! ```text
//! servitorctl                          # the table; exit code 0 when healthy
//! servitorctl --watch                  # redrawn on every change (a line per change when piped)
//! servitorctl db cache --detailed      # some services, with their details
//! servitorctl --json | jq .status      # for scripts
//! servitorctl --nats nats://127.0.0.1:4222 --app shop   # every process of the fleet
//! ```

mod client;
mod nats;
mod render;

use anstream::{eprintln, print, println};
use clap::{Parser, ValueEnum};
use client::{Client, Event, FetchError};
use servitor_health::{in_subtree, HealthReport, HealthSnapshot, Status};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Every shown service is ok, idle or busy.
pub const EXIT_HEALTHY: u8 = 0;
/// Something needs attention (warning, degraded; or starting, stopping).
pub const EXIT_ATTENTION: u8 = 1;
/// Something is failing (error, failed, stale).
pub const EXIT_FAILING: u8 = 2;
/// Bad arguments.
pub const EXIT_USAGE: u8 = 64;
/// The endpoint answered, but not as a servitor endpoint does.
pub const EXIT_BAD_ANSWER: u8 = 65;
/// No service matches the names given.
pub const EXIT_NO_MATCH: u8 = 66;
/// Nothing answered at the endpoint's address.
pub const EXIT_UNREACHABLE: u8 = 69;
/// The endpoint refused: a token is needed, or details are never shown.
pub const EXIT_REFUSED: u8 = 77;

const AFTER_HELP: &str = "\
Exit codes:
   0  every shown service is ok, idle or busy
   1  something needs attention (warning, degraded, starting, stopping, stopped)
   2  something is failing (error, failed, stale)
  64  bad arguments            65  not a servitor endpoint
  66  no service matches       69  the endpoint is unreachable
  77  refused: a token is needed (--token), or details are never shown";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorWhen {
    Auto,
    Always,
    Never,
}

/// The status of a running servitor application, read from its HTTP endpoint.
#[derive(Debug, Parser)]
#[command(name = "servitorctl", version, after_help = AFTER_HELP)]
struct Args {
    /// Show only these services (a name, or part of one); a supervisor's
    /// name brings its whole subtree.
    names: Vec<String>,

    /// The application's endpoint.
    #[arg(
        short,
        long,
        env = "SERVITOR_URL",
        default_value = "http://127.0.0.1:9898"
    )]
    url: String,

    /// The bearer token, if the endpoint shows details to authorised callers only.
    #[arg(short, long, env = "SERVITOR_TOKEN", hide_env_values = true)]
    token: Option<String>,

    /// Include stopped services and the final records of ended ones.
    #[arg(short, long)]
    all: bool,

    /// Show each service's path, last failure and health details below the table.
    #[arg(short, long)]
    detailed: bool,

    /// Follow the event stream: redraw on every change (one line per change
    /// when the output is not a terminal). Ctrl-C ends it.
    #[arg(short, long, conflicts_with = "json")]
    watch: bool,

    /// Print the snapshot of the shown services as JSON.
    #[arg(long)]
    json: bool,

    /// Explain the symbols and exit codes.
    #[arg(long)]
    legend: bool,

    /// Read the fleet's health from NATS instead of one endpoint: every
    /// process that publishes on `servitor.health.>` (servitor's `nats`
    /// bridge), one node per process, stale when its heartbeat stopped.
    #[arg(long, env = "SERVITOR_NATS", value_name = "URL")]
    nats: Option<String>,

    /// With --nats: only this application's processes.
    #[arg(long, requires = "nats")]
    app: Option<String>,

    /// With --nats: seconds to listen before showing the fleet (at least
    /// one heartbeat interval of the processes, 2 s by default).
    #[arg(long, default_value_t = 3.0, value_parser = positive_seconds, requires = "nats")]
    listen: f64,

    /// Seconds to wait for the endpoint.
    #[arg(long, default_value_t = 5.0, value_parser = positive_seconds)]
    timeout: f64,

    /// Colours: auto (when the output is a terminal and NO_COLOR is unset), always, never.
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto)]
    color: ColorWhen,
}

fn positive_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 3600.0 => Ok(v),
        _ => Err(format!(
            "`{s}` is not a number of seconds between 0 and 3600"
        )),
    }
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) => {
            let code = if e.use_stderr() {
                EXIT_USAGE
            } else {
                EXIT_HEALTHY
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match args.color {
        ColorWhen::Always => anstream::ColorChoice::Always.write_global(),
        ColorWhen::Never => anstream::ColorChoice::Never.write_global(),
        ColorWhen::Auto => {}
    }
    let client = Client::new(
        &args.url,
        args.token.clone(),
        Duration::from_secs_f64(args.timeout),
    );
    let code = match (&args.nats, args.watch) {
        (Some(url), true) => fleet_watch(&args, url),
        (Some(url), false) => fleet_once(&args, url),
        (None, true) => watch(&args, &client),
        (None, false) => once(&args, &client),
    };
    ExitCode::from(code)
}

/// The services to show: filtered by name, without stopped ones unless
/// `--all`.
fn shown(args: &Args, snapshot: &HealthSnapshot) -> HealthSnapshot {
    let matching: Vec<&HealthReport> = if args.names.is_empty() {
        snapshot.services.iter().collect()
    } else {
        let supervisors: Vec<&str> = snapshot
            .services
            .iter()
            .filter(|r| args.names.iter().any(|n| &r.name == n))
            .map(|r| r.path.as_str())
            .collect();
        snapshot
            .services
            .iter()
            .filter(|r| {
                args.names.iter().any(|n| r.name.contains(n.as_str()))
                    || supervisors.iter().any(|p| in_subtree(&r.path, p))
            })
            .collect()
    };
    let visible = matching
        .into_iter()
        .filter(|r| {
            args.all || !(r.status == Status::Stopped || (r.is_ended() && !r.status.is_fault()))
        })
        .cloned()
        .collect();
    HealthSnapshot::new(visible)
}

/// 0, 1 or 2 from the worst status of the shown services.
fn verdict(snapshot: &HealthSnapshot) -> u8 {
    let worst = snapshot
        .services
        .iter()
        .filter(|r| r.counts_toward_health())
        .map(|r| r.status)
        .max();
    match worst {
        None => EXIT_HEALTHY,
        Some(s) if s.is_healthy() => EXIT_HEALTHY,
        Some(Status::Error | Status::Failed | Status::Stale) => EXIT_FAILING,
        Some(_) => EXIT_ATTENTION,
    }
}

fn fail(e: &FetchError) -> u8 {
    eprintln!("servitorctl: {e}");
    e.exit_code()
}

fn terminal_width() -> Option<u16> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .or(Some(120))
}

fn once(args: &Args, client: &Client) -> u8 {
    match client.snapshot() {
        Ok(snapshot) => show(args, &snapshot),
        Err(e) => fail(&e),
    }
}

fn fleet_listener(args: &Args, url: &str) -> Result<nats::Listener, FetchError> {
    nats::Listener::connect(
        url,
        args.app.as_deref(),
        Duration::from_secs_f64(args.timeout),
    )
}

/// Listens for `--listen` seconds, then shows every process heard from.
fn fleet_once(args: &Args, url: &str) -> u8 {
    let mut fleet = nats::new_fleet();
    let gathered = fleet_listener(args, url)
        .and_then(|mut l| nats::gather(&mut l, &mut fleet, Duration::from_secs_f64(args.listen)));
    if let Err(e) = gathered {
        return fail(&e);
    }
    let snapshot = fleet.snapshot(Instant::now()).to_health_snapshot();
    if snapshot.services.is_empty() {
        eprintln!(
            "servitorctl: no process published its health on {} within {}s{}",
            nats::shown(url),
            args.listen,
            args.app
                .as_ref()
                .map(|a| format!(" for the app `{a}`"))
                .unwrap_or_default()
        );
        return EXIT_NO_MATCH;
    }
    show(args, &snapshot)
}

/// Redraws the fleet every second (a line per status change when piped).
fn fleet_watch(args: &Args, url: &str) -> u8 {
    let redraw = std::io::stdout().is_terminal();
    let started = Instant::now();
    let mut listener = match fleet_listener(args, url) {
        Ok(l) => l,
        Err(e) => return fail(&e),
    };
    let mut fleet = nats::new_fleet();
    let mut before: std::collections::BTreeMap<String, Status> = Default::default();
    loop {
        if let Err(e) = nats::gather(&mut listener, &mut fleet, Duration::from_secs(1)) {
            return fail(&e);
        }
        let now = Instant::now();
        fleet.prune(now);
        let snapshot = fleet.snapshot(now).to_health_snapshot();
        if redraw {
            draw(args, &nats::shown(url), &snapshot, started);
            continue;
        }
        for r in &shown(args, &snapshot).services {
            let from = before.insert(r.path.clone(), r.status);
            if from != Some(r.status) {
                println!(
                    "{}",
                    render::transition(
                        started.elapsed().as_millis() as u64,
                        &r.path,
                        from,
                        r.status,
                        r.message.as_deref(),
                    )
                );
            }
        }
    }
}

/// Prints the shown part of `snapshot` as asked and returns the exit code.
fn show(args: &Args, snapshot: &HealthSnapshot) -> u8 {
    let view = shown(args, snapshot);
    if !args.names.is_empty() && view.services.is_empty() {
        eprintln!(
            "servitorctl: no service matches {} (of {} registered{})",
            args.names.join(", "),
            snapshot.services.len(),
            if args.all {
                ""
            } else {
                "; --all includes stopped ones"
            }
        );
        return EXIT_NO_MATCH;
    }
    if args.json {
        match serde_json::to_string_pretty(&view) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("servitorctl: {e}"),
        }
        return verdict(&view);
    }
    print!("{}", render::table(&view, terminal_width()));
    if args.detailed {
        print!("{}", render::details(&view));
    }
    if args.legend {
        println!();
        print!("{}", render::legend());
    }
    verdict(&view)
}

/// Follows the stream until the endpoint goes away (after a few tries to
/// reconnect) or the process is interrupted.
fn watch(args: &Args, client: &Client) -> u8 {
    let redraw = std::io::stdout().is_terminal();
    let started = Instant::now();
    let mut snapshot = HealthSnapshot::new(Vec::new());
    let mut failures = 0;
    loop {
        let mut seen_any = false;
        let result = client.follow(|event| {
            seen_any = true;
            match event {
                Event::Snapshot(s) => {
                    snapshot = s;
                    if redraw {
                        draw(args, &args.url, &snapshot, started);
                    }
                }
                Event::Status(change) => {
                    let shown_now = shown(
                        args,
                        &HealthSnapshot::new(change.report.clone().into_iter().collect()),
                    );
                    apply(&mut snapshot, &change);
                    if redraw {
                        draw(args, &args.url, &snapshot, started);
                    } else if args.names.is_empty() || !shown_now.services.is_empty() {
                        println!(
                            "{}",
                            render::transition(
                                started.elapsed().as_millis() as u64,
                                &change.name,
                                change.from,
                                change.status,
                                change.message.as_deref(),
                            )
                        );
                    }
                }
            }
            true
        });
        match result {
            Err(FetchError::Unreachable { .. })
                if failures < 3 && started.elapsed() > Duration::from_secs(1) => {}
            Err(e) => return fail(&e),
            Ok(()) => {}
        }
        if seen_any {
            failures = 0;
        }
        failures += 1;
        if failures > 3 {
            eprintln!("servitorctl: the endpoint {} went away", args.url);
            return EXIT_UNREACHABLE;
        }
        eprintln!("servitorctl: the event stream ended; reconnecting…");
        std::thread::sleep(Duration::from_secs(1));
    }
}

fn apply(snapshot: &mut HealthSnapshot, change: &client::StatusEvent) {
    let mut services = std::mem::take(&mut snapshot.services);
    let updated = change.report.clone().map(|mut r| {
        r.status = change.status;
        r.message = change.message.clone();
        r
    });
    match services.iter_mut().find(|r| r.name == change.name) {
        Some(r) => match updated {
            Some(u) => *r = u,
            None => {
                r.status = change.status;
                r.message = change.message.clone();
            }
        },
        None => {
            if let Some(u) = updated {
                services.push(u);
                services.sort_by(|a, b| a.path.cmp(&b.path));
            }
        }
    }
    *snapshot = HealthSnapshot::new(services);
}

fn draw(args: &Args, source: &str, snapshot: &HealthSnapshot, started: Instant) {
    let view = shown(args, snapshot);
    let mut screen = String::from("\x1b[H\x1b[2J");
    screen.push_str(&format!(
        "{} — watching for {}s (Ctrl-C ends)\n\n",
        source,
        started.elapsed().as_secs()
    ));
    screen.push_str(&render::table(&view, terminal_width()));
    if args.detailed {
        screen.push_str(&render::details(&view));
    }
    if args.legend {
        screen.push('\n');
        screen.push_str(&render::legend());
    }
    print!("{screen}");
}
