//! The HTTP side: accepts connections on 127.0.0.1 (HTTP/1.1, no TLS),
//! reads each request, applies injected delays and write failures, routes
//! the path (`/api/v1/namespaces/{ns}/{plural}/{name}/{subresource}`,
//! `/apis/{group}/{version}/…`, discovery) and answers with JSON, Tables or
//! a watch stream. Every error is a `Status` object.

use std::{
    collections::HashMap,
    convert::Infallible,
    sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock},
    time::Duration,
};

use bytes::Bytes;
use http::{HeaderValue, Method, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::{body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::{
    discovery,
    faults::{Faults, Release},
    gc::{self, Propagation},
    objects::{self, FieldValidation, PatchType, Write},
    resources::{Registry, ResourceType},
    selectors::{FieldSelector, LabelSelector},
    status::{ApiError, Subject},
    store::Store,
    table::{self, Include},
    watch::{self, WatchRequest},
};

/// The body of every answer.
pub type Body = BoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

/// Everything the server shares between requests.
#[derive(Debug)]
pub struct State {
    /// The objects.
    pub store: Mutex<Store>,
    /// The served resource types.
    pub registry: RwLock<Registry>,
    /// Fault switches.
    pub faults: Faults,
    /// How often watches send BOOKMARKs.
    pub bookmark_interval: Duration,
    /// `host:port`, for `/api`.
    pub address: String,
    /// Print each request to stderr (`REFIT_APISERVER_LOG`).
    pub log: bool,
}

impl State {
    /// The store, locked. A panic while it was held leaves it usable: every
    /// write is a single `put` or `remove`, so it is never half-done.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The registry, for reading.
    pub fn registry(&self) -> std::sync::RwLockReadGuard<'_, Registry> {
        self.registry.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The registry, for changing.
    pub fn registry_mut(&self) -> std::sync::RwLockWriteGuard<'_, Registry> {
        self.registry.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Serves connections until the listener's task is dropped.
pub async fn serve(listener: TcpListener, state: Arc<State>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let state = state.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| handle(state.clone(), request));
            // A client that goes away mid-request is not the server's problem.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// One request, as the handlers see it.
#[derive(Debug)]
struct Request {
    method: Method,
    path: String,
    query: HashMap<String, String>,
    content_type: String,
    accept: String,
    user_agent: String,
    body: Bytes,
}

impl Request {
    fn param(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str)
    }

    fn flag(&self, name: &str) -> bool {
        matches!(self.param(name), Some("true" | "1"))
    }

    /// The field manager: the parameter, or the user agent's program name
    /// as real servers derive it.
    fn manager(&self) -> String {
        match self.param("fieldManager") {
            Some(m) if !m.is_empty() => m.to_string(),
            _ => self
                .user_agent
                .split('/')
                .next()
                .filter(|s| !s.is_empty())
                .unwrap_or("unknown")
                .to_string(),
        }
    }

    fn json_body(&self) -> Result<Value, ApiError> {
        if self.body.is_empty() {
            return Ok(json!({}));
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))
    }
}

/// An answer before it becomes an HTTP response.
enum Reply {
    Json(StatusCode, Value, Vec<String>),
    Text(StatusCode, &'static str),
    Stream(futures::channel::mpsc::Receiver<watch::Chunk>),
}

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never: Infallible| match never {})
        .boxed()
}

fn response(reply: Reply) -> Response<Body> {
    let mut builder = Response::builder();
    let (status, body, content_type) = match reply {
        Reply::Json(status, value, warnings) => {
            for warning in warnings {
                let text = format!("299 - \"{}\"", warning.replace('"', "\\\""));
                if let Ok(value) = HeaderValue::from_str(&text) {
                    builder = builder.header(header::WARNING, value);
                }
            }
            (status, full(value.to_string()), "application/json")
        }
        Reply::Text(status, text) => (status, full(text), "text/plain; charset=utf-8"),
        Reply::Stream(receiver) => (StatusCode::OK, StreamBody::new(receiver).boxed(), "application/json"),
    };
    builder
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .body(body)
        .unwrap_or_else(|_| Response::new(full("")))
}

