//! HTTP front-end: CONNECT tunnels and absolute-form forwarding (hyper).

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Bytes, Frame, Incoming};
use hyper::ext::ReasonPhrase;
use hyper::header::{HeaderMap, HeaderName, HeaderValue, CONNECTION, HOST};
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpStream;

use super::audit::Audit;
use super::events::Protocol;
use super::tunnel::relay;
use super::upstream::{open, Refusal};
use super::Shared;

/// Body of every response we produce or forward.
type ProxyBody = BoxBody<Bytes, hyper::Error>;

/// Exact body of a policy denial (srt-compatible; clients match on it).
pub const BLOCKED_BODY: &str = "Connection blocked by network allowlist";
/// Marker header of a policy denial.
pub const BLOCKED_HEADER: &str = "x-proxy-error";
pub const BLOCKED_VALUE: &str = "blocked-by-allowlist";

/// Hop-by-hop headers (RFC 9110 §7.6.1) plus proxy credentials, which must
/// never travel to the origin.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "proxy-connection",
    "keep-alive",
    "proxy-authorization",
    "proxy-authenticate",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

pub(crate) async fn serve(stream: TcpStream, shared: Arc<Shared>) {
    let cfg = &shared.config;
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(cfg.header_read_timeout)
        .max_buf_size(cfg.max_header_bytes.max(8192))
        .max_headers(100);
    let svc_shared = shared.clone();
    let service = hyper::service::service_fn(move |req| handle(req, svc_shared.clone()));
    let conn = builder
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    if let Err(e) = conn.await {
        tracing::debug!("proxy http connection ended: {e}");
    }
}

async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
) -> Result<Response<ProxyBody>, Infallible> {
    Ok(if req.method() == Method::CONNECT {
        connect(req, shared).await
    } else {
        forward(req, shared).await
    })
}

/// `CONNECT host:port`: dial first so failures get a real status, then
/// answer 200 and splice the two sockets together after hyper hands the
/// client connection back.
async fn connect(req: Request<Incoming>, shared: Arc<Shared>) -> Response<ProxyBody> {
    let Some(auth) = req.uri().authority().cloned() else {
        return text(StatusCode::BAD_REQUEST, "CONNECT needs host:port");
    };
    let Some(port) = auth.port_u16().filter(|p| *p != 0) else {
        return text(
            StatusCode::BAD_REQUEST,
            "CONNECT target has a missing or invalid port",
        );
    };
    let opened = match open(&shared, Protocol::HttpConnect, auth.host(), port).await {
        Ok(o) => o,
        Err(r) => return refusal(r),
    };
    let slot = super::server::Slot::take(&shared);
    tokio::spawn(async move {
        let _slot = slot;
        let (upstream, audit) = (opened.stream, opened.audit);
        match hyper::upgrade::on(req).await {
            Ok(upgraded) => match upgraded.downcast::<TokioIo<TcpStream>>() {
                Ok(parts) => {
                    let n = relay(parts.io.into_inner(), upstream, &parts.read_buf).await;
                    audit.add(n.up, n.down);
                }
                Err(_) => tracing::warn!("CONNECT upgrade returned an unexpected transport"),
            },
            Err(e) => tracing::debug!("CONNECT upgrade failed: {e}"),
        }
    });
    let mut resp = Response::new(empty());
    resp.extensions_mut()
        .insert(ReasonPhrase::from_static(b"Connection Established"));
    resp
}

