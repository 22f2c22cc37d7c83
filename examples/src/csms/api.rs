//! The HTTP JSON API (axum): chargers with status and last contact, one
//! charger's connectors and sessions, transactions with energy, the
//! authorization list, charger registration, and
//! `POST /api/chargers/{id}/commands/{action}` sending any CSMS-initiated
//! message of the charger's version.
//!
//! Errors are `{"error": "..."}` with 400 (invalid payload or path, unknown
//! action, wrong direction), 404 (unknown charger, token or route), 405
//! (wrong method), 409 (charger offline,
//! or the command not allowed now), 502 (CALLERROR, with its code,
//! description and details; a broken answer), 503 (too many commands
//! waiting), 504 (no answer in time).

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::password;
use super::service::{CommandFailure, Service, TOKEN_STATUSES};
use super::store::IdTokenRow;

type Shared = State<Arc<Service>>;

/// An error answer.
struct ApiError(StatusCode, Value);

impl ApiError {
    fn new(status: StatusCode, text: impl Into<String>) -> Self {
        ApiError(status, json!({ "error": text.into() }))
    }
    fn storage() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "the database failed")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(self.1)).into_response()
    }
}

type ApiResult = Result<Response, ApiError>;

/// Path parameters; a rejection (say, invalid percent-encoding) is answered
/// as a JSON error, not axum's text.
struct Param<T>(T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> FromRequestParts<S> for Param<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Param(value)),
            Err(e) => Err(ApiError::new(e.status(), e.body_text())),
        }
    }
}

/// The raw body; a rejection (too large, unreadable) as a JSON error.
struct Body(axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match axum::body::Bytes::from_request(request, state).await {
            Ok(bytes) => Ok(Body(bytes)),
            Err(e) => Err(ApiError::new(e.status(), e.body_text())),
        }
    }
}

/// A JSON body, refused with a JSON error (axum's `Json` answers in text).
fn body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("invalid body: {e}")))
}

fn ok(value: impl serde::Serialize) -> ApiResult {
    Ok(Json(value).into_response())
}

/// The routes.
pub fn router(service: Arc<Service>) -> Router {
    Router::new()
        .route("/api/chargers", get(chargers))
        .route("/api/chargers/{id}", get(charger).put(register))
        .route("/api/chargers/{id}/commands/{action}", post(command))
        .route("/api/transactions", get(transactions))
        .route("/api/id-tokens", get(id_tokens))
        .route(
            "/api/id-tokens/{token}",
            put(put_id_token).get(id_token).delete(delete_id_token),
        )
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method not allowed here")
        })
        .with_state(service)
}

async fn chargers(State(service): Shared) -> ApiResult {
    let rows = service
        .db("list chargers", |s| s.chargers())
        .await
        .ok_or_else(ApiError::storage)?;
    ok(rows)
}

async fn charger(State(service): Shared, Param(id): Param<String>) -> ApiResult {
    let found = service
        .db("charger", move |s| {
            let Some(charger) = s.charger(&id)? else {
                return Ok(None);
            };
            let connectors = s.connectors(&id)?;
            let sessions = s.transactions(Some(&id))?;
            Ok(Some(json!({
                "charger": charger,
                "connectors": connectors,
                "sessions": sessions,
            })))
        })
        .await
        .ok_or_else(ApiError::storage)?;
    match found {
        Some(body) => ok(body),
        None => Err(ApiError::new(StatusCode::NOT_FOUND, "unknown charger")),
    }
}

/// A charger's registration.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Registration {
    /// The Basic-auth password; none lets it connect without one.
    password: Option<String>,
}

async fn register(
    State(service): Shared,
    Param(id): Param<String>,
    Body(bytes): Body,
) -> ApiResult {
    let body: Registration = body(&bytes)?;
    if id.is_empty() || id.len() > 48 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "a charger id has 1 to 48 characters",
        ));
    }
    let hash = match body.password {
        None => None,
        Some(p) => {
            let hashed = tokio::task::spawn_blocking(move || password::hash(p.as_bytes())).await;
            match hashed {
                Ok(Ok(h)) => Some(h),
                _ => {
                    return Err(ApiError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "cannot hash the password",
                    ));
                }
            }
        }
    };
    let (key, stored) = (id.clone(), hash.clone());
    let created = service
        .db("register charger", move |s| {
            s.put_charger(&key, stored.as_deref())
        })
        .await
        .ok_or_else(ApiError::storage)?;
    service.set_password(&id, hash);
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(json!({ "id": id }))).into_response())
}

