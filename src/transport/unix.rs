//! A Kea daemon's UNIX control socket: one bare JSON object per connection, and the
//! daemon closes the connection right after its answer (end of file = end of message).

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use super::{Answer, Endpoint, RequestRef, TransportError, TransportOptions, wire};

pub(super) struct UnixTransport {
    endpoint: Endpoint,
    options: TransportOptions,
}

impl UnixTransport {
    pub(super) fn new(endpoint: Endpoint, options: TransportOptions) -> Self {
        Self { endpoint, options }
    }

    pub(super) fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    pub(super) async fn send(&self, request: RequestRef<'_>) -> Result<Answer, TransportError> {
        let bytes = self.bounded(request).await?;
        let v = wire::parse(&bytes).map_err(|e| {
            TransportError::BadAnswer(format!(
                "{} sent an answer that is not JSON: {e}",
                self.endpoint
            ))
        })?;
        let digest = wire::digest(&bytes);
        drop(bytes);
        Answer::from_object(v).map(|a| Answer { digest, ..a })
    }

    /// The digest of the answer's bytes, not read any further.
    pub(super) async fn digest(&self, request: RequestRef<'_>) -> Result<u64, TransportError> {
        Ok(wire::digest(&self.bounded(request).await?))
    }

    /// One exchange within the total timeout.
    async fn bounded(&self, request: RequestRef<'_>) -> Result<Vec<u8>, TransportError> {
        match tokio::time::timeout(self.options.timeout, self.exchange(request)).await {
            Ok(r) => r,
            Err(_) => Err(TransportError::Timeout {
                endpoint: self.endpoint.to_string(),
                after: self.options.timeout,
            }),
        }
    }

    async fn exchange(&self, request: RequestRef<'_>) -> Result<Vec<u8>, TransportError> {
        let endpoint = self.endpoint.to_string();
        let path = self
            .endpoint
            .path
            .as_ref()
            .expect("UNIX endpoints have a path");
        let mut stream =
            match tokio::time::timeout(self.options.connect_timeout, UnixStream::connect(path))
                .await
            {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    return Err(TransportError::Connect {
                        endpoint,
                        reason: e.to_string(),
                    });
                }
                Err(_) => {
                    return Err(TransportError::ConnectTimeout {
                        endpoint,
                        after: self.options.connect_timeout,
                    });
                }
            };
        // The daemon ignores `service`; it is left out.
        let body = request.encode(false)?;
        let io_err = |e: std::io::Error| TransportError::Io {
            endpoint: self.endpoint.to_string(),
            reason: e.to_string(),
        };
        stream.write_all(&body).await.map_err(io_err)?;
        stream.flush().await.map_err(io_err)?;
        let limit = self.options.max_answer_bytes;
        let mut buf = Vec::with_capacity(64 * 1024);
        let mut chunk = vec![0u8; 256 * 1024];
        loop {
            let n = stream.read(&mut chunk).await.map_err(io_err)?;
            if n == 0 {
                break;
            }
            if buf.len() + n > limit {
                return Err(TransportError::TooLarge {
                    endpoint: self.endpoint.to_string(),
                    limit,
                });
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        if buf.is_empty() {
            return Err(TransportError::BadAnswer(format!(
                "{} closed the connection without an answer",
                self.endpoint
            )));
        }
        Ok(buf)
    }
}