fn error_reply(error: &ApiError) -> Reply {
    let status = StatusCode::from_u16(error.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    Reply::Json(status, error.to_status(), Vec::new())
}

async fn handle(state: Arc<State>, request: http::Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let header = |name: header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let request = Request {
        method: parts.method.clone(),
        path: parts.uri.path().to_string(),
        query: parts
            .uri
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default(),
        content_type: header(header::CONTENT_TYPE),
        accept: header(header::ACCEPT),
        user_agent: header(header::USER_AGENT),
        body,
    };
    let delay = state.faults.delay();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let held = match held_as(&request) {
        Some((plural, subresource)) => state.faults.wait_if_held(&plural, subresource.as_deref()).await,
        None => None,
    };
    let reply = if held == Some(Release::Fail) {
        error_reply(&ApiError::internal(
            "Internal error occurred: the write was held, then failed unapplied (injected fault)".to_owned(),
        ))
    } else {
        route(&state, &request).unwrap_or_else(|e| error_reply(&e))
    };
    if state.log {
        let status = match &reply {
            Reply::Json(status, ..) | Reply::Text(status, _) => status.as_u16(),
            Reply::Stream(_) => 200,
        };
        eprintln!(
            "refit-apiserver: {} {}{} -> {status}",
            request.method,
            request.path,
            parts.uri.query().map(|q| format!("?{q}")).unwrap_or_default()
        );
    }
    Ok(response(reply))
}

/// The resource and subresource a write's path names, for holds:
/// `.../{plural}/{name}[/{subresource}]` or `.../{plural}` (a create).
fn held_as(request: &Request) -> Option<(String, Option<String>)> {
    if !matches!(
        request.method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    ) {
        return None;
    }
    let segments: Vec<&str> = request.path.split('/').filter(|s| !s.is_empty()).collect();
    let rest = match segments.as_slice() {
        ["api", _, rest @ ..] | ["apis", _, _, rest @ ..] => rest,
        _ => return None,
    };
    let rest = match rest {
        ["namespaces", _, plural, rest @ ..] => [&[*plural][..], rest].concat(),
        other => other.to_vec(),
    };
    match rest.as_slice() {
        [plural] | [plural, _] => Some(((*plural).to_owned(), None)),
        [plural, _, sub] => Some(((*plural).to_owned(), Some((*sub).to_owned()))),
        _ => None,
    }
}

/// Where a resource path points.
#[derive(Debug)]
struct Target {
    resource: Arc<ResourceType>,
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
}

fn route(state: &Arc<State>, request: &Request) -> Result<Reply, ApiError> {
    let segments: Vec<&str> = request.path.split('/').filter(|s| !s.is_empty()).collect();
    let ok = |value: Value| Ok(Reply::Json(StatusCode::OK, value, Vec::new()));
    match segments.as_slice() {
        ["version"] => return ok(discovery::version()),
        ["healthz" | "readyz" | "livez"] => return Ok(Reply::Text(StatusCode::OK, "ok")),
        ["api"] => return ok(discovery::core_versions(&state.address)),
        ["apis"] => return ok(discovery::groups(&state.registry())),
        ["api", version] => {
            return discovery::resources(&state.registry(), "", version)
                .map_or_else(|| Err(ApiError::no_route(&request.path)), ok);
        }
        ["apis", group, version] => {
            return discovery::resources(&state.registry(), group, version)
                .map_or_else(|| Err(ApiError::no_route(&request.path)), ok);
        }
        _ => {}
    }
    let (group, version, rest) = match segments.as_slice() {
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return Err(ApiError::no_route(&request.path)),
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, plural, rest @ ..] if !matches!(*plural, "status" | "finalize") => {
            (Some(ns.to_string()), [&[*plural][..], rest].concat())
        }
        _ => (None, rest.to_vec()),
    };
    let (plural, name, subresource) = match rest.as_slice() {
        [plural] => (*plural, None, None),
        [plural, name] => (*plural, Some(name.to_string()), None),
        [plural, name, sub] => (*plural, Some(name.to_string()), Some(sub.to_string())),
        _ => return Err(ApiError::no_route(&request.path)),
    };
    let resource = state
        .registry()
        .find(group, version, plural)
        .ok_or_else(|| ApiError::no_route(&request.path))?;
    if namespace.is_some() && !resource.namespaced {
        return Err(ApiError::no_route(&request.path));
    }
    if !resource.namespaced && resource.kind == "Namespace" && subresource.as_deref() == Some("finalize") {
        return Err(ApiError::method_not_allowed(
            "the finalize subresource is not served by the test API server",
        ));
    }
    if let Some(sub) = &subresource
        && !(sub == "status" && resource.status_subresource)
    {
        return Err(ApiError::no_route(&request.path));
    }
    if resource.namespaced && namespace.is_none() && name.is_some() {
        return Err(ApiError::no_route(&request.path));
    }
    let target = Target {
        resource,
        namespace,
        name,
        subresource,
    };
    if request.content_type.starts_with("application/vnd.kubernetes.protobuf") {
        // kubectl's typed commands (`kubectl create namespace`, …) send
        // protobuf; this server speaks JSON only.
        return Err(ApiError::unsupported_media_type(
            "the test API server accepts JSON bodies only, not application/vnd.kubernetes.protobuf; use `kubectl apply -f` instead of kubectl's typed `create` commands",
        ));
    }
    let is_write = matches!(
        request.method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    if is_write && let Some(error) = state.faults.take_write_fault(&target.resource.plural) {
        return Err(error);
    }
    match (&request.method, &target.name) {
        (&Method::GET, Some(name)) => get(state, request, &target, name),
        (&Method::GET, None) if request.flag("watch") => start_watch(state, request, &target),
        (&Method::GET, None) => list(state, request, &target),
        (&Method::POST, None) => create(state, request, &target),
        (&Method::PUT, Some(name)) => update(state, request, &target, name),
        (&Method::PATCH, Some(name)) => patch(state, request, &target, name),
        (&Method::DELETE, Some(name)) => delete(state, request, &target, name),
        (&Method::DELETE, None) => delete_collection(state, request, &target),
        _ => Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({} {})",
            request.method, request.path
        ))),
    }
}