async fn command(
    State(service): Shared,
    Param((id, action)): Param<(String, String)>,
    Body(body): Body,
) -> ApiResult {
    let payload = if body.is_empty() {
        "{}".to_owned()
    } else {
        match std::str::from_utf8(&body) {
            Ok(text) if serde_json::from_str::<Value>(text).is_ok() => text.to_owned(),
            _ => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "the body is not JSON",
                ));
            }
        }
    };
    match service.command(&id, &action, payload).await {
        Ok(response) => ok(json!({ "action": action, "response": response })),
        Err(failure) => Err(command_error(failure)),
    }
}

fn command_error(failure: CommandFailure) -> ApiError {
    match failure {
        CommandFailure::UnknownCharger => ApiError::new(StatusCode::NOT_FOUND, "unknown charger"),
        CommandFailure::Offline => ApiError::new(StatusCode::CONFLICT, "the charger is offline"),
        CommandFailure::Invalid(e) => ApiError::new(StatusCode::BAD_REQUEST, e),
        CommandFailure::NotAllowed(e) => ApiError::new(StatusCode::CONFLICT, e),
        CommandFailure::Busy(e) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e),
        CommandFailure::CallError {
            code,
            description,
            details,
        } => ApiError(
            StatusCode::BAD_GATEWAY,
            json!({
                "error": format!("the charger answered {code}"),
                "code": code,
                "description": description,
                "details": details,
            }),
        ),
        CommandFailure::BadAnswer(e) => ApiError::new(StatusCode::BAD_GATEWAY, e),
        CommandFailure::Timeout => ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "the charger did not answer in time",
        ),
    }
}

async fn transactions(State(service): Shared) -> ApiResult {
    let rows = service
        .db("list transactions", |s| s.transactions(None))
        .await
        .ok_or_else(ApiError::storage)?;
    ok(rows)
}

async fn id_tokens(State(service): Shared) -> ApiResult {
    let rows = service
        .db("list id tokens", |s| s.id_tokens())
        .await
        .ok_or_else(ApiError::storage)?;
    ok(rows)
}

async fn id_token(State(service): Shared, Param(token): Param<String>) -> ApiResult {
    let row = service
        .db("id token", move |s| s.id_token(&token))
        .await
        .ok_or_else(ApiError::storage)?;
    match row {
        Some(row) => ok(row),
        None => Err(ApiError::new(StatusCode::NOT_FOUND, "unknown id token")),
    }
}

/// An id token's entry in the authorization list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    status: String,
    #[serde(default)]
    expiry: Option<String>,
    #[serde(default)]
    group: Option<String>,
}

async fn put_id_token(
    State(service): Shared,
    Param(token): Param<String>,
    Body(bytes): Body,
) -> ApiResult {
    let body: TokenBody = body(&bytes)?;
    if token.is_empty() || token.len() > 36 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "an id token has 1 to 36 characters",
        ));
    }
    if !TOKEN_STATUSES.contains(&body.status.as_str()) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("status must be one of {}", TOKEN_STATUSES.join(", ")),
        ));
    }
    if let Some(expiry) = &body.expiry
        && chrono::DateTime::parse_from_rfc3339(expiry).is_err()
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "expiry must be an RFC 3339 time",
        ));
    }
    let row = IdTokenRow {
        token,
        status: body.status,
        expiry: body.expiry,
        group: body.group,
    };
    let stored = row.clone();
    let created = service
        .db("put id token", move |s| s.put_id_token(&stored))
        .await
        .ok_or_else(ApiError::storage)?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(row)).into_response())
}

async fn delete_id_token(State(service): Shared, Param(token): Param<String>) -> ApiResult {
    let deleted = service
        .db("delete id token", move |s| s.delete_id_token(&token))
        .await
        .ok_or_else(ApiError::storage)?;
    if deleted {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::new(StatusCode::NOT_FOUND, "unknown id token"))
    }
}
