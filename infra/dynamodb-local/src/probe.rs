//! Small network and log helpers for telling whether a local server (DynamoDB Local, or
//! another stand-in) is up, and why not.

use std::fs;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::time::Duration;

/// A port nothing listens on right now. DynamoDB Local has no option to choose its address
/// and binds every interface, so the port is checked there too. Another process may take
/// it before DynamoDB Local binds it; the caller then retries with a fresh one.
pub fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0))?;
    Ok(listener.local_addr()?.port())
}

/// Whether something on `port` accepts a connection and answers HTTP: a bound port only
/// shows the socket exists, an answer shows requests are being served.
pub fn answers_http(port: u16) -> bool {
    let wait = Duration::from_secs(2);
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&address, wait) else {
        return false;
    };
    let request = format!("GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.set_read_timeout(Some(wait)).is_err()
        || stream.set_write_timeout(Some(wait)).is_err()
        || stream.write_all(request.as_bytes()).is_err()
    {
        return false;
    }
    let mut status_line = [0u8; 12];
    stream.read_exact(&mut status_line).is_ok() && status_line.starts_with(b"HTTP/1.")
}

/// The end of a log, for error messages: enough to show a Java stack trace's cause.
pub fn log_tail(log: &Path) -> String {
    const LINES: usize = 30;
    match fs::read(log) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(LINES)..].join("\n")
        }
        Err(error) => format!("(could not read the log: {error})"),
    }
}
