//! One keep-alive HTTP/1.1 connection for the timed phase: hyper's
//! connection-level client, with no pool, redirects or header building per
//! request, so the generator takes as little of the shared CPU as it can.

use http_body_util::BodyExt;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HeaderValue, AUTHORIZATION, HOST};
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Why a request got no status.
pub(crate) enum Failure {
    Connect,
    Transport,
}

impl Failure {
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Self::Connect => "connect-error",
            Self::Transport => "transport-error",
        }
    }
}

/// The node's address: a plain `http://` URL, since the node does not
/// terminate TLS.
pub(crate) struct Endpoint {
    authority: String,
    host: HeaderValue,
}

impl Endpoint {
    pub(crate) fn parse(node: &str) -> Result<Self, String> {
        let base: Uri = node
            .parse()
            .map_err(|err| format!("--node {node:?}: {err}"))?;
        if base.scheme_str() != Some("http") {
            return Err(format!(
                "--node {node:?}: bench drives plain http:// nodes only"
            ));
        }
        let authority = base
            .authority()
            .ok_or_else(|| format!("--node {node:?}: no host"))?
            .to_string();
        let host = HeaderValue::from_str(&authority).map_err(|err| err.to_string())?;
        Ok(Self { authority, host })
    }

    /// The timed requests' destination: `path` on this node.
    pub(crate) fn target(self, path: &str) -> Result<Target, String> {
        let uri = path
            .parse()
            .map_err(|err| format!("path {path:?}: {err}"))?;
        Ok(Target {
            authority: self.authority,
            host: self.host,
            uri,
        })
    }
}

/// Where the timed requests go.
#[derive(Clone)]
pub(crate) struct Target {
    authority: String,
    host: HeaderValue,
    uri: Uri,
}

/// One open connection.
pub(crate) struct Connection {
    sender: SendRequest<String>,
}

impl Connection {
    pub(crate) async fn open(target: &Target) -> Result<Self, Failure> {
        let stream = TcpStream::connect(&target.authority)
            .await
            .map_err(|_| Failure::Connect)?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|_| Failure::Connect)?;
        tokio::spawn(connection);
        Ok(Self { sender })
    }

    /// POSTs an empty body with `authorization`; the status once the whole
    /// answer has been read.
    pub(crate) async fn post(
        &mut self,
        target: &Target,
        authorization: &HeaderValue,
    ) -> Result<u16, Failure> {
        let mut request = Request::new(String::new());
        *request.method_mut() = Method::POST;
        *request.uri_mut() = target.uri.clone();
        let headers = request.headers_mut();
        headers.insert(HOST, target.host.clone());
        headers.insert(AUTHORIZATION, authorization.clone());
        self.sender.ready().await.map_err(|_| Failure::Transport)?;
        let response = self
            .sender
            .send_request(request)
            .await
            .map_err(|_| Failure::Transport)?;
        let status = response.status().as_u16();
        response
            .into_body()
            .collect()
            .await
            .map_err(|_| Failure::Transport)?;
        Ok(status)
    }
}