fn write_context<'a>(request: &Request, target: &'a Target, manager: &'a str) -> Write<'a> {
    Write {
        resource: &target.resource,
        namespace: target.namespace.as_deref().unwrap_or_default(),
        subresource: target.subresource.as_deref(),
        manager,
        field_validation: FieldValidation::parse(request.param("fieldValidation")),
        dry_run: request.param("dryRun") == Some("All"),
    }
}

fn get(state: &Arc<State>, request: &Request, target: &Target, name: &str) -> Result<Reply, ApiError> {
    let namespace = target.namespace.as_deref().unwrap_or_default();
    let object = objects::read(&state.store(), &target.resource, namespace, name).ok_or_else(|| {
        ApiError::not_found(Subject {
            group: &target.resource.group,
            plural: &target.resource.plural,
            name,
        })
    })?;
    if table::wants_table(&request.accept) {
        let metadata = json!({"resourceVersion": object["metadata"]["resourceVersion"]});
        let include = Include::parse(request.param("includeObject"));
        let table = table::table(&target.resource, &[object], metadata, include, chrono::Utc::now());
        return Ok(Reply::Json(StatusCode::OK, table, Vec::new()));
    }
    Ok(Reply::Json(StatusCode::OK, object, Vec::new()))
}

fn selectors(request: &Request, resource: &ResourceType) -> Result<(LabelSelector, FieldSelector), ApiError> {
    Ok((
        LabelSelector::parse(request.param("labelSelector").unwrap_or_default())?,
        FieldSelector::parse(
            request.param("fieldSelector").unwrap_or_default(),
            &resource.kind,
            &resource.plural,
        )?,
    ))
}

