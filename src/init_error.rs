//! SPEC section 7: a bad initialization is reported to the Lambda Runtime
//! API's init error endpoint, so that Lambda shows the message naming the
//! variable instead of a bare `Runtime.ExitError`.

use std::time::Duration;

use lambda_runtime_api_client::{body::Body, build_request, Client};

/// The `errorType` Lambda shows for a bad variable.
pub const ERROR_TYPE: &str = "InvalidConfiguration";

/// Posts `message` to `/runtime/init/error` of the Runtime API named by
/// `AWS_LAMBDA_RUNTIME_API`. The error says why it could not be reported.
pub async fn report(message: &str) -> Result<(), String> {
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API")
        .map_err(|_| "AWS_LAMBDA_RUNTIME_API is not set".to_string())?;
    let endpoint = format!("http://{api}")
        .parse()
        .map_err(|_| format!("AWS_LAMBDA_RUNTIME_API {api:?} is not a host:port"))?;
    let client = Client::builder()
        .with_endpoint(endpoint)
        .build()
        .map_err(|e| e.to_string())?;
    let body = serde_json::json!({ "errorType": ERROR_TYPE, "errorMessage": message });
    let request = build_request()
        .method("POST")
        .uri("/2018-06-01/runtime/init/error")
        .header("Lambda-Runtime-Function-Error-Type", "Runtime.InitError")
        .header("Content-Type", "application/json")
        .body(Body::from(body.to_string()))
        .map_err(|e| e.to_string())?;
    let response = tokio::time::timeout(Duration::from_secs(2), client.call(request))
        .await
        .map_err(|_| "the Runtime API did not answer in time".to_string())?
        .map_err(|e| e.to_string())?;
    match response.status().as_u16() {
        200..=299 => Ok(()),
        status => Err(format!("the Runtime API answered HTTP {status}")),
    }
}
