//! The admin endpoint under `/_spate/`, served on the Kinesis port only when the server
//! was started with it enabled (`--admin`). Not part of the Kinesis API: JSON in and out,
//! no signature. Without `--admin` these paths are answered like any other request that
//! names no Kinesis operation.
//!
//! - `GET /_spate/faults`: the fault rules in force, `{"Operation": {rule}, "*": {rule}}`.
//! - `PUT /_spate/faults`: replaces every rule with the body's; answers with the new rules.
//! - `DELETE /_spate/faults`: removes every rule.

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use spate_engine::faults::{ALL_OPERATIONS, validate_rules};
use spate_engine::{Engine, FaultRules};
use spate_wire::Operation;

use crate::response::{self, Reply};

/// Every admin path starts with this.
pub const PREFIX: &str = "/_spate/";

const FAULTS: &str = "/_spate/faults";

/// Fault rules are small; anything bigger is a mistake.
const BODY_LIMIT: usize = 1 << 20;

/// Checks fault rules as the server will apply them: known operation names (or `*`) and
/// sensible probabilities. `Err` says what is wrong.
pub fn check_fault_rules(rules: &FaultRules) -> Result<(), String> {
    if let Some(unknown) = rules
        .keys()
        .find(|name| *name != ALL_OPERATIONS && Operation::from_name(name).is_none())
    {
        return Err(format!(
            "fault rule {unknown:?}: not a Kinesis operation name (e.g. PutRecord) or \"*\""
        ));
    }
    validate_rules(rules)
}

pub async fn handle(engine: &Engine, request: Request<Incoming>, request_id: &str) -> Reply {
    let path = request.uri().path().to_owned();
    if path != FAULTS {
        return reply(
            request_id,
            StatusCode::NOT_FOUND,
            error_body(&format!("No admin resource at {path}; try {FAULTS}.")),
        );
    }
    let faults = engine.faults();
    match request.method().clone() {
        Method::GET => rules_reply(request_id, &faults.rules()),
        Method::DELETE => {
            faults.replace(FaultRules::new());
            tracing::info!("fault rules cleared");
            rules_reply(request_id, &FaultRules::new())
        }
        Method::PUT => {
            let rules = match read_rules(request).await {
                Ok(rules) => rules,
                Err(message) => {
                    return reply(request_id, StatusCode::BAD_REQUEST, error_body(&message));
                }
            };
            faults.replace(rules.clone());
            tracing::info!(rules = ?rules, "fault rules replaced");
            rules_reply(request_id, &rules)
        }
        other => {
            let mut reply = reply(
                request_id,
                StatusCode::METHOD_NOT_ALLOWED,
                error_body(&format!("{other} is not allowed on {FAULTS}.")),
            );
            reply.headers_mut().insert(
                http::header::ALLOW,
                http::HeaderValue::from_static("GET, PUT, DELETE"),
            );
            reply
        }
    }
}

async fn read_rules(request: Request<Incoming>) -> Result<FaultRules, String> {
    let body: Bytes = Limited::new(request.into_body(), BODY_LIMIT)
        .collect()
        .await
        .map_err(|error| format!("Could not read the body: {error}"))?
        .to_bytes();
    let rules: FaultRules =
        serde_json::from_slice(&body).map_err(|error| format!("Invalid fault rules: {error}"))?;
    check_fault_rules(&rules)?;
    Ok(rules)
}

fn rules_reply(request_id: &str, rules: &FaultRules) -> Reply {
    match serde_json::to_string(rules) {
        Ok(body) => reply(request_id, StatusCode::OK, body),
        Err(error) => reply(
            request_id,
            StatusCode::INTERNAL_SERVER_ERROR,
            error_body(&error.to_string()),
        ),
    }
}

fn error_body(message: &str) -> String {
    serde_json::json!({ "message": message }).to_string()
}

fn reply(request_id: &str, status: StatusCode, body: String) -> Reply {
    response::framework(request_id, status, "application/json", body)
}
