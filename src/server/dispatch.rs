//! Typed dispatch of requests and notifications: each handler is registered with its
//! `lsp_types` method type and receives decoded parameters. Parameters that do not decode are
//! answered with `InvalidParams` (requests) or dropped (notifications); a panic in a handler
//! is answered with `InternalError` and logged, and the server goes on.

use std::panic::{catch_unwind, AssertUnwindSafe};

use lsp_server::{ErrorCode, Notification, Request, RequestId, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::Server;

/// How a request handler answers.
pub enum Reply<T> {
    /// At once (an error is answered with `RequestFailed`).
    Now(Result<T, String>),
    /// When the analysis of this document's current text is done: the request is dispatched
    /// again then.
    AfterAnalysis(String),
    /// A job off the message loop sends the response.
    Later,
}

/// The text of a panic's payload.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| {
            panic
                .downcast_ref::<&str>()
                .map(std::string::ToString::to_string)
        })
        .unwrap_or_else(|| "a panic".into())
}

/// Decodes parameters; absent ones (`null`) are taken for `{}`, which some clients leave out
/// (`initialized`).
fn decode<P: DeserializeOwned>(params: serde_json::Value) -> serde_json::Result<P> {
    if params.is_null() {
        if let Ok(params) = serde_json::from_value(serde_json::json!({})) {
            return Ok(params);
        }
    }
    serde_json::from_value(params)
}

pub struct RequestDispatcher<'s> {
    server: &'s mut Server,
    request: Option<Request>,
}

impl<'s> RequestDispatcher<'s> {
    pub fn new(server: &'s mut Server, request: Request) -> Self {
        RequestDispatcher {
            server,
            request: Some(request),
        }
    }

    /// Handles the request if it is `R`.
    pub fn on<R>(
        &mut self,
        handler: fn(&mut Server, &RequestId, R::Params) -> Reply<R::Result>,
    ) -> &mut Self
    where
        R: lsp_types::request::Request,
        R::Params: DeserializeOwned,
        R::Result: Serialize,
    {
        let Some(request) = self.request.take_if(|r| r.method == R::METHOD) else {
            return self;
        };
        let params = match decode::<R::Params>(request.params.clone()) {
            Ok(params) => params,
            Err(e) => {
                self.server.respond(Response::new_err(
                    request.id,
                    ErrorCode::InvalidParams as i32,
                    format!("invalid params: {e}"),
                ));
                return self;
            }
        };
        let id = request.id.clone();
        let server = &mut *self.server;
        let outcome = catch_unwind(AssertUnwindSafe(|| handler(server, &id, params)));
        let response = match outcome {
            Ok(Reply::Now(Ok(result))) => Response::new_ok(id, result),
            Ok(Reply::Now(Err(message))) => {
                Response::new_err(id, ErrorCode::RequestFailed as i32, message)
            }
            Ok(Reply::AfterAnalysis(key)) => {
                self.server.wait_for_analysis(&key, request);
                return self;
            }
            Ok(Reply::Later) => return self,
            Err(panic) => {
                let what = panic_message(panic.as_ref());
                self.server.log(&format!(
                    "threadlint: internal error in {}: {what}",
                    R::METHOD
                ));
                Response::new_err(
                    id,
                    ErrorCode::InternalError as i32,
                    format!("internal error: {what}"),
                )
            }
        };
        self.server.respond(response);
        self
    }

    /// Answers a request no handler took with `MethodNotFound`.
    pub fn finish(&mut self) {
        if let Some(request) = self.request.take() {
            self.server.respond(Response::new_err(
                request.id,
                ErrorCode::MethodNotFound as i32,
                format!("unknown method {}", request.method),
            ));
        }
    }
}

pub struct NotificationDispatcher<'s> {
    server: &'s mut Server,
    notification: Option<Notification>,
}

impl<'s> NotificationDispatcher<'s> {
    pub fn new(server: &'s mut Server, notification: Notification) -> Self {
        NotificationDispatcher {
            server,
            notification: Some(notification),
        }
    }

    /// Handles the notification if it is `N`.
    pub fn on<N>(&mut self, handler: fn(&mut Server, N::Params)) -> &mut Self
    where
        N: lsp_types::notification::Notification,
        N::Params: DeserializeOwned,
    {
        let Some(notification) = self.notification.take_if(|n| n.method == N::METHOD) else {
            return self;
        };
        let params = match decode::<N::Params>(notification.params) {
            Ok(params) => params,
            Err(e) => {
                // Nothing to answer: the protocol drops a notification it cannot read.
                eprintln!("threadlint server: dropped {}: {e}", N::METHOD);
                return self;
            }
        };
        let server = &mut *self.server;
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| handler(server, params))) {
            let what = panic_message(panic.as_ref());
            self.server.log(&format!(
                "threadlint: internal error in {}: {what}",
                N::METHOD
            ));
        }
        self
    }

    /// Notifications no handler took (`$/setTrace`, unknown methods) are dropped.
    pub fn finish(&mut self) {
        self.notification = None;
    }
}
