//! A reverse proxy in front of the test registry that produces what the
//! real registry cannot: 429 with `Retry-After`, a bearer-token challenge
//! with its token service, `Link`-header pagination (registry 2.8.2 ignores
//! `n` and `last`), and synthetic tag lists of any length. It records every
//! request it forwards.

use std::{
    convert::Infallible,
    sync::{Arc, Mutex},
};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode, body::Incoming, service::service_fn};
use hyper_util::{
    client::legacy::Client,
    rt::{TokioExecutor, TokioIo},
};

/// What the proxy does to requests.
#[derive(Default, Clone)]
pub struct Behaviour {
    /// Answer the next N requests with 429.
    pub rate_limit_next: u32,
    /// The `Retry-After` of those 429s.
    pub retry_after: Option<String>,
    /// Require `Authorization: Bearer <token>`, issued by `/token` to these
    /// Basic credentials.
    pub bearer: Option<BearerAuth>,
    /// Serve tag lists in pages of this size with `Link` headers.
    pub page_size: Option<usize>,
    /// Serve this tag list (sorted) instead of the registry's.
    pub synthetic_tags: Option<Vec<String>>,
}

/// A token service's expectations.
#[derive(Clone)]
pub struct BearerAuth {
    pub username: String,
    pub password: String,
    pub token: String,
}

struct State {
    upstream: String,
    own_addr: String,
    behaviour: Mutex<Behaviour>,
    seen: Mutex<Vec<String>>,
}

/// A running proxy.
pub struct Proxy {
    /// `127.0.0.1:PORT`.
    pub addr: String,
    state: Arc<State>,
}

impl Proxy {
    pub async fn start(upstream: &str, behaviour: Behaviour) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address").to_string();
        let state = Arc::new(State {
            upstream: upstream.to_owned(),
            own_addr: addr.clone(),
            behaviour: Mutex::new(behaviour),
            seen: Mutex::new(Vec::new()),
        });
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let served = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = served.clone();
                let client = client.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| handle(state.clone(), client.clone(), request));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Proxy { addr, state }
    }

    /// `METHOD path?query` of every request, in order.
    pub fn seen(&self) -> Vec<String> {
        self.state.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub fn set(&self, behaviour: Behaviour) {
        if let Ok(mut current) = self.state.behaviour.lock() {
            *current = behaviour;
        }
    }
}

type Upstream = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

fn answer(status: StatusCode, headers: &[(&str, String)], body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (name.parse::<hyper::header::HeaderName>(), value.parse()) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

async fn handle(
    state: Arc<State>,
    client: Upstream,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path_and_query = request
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    if let Ok(mut seen) = state.seen.lock() {
        seen.push(format!("{} {path_and_query}", request.method()));
    }
    let behaviour = state.behaviour.lock().map(|b| b.clone()).unwrap_or_default();

    if behaviour.rate_limit_next > 0 {
        if let Ok(mut current) = state.behaviour.lock() {
            current.rate_limit_next -= 1;
        }
        let headers: Vec<(&str, String)> = behaviour
            .retry_after
            .iter()
            .map(|v| ("retry-after", v.clone()))
            .collect();
        return Ok(answer(
            StatusCode::TOO_MANY_REQUESTS,
            &headers,
            r#"{"errors":[{"code":"TOOMANYREQUESTS"}]}"#,
        ));
    }

    if let Some(auth) = &behaviour.bearer {
        if request.uri().path() == "/token" {
            let expected = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", auth.username, auth.password))
            );
            let given = request
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            return Ok(if given == expected {
                answer(
                    StatusCode::OK,
                    &[("content-type", "application/json".into())],
                    format!(r#"{{"token":"{}","expires_in":300}}"#, auth.token),
                )
            } else {
                answer(StatusCode::UNAUTHORIZED, &[], "")
            });
        }
        let bearer = format!("Bearer {}", auth.token);
        if request.headers().get("authorization").and_then(|v| v.to_str().ok()) != Some(bearer.as_str()) {
            let challenge = format!(r#"Bearer realm="http://{}/token",service="refit-test""#, state.own_addr);
            return Ok(answer(
                StatusCode::UNAUTHORIZED,
                &[("www-authenticate", challenge)],
                r#"{"errors":[{"code":"UNAUTHORIZED"}]}"#,
            ));
        }
    }

    let path = request.uri().path().to_owned();
    if path.ends_with("/tags/list") && (behaviour.page_size.is_some() || behaviour.synthetic_tags.is_some()) {
        let name = path
            .trim_start_matches("/v2/")
            .trim_end_matches("/tags/list")
            .to_owned();
        let mut tags = match &behaviour.synthetic_tags {
            Some(tags) => tags.clone(),
            None => upstream_tags(&client, &state.upstream, &path).await,
        };
        tags.sort();
        let query = request.uri().query().unwrap_or_default().to_owned();
        let param = |key: &str| {
            query
                .split('&')
                .find_map(|pair| pair.strip_prefix(&format!("{key}=")).map(str::to_owned))
        };
        let last = param("last");
        let size = behaviour.page_size.unwrap_or(usize::MAX);
        let start = last.map_or(0, |last| tags.partition_point(|t| t.as_str() <= last.as_str()));
        let page: Vec<String> = tags.iter().skip(start).take(size).cloned().collect();
        let mut headers = vec![("content-type", "application/json".to_owned())];
        if start + page.len() < tags.len()
            && let Some(last_tag) = page.last()
        {
            headers.push((
                "link",
                format!(r#"</v2/{name}/tags/list?last={last_tag}&n={size}>; rel="next""#),
            ));
        }
        let body = serde_json::json!({"name": name, "tags": page}).to_string();
        return Ok(answer(StatusCode::OK, &headers, body));
    }

    Ok(forward(&client, &state.upstream, request).await)
}

async fn upstream_tags(client: &Upstream, upstream: &str, path: &str) -> Vec<String> {
    let Ok(uri) = format!("http://{upstream}{path}").parse::<hyper::Uri>() else {
        return Vec::new();
    };
    let Ok(response) = client.get(uri).await else {
        return Vec::new();
    };
    let Ok(body) = response.into_body().collect().await else {
        return Vec::new();
    };
    serde_json::from_slice::<serde_json::Value>(&body.to_bytes())
        .ok()
        .and_then(|v| v.get("tags").and_then(|t| serde_json::from_value(t.clone()).ok()))
        .unwrap_or_default()
}

async fn forward(client: &Upstream, upstream: &str, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let path = parts.uri.path_and_query().map(|p| p.to_string()).unwrap_or_default();
    let Ok(uri) = format!("http://{upstream}{path}").parse::<hyper::Uri>() else {
        return answer(StatusCode::BAD_GATEWAY, &[], "bad upstream URI");
    };
    let mut outgoing = Request::builder().method(parts.method).uri(uri);
    for (name, value) in &parts.headers {
        if name != "host" && name != "authorization" {
            outgoing = outgoing.header(name, value);
        }
    }
    let Ok(outgoing) = outgoing.body(Full::new(body)) else {
        return answer(StatusCode::BAD_GATEWAY, &[], "bad request");
    };
    match client.request(outgoing).await {
        Ok(response) => {
            let (parts, body) = response.into_parts();
            let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            Response::from_parts(parts, Full::new(body))
        }
        Err(_) => answer(StatusCode::BAD_GATEWAY, &[], "upstream failed"),
    }
}