/// Absolute-form `GET http://host[:port]/path`: check, dial, re-issue the
/// request in origin-form on a fresh upstream connection, stream back.
async fn forward(req: Request<Incoming>, shared: Arc<Shared>) -> Response<ProxyBody> {
    let uri = req.uri().clone();
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => {
            return text(
                StatusCode::BAD_REQUEST,
                "https:// URLs must be tunnelled with CONNECT",
            )
        }
        Some(_) => {
            return text(
                StatusCode::BAD_REQUEST,
                "only http:// URLs can be forwarded",
            )
        }
        None => {
            return text(
                StatusCode::BAD_REQUEST,
                "this is a proxy: send an absolute URL (http://host/path) or use CONNECT",
            )
        }
    }
    let Some(auth) = uri.authority().cloned() else {
        return text(StatusCode::BAD_REQUEST, "URL has no host");
    };
    let port = match auth.port() {
        None => 80,
        Some(p) => match p.as_u16() {
            0 => return text(StatusCode::BAD_REQUEST, "invalid port 0"),
            p => p,
        },
    };
    let opened = match open(&shared, Protocol::HttpForward, auth.host(), port).await {
        Ok(o) => o,
        Err(r) => return refusal(r),
    };
    let audit = Arc::new(opened.audit);
    let (sender, conn) =
        match hyper::client::conn::http1::handshake(TokioIo::new(opened.stream)).await {
            Ok(x) => x,
            Err(e) => return bad_gateway(&audit, &e.to_string()),
        };
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let host_value = match auth.as_str().rsplit_once('@') {
        Some((_, h)) => h.to_string(),
        None => auth.as_str().to_string(),
    };
    let (mut parts, body) = req.into_parts();
    parts.uri = match parts.uri.path_and_query() {
        Some(pq) => Uri::from(pq.clone()),
        None => Uri::from_static("/"),
    };
    parts.version = hyper::Version::HTTP_11;
    strip_hop_by_hop(&mut parts.headers);
    if let Ok(v) = HeaderValue::from_str(&host_value) {
        parts.headers.insert(HOST, v);
    }
    let up_body = Counted::new(body, audit.clone(), Direction::Up);
    let mut sender = sender;
    let upstream_req = Request::from_parts(parts, up_body);
    match sender.send_request(upstream_req).await {
        Ok(resp) => {
            let (mut parts, body) = resp.into_parts();
            strip_hop_by_hop(&mut parts.headers);
            Response::from_parts(parts, Counted::new(body, audit, Direction::Down).boxed())
        }
        Err(e) => bad_gateway(&audit, &e.to_string()),
    }
}

fn bad_gateway(audit: &Audit, why: &str) -> Response<ProxyBody> {
    audit.update(|d| d.reason = format!("{}; upstream: {why}", d.reason));
    text(StatusCode::BAD_GATEWAY, &format!("upstream error: {why}"))
}

/// Remove hop-by-hop headers, including any named by `Connection`.
fn strip_hop_by_hop(h: &mut HeaderMap) {
    let named: Vec<HeaderName> = h
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok())
        .collect();
    for n in named {
        h.remove(n);
    }
    for n in HOP_BY_HOP {
        h.remove(*n);
    }
}

/// Map a refusal to the HTTP answer.
fn refusal(r: Refusal) -> Response<ProxyBody> {
    match r {
        Refusal::Invalid(why) => text(StatusCode::BAD_REQUEST, &why),
        Refusal::Denied(why) => blocked(&why),
        Refusal::Refused(why) | Refusal::Unreachable(why) => text(StatusCode::BAD_GATEWAY, &why),
        Refusal::TimedOut(why) => text(StatusCode::GATEWAY_TIMEOUT, &why),
    }
}

/// The srt-compatible denial: 403, marker header, fixed body; the reason
/// travels in the status phrase, as srt v0.0.83 does.
pub(crate) fn blocked(reason: &str) -> Response<ProxyBody> {
    let mut resp = Response::new(full(BLOCKED_BODY.to_string()));
    *resp.status_mut() = StatusCode::FORBIDDEN;
    let h = resp.headers_mut();
    h.insert(BLOCKED_HEADER, HeaderValue::from_static(BLOCKED_VALUE));
    h.insert("content-type", HeaderValue::from_static("text/plain"));
    if let Ok(phrase) = ReasonPhrase::try_from(sanitize_phrase(reason).into_bytes()) {
        resp.extensions_mut().insert(phrase);
    }
    resp
}

/// Status phrases must be visible ASCII and spaces; keep them short.
fn sanitize_phrase(reason: &str) -> String {
    let s: String = reason
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(160)
        .collect();
    if s.trim().is_empty() {
        "Forbidden".into()
    } else {
        s
    }
}

fn text(status: StatusCode, msg: &str) -> Response<ProxyBody> {
    let mut resp = Response::new(full(format!("{msg}\n")));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("text/plain"));
    resp
}

fn full(s: String) -> ProxyBody {
    Full::new(Bytes::from(s))
        .map_err(|never| match never {})
        .boxed()
}

fn empty() -> ProxyBody {
    full(String::new())
}

#[derive(Clone, Copy)]
enum Direction {
    Up,
    Down,
}

/// A body that counts data bytes into the attempt's audit record; the
/// audit (and so the event) completes when both bodies are dropped.
struct Counted<B> {
    inner: B,
    audit: Arc<Audit>,
    dir: Direction,
}

impl<B> Counted<B> {
    fn new(inner: B, audit: Arc<Audit>, dir: Direction) -> Self {
        Counted { inner, audit, dir }
    }
}

impl<B: Body<Data = Bytes> + Unpin> Body for Counted<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                let n = data.len() as u64;
                let counter: &AtomicU64 = match self.dir {
                    Direction::Up => &self.audit.up,
                    Direction::Down => &self.audit.down,
                };
                counter.fetch_add(n, Ordering::Relaxed);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}
