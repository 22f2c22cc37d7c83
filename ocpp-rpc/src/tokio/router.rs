//! Typed handlers for incoming CALLs and SENDs, by action.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use ocpp_types::{Protocol, Request, SendMessage};

use crate::error::ErrorCode;

/// Who a handler is answering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// The charge point's identity (the last segment of its URL path).
    pub charge_point_id: Arc<str>,
}

/// A handler's refusal, sent back as a CALLERROR.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {description}")]
pub struct HandlerError {
    /// The code, written in the connection's version.
    pub code: ErrorCode,
    /// The description (cut to 255 characters on 2.x).
    pub description: String,
}

impl HandlerError {
    /// A CALLERROR with `code`.
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        HandlerError {
            code,
            description: description.into(),
        }
    }

    /// `InternalError`: the handler failed.
    pub fn internal(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InternalError, description)
    }

    /// `NotSupported`: this side does not support the action.
    pub fn not_supported(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotSupported, description)
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type CallHandler<P> = Arc<
    dyn Fn(
            Context,
            <P as Protocol>::AnyRequest,
        ) -> BoxFuture<Result<<P as Protocol>::AnyResponse, HandlerError>>
        + Send
        + Sync,
>;
type SendHandler<P> =
    Arc<dyn Fn(Context, <P as Protocol>::AnyRequest) -> BoxFuture<()> + Send + Sync>;

/// Handlers by action. An action without one is answered `NotImplemented`.
pub struct Router<P: Protocol> {
    calls: HashMap<&'static str, CallHandler<P>>,
    sends: HashMap<&'static str, SendHandler<P>>,
}

impl<P: Protocol> Default for Router<P> {
    fn default() -> Self {
        Router {
            calls: HashMap::new(),
            sends: HashMap::new(),
        }
    }
}

impl<P: Protocol> Clone for Router<P> {
    fn clone(&self) -> Self {
        Router {
            calls: self.calls.clone(),
            sends: self.sends.clone(),
        }
    }
}

impl<P: Protocol> fmt::Debug for Router<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut actions: Vec<&str> = self
            .calls
            .keys()
            .chain(self.sends.keys())
            .copied()
            .collect();
        actions.sort_unstable();
        f.debug_struct("Router").field("actions", &actions).finish()
    }
}

impl<P: Protocol> Router<P> {
    /// A router that answers every CALL `NotImplemented`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Handles the CALLs of request type `R` with `handler`.
    pub fn on<R, F, Fut>(mut self, handler: F) -> Self
    where
        R: Request<Protocol = P> + TryFrom<P::AnyRequest>,
        F: Fn(Context, R) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R::Response, HandlerError>> + Send + 'static,
        P::AnyResponse: From<R::Response>,
    {
        let handler = Arc::new(handler);
        self.calls.insert(
            R::ACTION,
            Arc::new(move |ctx, request: P::AnyRequest| {
                let handler = Arc::clone(&handler);
                Box::pin(async move {
                    let request = R::try_from(request).map_err(|_| {
                        HandlerError::internal("request routed to the wrong handler")
                    })?;
                    handler(ctx, request).await.map(P::AnyResponse::from)
                })
            }),
        );
        self
    }

    /// Handles the SEND messages of type `M` (2.1) with `handler`.
    pub fn on_send<M, F, Fut>(mut self, handler: F) -> Self
    where
        M: SendMessage<Protocol = P> + TryFrom<P::AnyRequest>,
        F: Fn(Context, M) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler = Arc::new(handler);
        self.sends.insert(
            M::ACTION,
            Arc::new(move |ctx, message: P::AnyRequest| {
                let handler = Arc::clone(&handler);
                // Convert before the future: the conversion's error type need not be `Send`.
                let message = M::try_from(message).ok();
                Box::pin(async move {
                    if let Some(message) = message {
                        handler(ctx, message).await;
                    }
                })
            }),
        );
        self
    }

    pub(crate) fn call_handler(&self, action: &str) -> Option<CallHandler<P>> {
        self.calls.get(action).cloned()
    }

    pub(crate) fn send_handler(&self, action: &str) -> Option<SendHandler<P>> {
        self.sends.get(action).cloned()
    }
}
