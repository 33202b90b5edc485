//! `servitorctl` as a process, without an application: arguments, help and
//! an endpoint nobody serves. (Against a running application it is tested
//! in the `servitor` package's `ops` suite.)

use std::process::Command;

fn ctl(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_servitorctl"))
        .args(args)
        .env_remove("SERVITOR_URL")
        .env_remove("SERVITOR_TOKEN")
        .output()
        .expect("servitorctl runs")
}

#[test]
fn help_lists_the_exit_codes_and_exits_0() {
    let out = ctl(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "--watch",
        "--json",
        "--legend",
        "--all",
        "--detailed",
        "Exit codes",
        "69",
    ] {
        assert!(text.contains(needle), "{needle} in {text}");
    }
}

#[test]
fn bad_arguments_exit_64() {
    let out = ctl(&["--no-such-flag"]);
    assert_eq!(out.status.code(), Some(64));
    let out = ctl(&["--watch", "--json"]);
    assert_eq!(out.status.code(), Some(64), "--watch and --json conflict");
}

#[test]
fn nobody_listening_exits_69_with_a_message() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let out = ctl(&["--url", &url]);
    assert_eq!(out.status.code(), Some(69));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot reach") && err.contains("connection refused"),
        "{err}"
    );
}

#[test]
fn something_else_answering_exits_65() {
    // A real local server that is not a servitor endpoint.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 1024];
        let _ = conn.read(&mut buf);
        let body = "<html>hello</html>";
        let _ = write!(
            conn,
            "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
    });
    let out = ctl(&["--url", &url]);
    server.join().unwrap();
    assert_eq!(out.status.code(), Some(65));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a health snapshot"));
}