/// A continue token: the list's resourceVersion and the last key returned.
fn encode_continue(rv: u64, namespace: &str, name: &str) -> String {
    use base64::Engine;
    let token = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": format!("{namespace}/{name}\u{0}")});
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token.to_string())
}

fn decode_continue(token: &str) -> Result<(u64, String), ApiError> {
    use base64::Engine;
    let invalid = || {
        ApiError::bad_request(
            "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
        )
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim_end_matches('='))
        .map_err(|_| invalid())?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    let rv = value["rv"].as_u64().ok_or_else(invalid)?;
    let start = value["start"]
        .as_str()
        .ok_or_else(invalid)?
        .trim_end_matches('\u{0}')
        .to_string();
    Ok((rv, start))
}

fn list(state: &Arc<State>, request: &Request, target: &Target) -> Result<Reply, ApiError> {
    let resource = &target.resource;
    let (labels, fields) = selectors(request, resource)?;
    let limit = request
        .param("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0);
    let store = state.store();
    let (list_rv, start_after) = match request.param("continue").filter(|c| !c.is_empty()) {
        Some(token) => {
            let (rv, start) = decode_continue(token)?;
            if rv < store.compacted_rv() {
                return Err(ApiError::expired(
                    "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
                ));
            }
            (rv, Some(start))
        }
        None => (store.current_rv(), None),
    };
    let mut items = Vec::new();
    let mut next = None;
    let mut remaining = 0usize;
    for stored in store.list(&resource.storage, target.namespace.as_deref()) {
        let object = crate::conversion::from_storage(resource, stored);
        let key = format!(
            "{}/{}",
            object["metadata"]["namespace"].as_str().unwrap_or_default(),
            object["metadata"]["name"].as_str().unwrap_or_default()
        );
        if start_after.as_ref().is_some_and(|start| key.as_str() <= start.as_str()) {
            continue;
        }
        if !labels.matches(&object) || !fields.matches(&object) {
            continue;
        }
        if limit.is_some_and(|l| items.len() >= l) {
            remaining += 1;
            continue;
        }
        items.push(object);
    }
    drop(store);
    if remaining > 0
        && let Some(last) = items.last()
    {
        next = Some(encode_continue(
            list_rv,
            last["metadata"]["namespace"].as_str().unwrap_or_default(),
            last["metadata"]["name"].as_str().unwrap_or_default(),
        ));
    }
    let mut metadata = json!({"resourceVersion": list_rv.to_string()});
    if let Some(token) = next {
        metadata["continue"] = json!(token);
        metadata["remainingItemCount"] = json!(remaining);
    }
    if table::wants_table(&request.accept) {
        let include = Include::parse(request.param("includeObject"));
        let table = table::table(resource, &items, metadata, include, chrono::Utc::now());
        return Ok(Reply::Json(StatusCode::OK, table, Vec::new()));
    }
    Ok(Reply::Json(
        StatusCode::OK,
        json!({
            "kind": resource.list_kind(),
            "apiVersion": resource.api_version(),
            "metadata": metadata,
            "items": items,
        }),
        Vec::new(),
    ))
}

fn start_watch(state: &Arc<State>, request: &Request, target: &Target) -> Result<Reply, ApiError> {
    let (labels, fields) = selectors(request, &target.resource)?;
    let timeout = request
        .param("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map_or(Duration::from_secs(1800), Duration::from_secs);
    let watch_request = WatchRequest {
        resource: target.resource.clone(),
        namespace: target.namespace.clone(),
        labels,
        fields,
        resource_version: request.param("resourceVersion").map(str::to_string),
        bookmarks: request.flag("allowWatchBookmarks"),
        send_initial_events: request.flag("sendInitialEvents"),
        timeout,
        bookmark_interval: state.bookmark_interval,
    };
    let receiver = watch::start(&state.store(), watch_request, state.faults.watch_drops())?;
    Ok(Reply::Stream(receiver))
}

fn body_object(request: &Request) -> Result<Value, ApiError> {
    let value = request.json_body()?;
    if !value.is_object() {
        return Err(ApiError::bad_request("the body of the request must be an object"));
    }
    Ok(value)
}

fn written_reply(written: objects::Written) -> Reply {
    let status = if written.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Reply::Json(status, written.object, written.warnings)
}

fn create(state: &Arc<State>, request: &Request, target: &Target) -> Result<Reply, ApiError> {
    if target.subresource.is_some() {
        return Err(ApiError::method_not_allowed("create is not allowed on a subresource"));
    }
    let object = body_object(request)?;
    let manager = request.manager();
    let write = write_context(request, target, &manager);
    let written = objects::create(&mut state.store(), &write, object, false)?;
    after_write(state, &target.resource, &written.object)?;
    Ok(written_reply(written))
}

fn update(state: &Arc<State>, request: &Request, target: &Target, name: &str) -> Result<Reply, ApiError> {
    let object = body_object(request)?;
    let manager = request.manager();
    let write = write_context(request, target, &manager);
    let written = objects::update(&mut state.store(), &write, name, object)?;
    after_write(state, &target.resource, &written.object)?;
    Ok(written_reply(written))
}

fn patch(state: &Arc<State>, request: &Request, target: &Target, name: &str) -> Result<Reply, ApiError> {
    let patch_type = PatchType::from_content_type(&request.content_type).ok_or_else(|| {
        ApiError::unsupported_media_type(format!(
            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {:?})",
            request.content_type
        ))
    })?;
    let body: Value = if patch_type == PatchType::Apply {
        let text = String::from_utf8_lossy(&request.body);
        serde_saphyr::from_str(&text).map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?
    } else {
        request.json_body()?
    };
    if patch_type == PatchType::Apply && request.param("fieldManager").is_none_or(str::is_empty) {
        return Err(ApiError::bad_request(
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
        ));
    }
    if patch_type != PatchType::Apply && request.flag("force") {
        return Err(ApiError::bad_request("force may only be set for apply patches"));
    }
    let manager = request.manager();
    let write = write_context(request, target, &manager);
    let written = objects::patch(
        &mut state.store(),
        &write,
        name,
        patch_type,
        &body,
        request.flag("force"),
    )?;
    after_write(state, &target.resource, &written.object)?;
    Ok(written_reply(written))
}

fn delete_options(request: &Request) -> Result<(Value, Propagation), ApiError> {
    let options = request.json_body()?;
    let policy = options["propagationPolicy"]
        .as_str()
        .or(request.param("propagationPolicy"))
        .map(str::to_string);
    let orphan = options["orphanDependents"].as_bool() == Some(true) || request.flag("orphanDependents");
    let propagation = if orphan {
        Propagation::Orphan
    } else {
        Propagation::parse(policy.as_deref())
    };
    Ok((options, propagation))
}

fn delete(state: &Arc<State>, request: &Request, target: &Target, name: &str) -> Result<Reply, ApiError> {
    if target.subresource.is_some() {
        return Err(ApiError::method_not_allowed("delete is not allowed on a subresource"));
    }
    let (options, propagation) = delete_options(request)?;
    let manager = request.manager();
    let write = write_context(request, target, &manager);
    let deleted = objects::delete(&mut state.store(), &write, name, &options, propagation)?;
    if target.resource.kind == "CustomResourceDefinition" && !deleted["metadata"]["deletionTimestamp"].is_string() {
        remove_crd(state, &deleted);
    }
    Ok(Reply::Json(StatusCode::OK, deleted, Vec::new()))
}

fn delete_collection(state: &Arc<State>, request: &Request, target: &Target) -> Result<Reply, ApiError> {
    let (labels, fields) = selectors(request, &target.resource)?;
    let (options, propagation) = delete_options(request)?;
    let manager = request.manager();
    let write = write_context(request, target, &manager);
    let mut store = state.store();
    let names: Vec<(String, Value)> = store
        .list(&target.resource.storage, target.namespace.as_deref())
        .map(|o| crate::conversion::from_storage(&target.resource, o))
        .filter(|o| labels.matches(o) && fields.matches(o))
        .map(|o| (o["metadata"]["name"].as_str().unwrap_or_default().to_string(), o))
        .collect();
    let mut items = Vec::new();
    for (name, object) in names {
        let namespace = object["metadata"]["namespace"].as_str().unwrap_or_default().to_string();
        let scoped = Write {
            namespace: &namespace,
            ..write.clone()
        };
        items.push(objects::delete(&mut store, &scoped, &name, &options, propagation)?);
    }
    drop(store);
    Ok(Reply::Json(
        StatusCode::OK,
        json!({
            "kind": target.resource.list_kind(),
            "apiVersion": target.resource.api_version(),
            "metadata": {},
            "items": items,
        }),
        Vec::new(),
    ))
}

/// What a write of a CustomResourceDefinition does beyond storing it: the
/// resource it defines is served (or stops being served).
fn after_write(state: &Arc<State>, resource: &ResourceType, object: &Value) -> Result<(), ApiError> {
    if resource.kind != "CustomResourceDefinition" {
        return Ok(());
    }
    if object["metadata"]["deletionTimestamp"].is_string() {
        return Ok(());
    }
    state.registry_mut().add_crd(object).map_err(|e| {
        ApiError::invalid(
            "CustomResourceDefinition",
            "apiextensions.k8s.io",
            object["metadata"]["name"].as_str().unwrap_or_default(),
            vec![crate::status::Cause {
                reason: "FieldValueInvalid".into(),
                message: e,
                field: "spec".into(),
            }],
        )
    })?;
    mark_established(state, object);
    Ok(())
}

/// Sets the conditions clients wait for before using a new CRD.
fn mark_established(state: &Arc<State>, crd: &Value) {
    let mut store = state.store();
    let name = crd["metadata"]["name"].as_str().unwrap_or_default();
    let Some(mut stored) = store
        .get("apiextensions.k8s.io/customresourcedefinitions", "", name)
        .cloned()
    else {
        return;
    };
    if stored["status"]["conditions"].is_array() {
        return;
    }
    let now = gc::now();
    let condition = |type_: &str, reason: &str, message: &str| json!({"type": type_, "status": "True", "lastTransitionTime": now, "reason": reason, "message": message});
    stored["status"] = json!({
        "conditions": [
            condition("NamesAccepted", "NoConflicts", "no conflicts found"),
            condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        ],
        "acceptedNames": stored["spec"]["names"],
        "storedVersions": stored["spec"]["versions"].as_array().map(|v| v.iter().filter(|v| v["storage"] == true).map(|v| v["name"].clone()).collect::<Vec<_>>()).unwrap_or_default(),
    });
    store.put("apiextensions.k8s.io/customresourcedefinitions", stored);
}

fn remove_crd(state: &Arc<State>, crd: &Value) {
    let group = crd["spec"]["group"].as_str().unwrap_or_default();
    let plural = crd["spec"]["names"]["plural"].as_str().unwrap_or_default();
    state.registry_mut().remove_crd(group, plural);
    state.store().drop_storage(&format!("{group}/{plural}"));
}

/// Creates an object as a client would (CRDs included: the resource they
/// define is served afterwards). Used to load `crds/` and by the harness's
/// helpers.
pub fn create_object(state: &Arc<State>, object: Value, manager: &str) -> Result<Value, ApiError> {
    let api_version = object["apiVersion"].as_str().unwrap_or_default().to_string();
    let kind = object["kind"].as_str().unwrap_or_default().to_string();
    let resource = state.registry().find_kind(&api_version, &kind).ok_or_else(|| {
        ApiError::bad_request(format!(
            "no kind \"{kind}\" is registered for version \"{api_version}\""
        ))
    })?;
    let namespace = if resource.namespaced {
        object["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default")
            .to_string()
    } else {
        String::new()
    };
    let write = Write {
        resource: &resource,
        namespace: &namespace,
        subresource: None,
        manager,
        field_validation: FieldValidation::Strict,
        dry_run: false,
    };
    let written = objects::create(&mut state.store(), &write, object, false)?;
    after_write(state, &resource, &written.object)?;
    Ok(written.object)
}
