//! Watches: a chunked HTTP answer of newline-delimited JSON events
//! (`{"type": "ADDED", "object": {…}}`), resumed from a resourceVersion
//! through the store's history, with label and field selectors (an object
//! that leaves the selection is reported DELETED, one that enters it ADDED),
//! periodic BOOKMARKs when `allowWatchBookmarks` asks, the initial events
//! and their end bookmark for `sendInitialEvents`, an `ERROR` event with a
//! 410 Expired status for a resourceVersion older than the history (as real
//! servers send it), and `timeoutSeconds`.

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use futures::{SinkExt, channel::mpsc};
use hyper::body::Frame;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use crate::{
    conversion::from_storage,
    resources::ResourceType,
    selectors::{FieldSelector, LabelSelector},
    status::ApiError,
    store::{Event, EventType, Store},
};

/// A frame of a streamed body, or the error that aborts the connection.
pub type Chunk = Result<Frame<Bytes>, Box<dyn std::error::Error + Send + Sync>>;

/// What a watch selects and how it behaves.
#[derive(Debug)]
pub struct WatchRequest {
    /// The resource watched.
    pub resource: Arc<ResourceType>,
    /// One namespace, or all.
    pub namespace: Option<String>,
    /// `labelSelector`.
    pub labels: LabelSelector,
    /// `fieldSelector`.
    pub fields: FieldSelector,
    /// `resourceVersion` (`None` or `"0"`: start with the current objects).
    pub resource_version: Option<String>,
    /// `allowWatchBookmarks`.
    pub bookmarks: bool,
    /// `sendInitialEvents`.
    pub send_initial_events: bool,
    /// `timeoutSeconds`.
    pub timeout: Duration,
    /// How often to send a BOOKMARK.
    pub bookmark_interval: Duration,
}

impl WatchRequest {
    fn selects(&self, object: &Value) -> bool {
        let namespace_ok = self
            .namespace
            .as_deref()
            .is_none_or(|ns| object["metadata"]["namespace"].as_str() == Some(ns));
        namespace_ok && self.labels.matches(object) && self.fields.matches(object)
    }

    fn line(&self, type_: &str, object: &Value) -> Bytes {
        let mut text = json!({"type": type_, "object": object}).to_string();
        text.push('\n');
        Bytes::from(text)
    }

    fn bookmark(&self, rv: u64, initial_events_end: bool) -> Bytes {
        let mut metadata = json!({"resourceVersion": rv.to_string()});
        if initial_events_end {
            metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let object = json!({
            "kind": self.resource.kind,
            "apiVersion": self.resource.api_version(),
            "metadata": metadata,
        });
        self.line("BOOKMARK", &object)
    }

    /// The event to send for a change, if any (selection transitions turn
    /// into ADDED and DELETED).
    fn translate(&self, event: &Event) -> Option<Bytes> {
        if event.storage != self.resource.storage {
            return None;
        }
        let object = from_storage(&self.resource, &event.object);
        let now = self.selects(&object);
        let before = event
            .previous
            .as_ref()
            .map(|p| self.selects(&from_storage(&self.resource, p)));
        let type_ = match (event.type_, before, now) {
            (EventType::Modified, Some(false), true) => EventType::Added,
            (EventType::Modified, Some(true), false) => EventType::Deleted,
            (_, _, false) => return None,
            (type_, _, true) => type_,
        };
        Some(self.line(type_.as_str(), &object))
    }
}

fn expired(rv: &str, compacted: u64) -> Value {
    ApiError::expired(format!("too old resource version: {rv} ({compacted})")).to_status()
}

/// Starts a watch: takes the backlog under the store's lock (so nothing
/// falls between it and the live feed) and streams the rest from a task.
pub fn start(
    store: &Store,
    request: WatchRequest,
    drops: tokio::sync::watch::Receiver<u64>,
) -> Result<mpsc::Receiver<Chunk>, ApiError> {
    let mut receiver = store.subscribe();
    let mut backlog: Vec<Bytes> = Vec::new();
    let mut last_rv = store.current_rv();
    let mut fatal = None;
    let rv = request.resource_version.clone().filter(|rv| !rv.is_empty());
    match rv.as_deref() {
        None | Some("0") => {
            let mut objects: Vec<Value> = store
                .list(&request.resource.storage, request.namespace.as_deref())
                .map(|o| from_storage(&request.resource, o))
                .filter(|o| request.selects(o))
                .collect();
            objects.sort_by_key(|o| {
                o["metadata"]["resourceVersion"]
                    .as_str()
                    .and_then(|rv| rv.parse::<u64>().ok())
            });
            backlog.extend(objects.iter().map(|o| request.line("ADDED", o)));
            if request.send_initial_events && request.bookmarks {
                backlog.push(request.bookmark(last_rv, true));
            }
        }
        Some(text) => {
            let start: u64 = text
                .parse()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version: {text:?}")))?;
            match store.events_since(start) {
                Ok(events) => backlog.extend(events.iter().filter_map(|e| request.translate(e))),
                Err(compacted) => fatal = Some(request.line("ERROR", &expired(text, compacted))),
            }
            last_rv = last_rv.max(start);
        }
    }

    let (mut tx, rx) = mpsc::channel::<Chunk>(16);
    tokio::spawn(async move {
        let mut drops = drops;
        // Only drops after the watch started count.
        drops.borrow_and_update();
        for line in backlog {
            if tx.send(Ok(Frame::data(line))).await.is_err() {
                return;
            }
        }
        if let Some(error) = fatal {
            let _ = tx.send(Ok(Frame::data(error))).await;
            return;
        }
        let deadline = tokio::time::sleep(request.timeout);
        tokio::pin!(deadline);
        let mut bookmarks = tokio::time::interval_at(
            tokio::time::Instant::now() + request.bookmark_interval,
            request.bookmark_interval,
        );
        loop {
            tokio::select! {
                () = &mut deadline => {
                    if request.bookmarks {
                        let _ = tx.send(Ok(Frame::data(request.bookmark(last_rv, false)))).await;
                    }
                    return;
                }
                _ = drops.changed() => {
                    let _ = tx.send(Err("watch dropped by fault injection".into())).await;
                    return;
                }
                _ = bookmarks.tick(), if request.bookmarks => {
                    if tx.send(Ok(Frame::data(request.bookmark(last_rv, false)))).await.is_err() {
                        return;
                    }
                }
                received = receiver.recv() => match received {
                    Ok(event) => {
                        if event.rv <= last_rv {
                            continue;
                        }
                        last_rv = event.rv;
                        if let Some(line) = request.translate(&event)
                            && tx.send(Ok(Frame::data(line))).await.is_err()
                        {
                            return;
                        }
                    }
                    Err(RecvError::Lagged(_)) => {
                        // A watcher that cannot keep up is ended, as the
                        // real watch cache ends it.
                        let _ = tx.send(Ok(Frame::data(request.line("ERROR", &expired(&last_rv.to_string(), last_rv))))).await;
                        return;
                    }
                    Err(RecvError::Closed) => return,
                },
            }
        }
    });
    Ok(rx)
}
