//! A Kea daemon's UNIX control socket: one bare JSON object per connection, and the
//! daemon closes the connection right after its answer (end of file = end of message).
//!
//! One connection per command is how Kea's socket works, and registering each new
//! connection with tokio's reactor costs a wake-up of a runtime thread per command (about
//! 70 µs here, most of keascript's overhead per command). So the exchange first runs on the
//! calling thread with plain system calls, waiting for the socket with `poll(2)` in short
//! slices ([`SLICE`]); Kea usually answers within one. When it does not (a big
//! configuration, a busy or hung daemon), the same connection is handed to tokio and the
//! rest is awaited as usual, so the timeout and cancellation work as for any other future.
//! The calling thread is never held for longer than [`FAST_PATH_BUDGET`].

use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Answer, Endpoint, Request, TransportError, TransportOptions, wire};

/// The longest one wait for the socket on the calling thread.
const SLICE: Duration = Duration::from_millis(2);

/// The longest the calling thread does the exchange itself before handing it to tokio.
const FAST_PATH_BUDGET: Duration = Duration::from_millis(20);

pub(super) struct UnixTransport {
    endpoint: Endpoint,
    options: TransportOptions,
}

/// Where an exchange stands when it leaves the fast path.
enum Fast {
    /// The whole answer was read.
    Done(Vec<u8>),
    /// Kea was slow: `written` bytes of the request are sent, `read` bytes of the answer
    /// are in; the rest is awaited on tokio.
    Slow {
        stream: std::os::unix::net::UnixStream,
        written: usize,
        read: Vec<u8>,
    },
}

impl UnixTransport {
    pub(super) fn new(endpoint: Endpoint, options: TransportOptions) -> Self {
        Self { endpoint, options }
    }

    pub(super) fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    pub(super) async fn send(&self, request: &Request) -> Result<Answer, TransportError> {
        match tokio::time::timeout(self.options.timeout, self.exchange(request)).await {
            Ok(r) => r,
            Err(_) => Err(TransportError::Timeout {
                endpoint: self.endpoint.to_string(),
                after: self.options.timeout,
            }),
        }
    }

    fn io_err(&self, e: std::io::Error) -> TransportError {
        TransportError::Io {
            endpoint: self.endpoint.to_string(),
            reason: e.to_string(),
        }
    }

    fn too_large(&self) -> TransportError {
        TransportError::TooLarge {
            endpoint: self.endpoint.to_string(),
            limit: self.options.max_answer_bytes,
        }
    }

    async fn exchange(&self, request: &Request) -> Result<Answer, TransportError> {
        // The daemon ignores `service`; it is left out.
        let body = request.encode(false)?;
        let stream = self.connect().await?;
        let buf = match self.fast(stream, &body)? {
            Fast::Done(buf) => buf,
            Fast::Slow {
                stream,
                written,
                read,
            } => self.slow(stream, &body[written..], read).await?,
        };
        if buf.is_empty() {
            return Err(TransportError::BadAnswer(format!(
                "{} closed the connection without an answer",
                self.endpoint
            )));
        }
        let v = wire::parse(&buf).map_err(|e| {
            TransportError::BadAnswer(format!(
                "{} sent an answer that is not JSON: {e}",
                self.endpoint
            ))
        })?;
        Answer::from_object(v)
    }

