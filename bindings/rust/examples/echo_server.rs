//! echo_server: a tokio TCP echo server on 127.0.0.1, each connection a
//! traced task, with its own clients in the same process.
//!
//! The server accepts N connections (--clients, default 20); each is served
//! by `tokio::spawn(tasktrace::traced("conn", handle(sock)))`.  Each client
//! sends one line, reads the echo and then keeps its connection open
//! without sending more, so every "conn" task waits in tokio's socket read.
//! One more traced task, "ticker", waits in `tokio::select!` on a `sleep`
//! and an `mpsc` receive.  Prints "pid <PID>" once every client has had
//! its echo (after "listening 127.0.0.1:PORT"), then runs until killed or
//! for --seconds (default 300), accepting more connections.
//!
//! Usage: echo_server [--clients N] [--seconds S]; N is at most 10000
//! (each connection takes two descriptors: raise `ulimit -n` for large N).
//! Exit status 1 on error, 64 on bad usage.

use std::io::Write;
use std::net::SocketAddr;
use std::process::exit;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::sleep;

const MAX_CLIENTS: usize = 10000;

/// Echoes what the peer sends until it closes the connection.
async fn handle(mut sock: TcpStream) -> std::io::Result<()> {
    let mut buf = [0u8; 1024];
    loop {
        let n = sock.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        sock.write_all(&buf[..n]).await?;
    }
}

/// Waits for a tick or a message, whichever comes first, forever.
async fn ticker(mut rx: mpsc::Receiver<u32>) {
    loop {
        tokio::select! {
            _ = sleep(Duration::from_secs(3600)) => {}
            msg = rx.recv() => {
                if msg.is_none() {
                    return;
                }
            }
        }
    }
}

/// A client: one line there and back, then the connection stays open
/// (returned to the caller, which keeps it).
async fn client(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let mut s = TcpStream::connect(addr).await?;
    s.write_all(b"hello\n").await?;
    let mut buf = [0u8; 6];
    s.read_exact(&mut buf).await?;
    Ok(s)
}

fn usage() -> ! {
    eprintln!("usage: echo_server [--clients N] [--seconds S]");
    exit(64)
}

fn parse_args() -> (usize, u64) {
    let mut clients = 20;
    let mut seconds = 300;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--clients" => clients = v.parse().unwrap_or_else(|_| usage()),
            "--seconds" => seconds = v.parse().unwrap_or_else(|_| usage()),
            _ => usage(),
        }
    }
    if clients > MAX_CLIENTS {
        usage()
    }
    (clients, seconds)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let (clients, seconds) = parse_args();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| {
        eprintln!("echo_server: cannot listen on 127.0.0.1: {}", e);
        exit(1)
    });
    let addr = listener.local_addr().expect("bound");

    let (tx, rx) = mpsc::channel(1);
    tokio::spawn(tasktrace::traced("ticker", ticker(rx)));

    /* The accept loop runs until the end, so that more clients can come
     * (the tests check the server still echoes after dumps). */
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((sock, _)) => {
                    tokio::spawn(tasktrace::traced("conn", handle(sock)));
                }
                Err(e) => {
                    eprintln!("echo_server: accept: {}", e);
                    exit(1)
                }
            }
        }
    });
    let mut open = Vec::with_capacity(clients);
    for _ in 0..clients {
        match client(addr).await {
            Ok(s) => open.push(s),
            Err(e) => {
                eprintln!("echo_server: client: {}", e);
                exit(1)
            }
        }
    }

    println!("listening {}", addr);
    println!("pid {}", std::process::id());
    std::io::stdout().flush().expect("stdout");
    sleep(Duration::from_secs(seconds)).await;
    drop(open);
    drop(tx);
}