    /// Connects without blocking the thread: a UNIX socket connects at once or fails at
    /// once, unless the daemon's backlog is full; then tokio waits, within the connect timeout.
    async fn connect(&self) -> Result<std::os::unix::net::UnixStream, TransportError> {
        let endpoint = self.endpoint.to_string();
        let path = self
            .endpoint
            .path
            .as_ref()
            .expect("UNIX endpoints have a path");
        let connect_error = |e: std::io::Error| TransportError::Connect {
            endpoint: endpoint.clone(),
            reason: e.to_string(),
        };
        let socket = socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None)
            .map_err(connect_error)?;
        socket.set_nonblocking(true).map_err(connect_error)?;
        let address = socket2::SockAddr::unix(path).map_err(connect_error)?;
        match socket.connect(&address) {
            Ok(()) => Ok(socket.into()),
            Err(e)
                if e.kind() == ErrorKind::WouldBlock
                    || e.raw_os_error() == Some(libc::EINPROGRESS)
                    || e.raw_os_error() == Some(libc::EAGAIN) =>
            {
                // The backlog is full: wait until the daemon accepts, on tokio.
                let std: std::os::unix::net::UnixStream = socket.into();
                let stream = tokio::net::UnixStream::from_std(std).map_err(connect_error)?;
                match tokio::time::timeout(self.options.connect_timeout, stream.writable()).await {
                    Ok(Ok(())) => {
                        if let Ok(Some(e)) = stream.take_error() {
                            return Err(connect_error(e));
                        }
                        stream.into_std().map_err(connect_error)
                    }
                    Ok(Err(e)) => Err(connect_error(e)),
                    Err(_) => Err(TransportError::ConnectTimeout {
                        endpoint,
                        after: self.options.connect_timeout,
                    }),
                }
            }
            Err(e) => Err(connect_error(e)),
        }
    }

    /// Writes the request and reads the answer on this thread while Kea keeps up.
    fn fast(
        &self,
        mut stream: std::os::unix::net::UnixStream,
        body: &[u8],
    ) -> Result<Fast, TransportError> {
        let started = Instant::now();
        let limit = self.options.max_answer_bytes;
        let mut written = 0;
        let mut read = Vec::new();
        let slow = |stream, written, read| {
            Ok(Fast::Slow {
                stream,
                written,
                read,
            })
        };
        while written < body.len() {
            match stream.write(&body[written..]) {
                Ok(n) => written += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    if started.elapsed() > FAST_PATH_BUDGET
                        || !wait(&stream, libc::POLLOUT).map_err(|e| self.io_err(e))?
                    {
                        return slow(stream, written, read);
                    }
                }
                Err(e) => return Err(self.io_err(e)),
            }
        }
        let mut chunk = [0u8; 64 * 1024];
        loop {
            match stream.read(&mut chunk) {
                Ok(0) => return Ok(Fast::Done(read)),
                Ok(n) => {
                    if read.len() + n > limit {
                        return Err(self.too_large());
                    }
                    read.extend_from_slice(&chunk[..n]);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    if started.elapsed() > FAST_PATH_BUDGET
                        || !wait(&stream, libc::POLLIN).map_err(|e| self.io_err(e))?
                    {
                        return slow(stream, written, read);
                    }
                }
                Err(e) => return Err(self.io_err(e)),
            }
        }
    }

    /// The rest of an exchange Kea is slow with, awaited on tokio.
    async fn slow(
        &self,
        stream: std::os::unix::net::UnixStream,
        rest: &[u8],
        mut buf: Vec<u8>,
    ) -> Result<Vec<u8>, TransportError> {
        let mut stream = tokio::net::UnixStream::from_std(stream).map_err(|e| self.io_err(e))?;
        if !rest.is_empty() {
            stream.write_all(rest).await.map_err(|e| self.io_err(e))?;
            stream.flush().await.map_err(|e| self.io_err(e))?;
        }
        let limit = self.options.max_answer_bytes;
        let mut chunk = vec![0u8; 256 * 1024];
        loop {
            let n = stream.read(&mut chunk).await.map_err(|e| self.io_err(e))?;
            if n == 0 {
                return Ok(buf);
            }
            if buf.len() + n > limit {
                return Err(self.too_large());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// Waits up to [`SLICE`] for `events` on the socket; `true` when it is ready (or closed).
fn wait(stream: &std::os::unix::net::UnixStream, events: libc::c_short) -> std::io::Result<bool> {
    let mut fd = libc::pollfd {
        fd: stream.as_raw_fd(),
        events,
        revents: 0,
    };
    loop {
        // SAFETY: one valid pollfd for a socket this function borrows.
        let n = unsafe { libc::poll(&mut fd, 1, SLICE.as_millis() as libc::c_int) };
        match n {
            0 => return Ok(false),
            n if n > 0 => return Ok(true),
            _ => {
                let e = std::io::Error::last_os_error();
                if e.kind() != ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::os::unix::net::UnixListener;
    use std::time::{Duration, Instant};

    use super::super::{Endpoint, Request, Transport, TransportError, TransportOptions};

    /// A one-connection server on a UNIX socket: reads the request (up to its closing
    /// brace), then runs `answer` on the connection.
    fn server(
        answer: impl FnOnce(&mut std::os::unix::net::UnixStream) + Send + 'static,
    ) -> (tempfile::TempDir, Transport) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kea.sock");
        let listener = UnixListener::bind(&path).unwrap();
        std::thread::spawn(move || {
            let (mut c, _) = listener.accept().unwrap();
            let mut got = Vec::new();
            let mut b = [0u8; 4096];
            while !got.ends_with(b"}") {
                let n = c.read(&mut b).unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&b[..n]);
            }
            answer(&mut c);
        });
        let options = TransportOptions {
            timeout: Duration::from_millis(1500),
            ..TransportOptions::default()
        };
        let endpoint = Endpoint::parse(&format!("unix:{}", path.display()), true).unwrap();
        (dir, Transport::new(endpoint, options).unwrap())
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn a_quick_answer_is_read_on_the_calling_thread() {
        let (_d, t) = server(|c| {
            c.write_all(br#"{"result": 0, "text": "quick"}"#).unwrap();
        });
        let a = rt().block_on(t.send(&Request::new("status-get"))).unwrap();
        assert_eq!(a.text.as_deref(), Some("quick"));
    }

    #[test]
    fn a_slow_answer_in_pieces_is_awaited_on_tokio_and_arrives_whole() {
        let (_d, t) = server(|c| {
            std::thread::sleep(Duration::from_millis(60));
            c.write_all(br#"{"result": 0, "#).unwrap();
            std::thread::sleep(Duration::from_millis(60));
            c.write_all(br#""text": "slow"}"#).unwrap();
        });
        let a = rt().block_on(t.send(&Request::new("status-get"))).unwrap();
        assert_eq!(a.text.as_deref(), Some("slow"));
    }

    #[test]
    fn a_daemon_that_never_answers_times_out_and_can_be_cancelled() {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let (_d, t) = server(move |_c| {
            let _ = rx.recv();
        });
        let started = Instant::now();
        let e = rt()
            .block_on(t.send(&Request::new("status-get")))
            .unwrap_err();
        assert!(matches!(e, TransportError::Timeout { .. }), "{e}");
        assert!(started.elapsed() < Duration::from_secs(10));
        // A select! on the same future stops it as soon as the other branch is ready: the
        // calling thread is not held by the socket.
        let (_d2, t2) = server(|_c| std::thread::sleep(Duration::from_secs(5)));
        let started = Instant::now();
        let request = Request::new("status-get");
        let cancelled = rt().block_on(async {
            tokio::select! {
                _ = t2.send(&request) => false,
                _ = tokio::time::sleep(Duration::from_millis(100)) => true,
            }
        });
        assert!(cancelled);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        drop(tx);
    }

    #[test]
    fn an_answer_over_the_limit_is_refused() {
        let (_d, t) = server(|c| {
            let _ = c.write_all(&vec![b' '; 200_000]);
        });
        let t = {
            let e = t.endpoint().clone();
            Transport::new(
                e,
                TransportOptions {
                    max_answer_bytes: 100_000,
                    ..TransportOptions::default()
                },
            )
            .unwrap()
        };
        let e = rt()
            .block_on(t.send(&Request::new("status-get")))
            .unwrap_err();
        assert!(matches!(e, TransportError::TooLarge { .. }), "{e}");
    }
}
