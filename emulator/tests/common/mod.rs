//! Shared setup for the emulator's own tests: the real AWS SDK clients,
//! pointed at a fresh emulator, and a plain HTTP PUT for pre-signed URLs.
#![allow(dead_code)] // each test file uses its own part of this module

use std::io::{Read, Write};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use cis_emulator::Emulator;

pub const POOL: &str = "us-east-1_Emulated1";
pub const ROLE: &str = "arn:aws:iam::123456789012:role/CognitoImportLogs";

pub struct Clients {
    pub s3: aws_sdk_s3::Client,
    pub cognito: aws_sdk_cognitoidentityprovider::Client,
    pub events: aws_sdk_eventbridge::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub sqs: aws_sdk_sqs::Client,
}

pub fn sdk_config(emulator: &Emulator, operation_timeout: Duration) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        // The SDK's hyper 1 client with rustls on ring, as the function
        // builds it (the emulator itself speaks plain HTTP).
        .http_client(
            aws_smithy_http_client::Builder::new()
                .tls_provider(Provider::Rustls(CryptoMode::Ring))
                .build_https(),
        )
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDEMULATOR",
            "secret",
            None,
            None,
            "test",
        )))
        .endpoint_url(emulator.endpoint())
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .operation_timeout(operation_timeout)
                .build(),
        )
        .build()
}

pub fn clients_with_timeout(emulator: &Emulator, operation_timeout: Duration) -> Clients {
    let sdk = sdk_config(emulator, operation_timeout);
    let s3 = aws_sdk_s3::config::Builder::from(&sdk)
        .force_path_style(true)
        .build();
    Clients {
        s3: aws_sdk_s3::Client::from_conf(s3),
        cognito: aws_sdk_cognitoidentityprovider::Client::new(&sdk),
        events: aws_sdk_eventbridge::Client::new(&sdk),
        logs: aws_sdk_cloudwatchlogs::Client::new(&sdk),
        sqs: aws_sdk_sqs::Client::new(&sdk),
    }
}

pub fn clients(emulator: &Emulator) -> Clients {
    clients_with_timeout(emulator, Duration::from_secs(10))
}

/// A plain HTTP/1.1 PUT (what the function does with a pre-signed URL),
/// done on a blocking thread with std's TCP stream. Returns (status, whole
/// response); status 0 when the connection closed without a response.
pub async fn plain_put(url: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
    let url = url.to_string();
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    let body = body.to_vec();
    tokio::task::spawn_blocking(move || {
        let rest = url.strip_prefix("http://").expect("http URL");
        let slash = rest.find('/').expect("URL with a path");
        let (host, path) = rest.split_at(slash);
        let mut stream = std::net::TcpStream::connect(host).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut request = format!("PUT {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
        for (name, value) in &headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).expect("write head");
        stream.write_all(&body).expect("write body");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
        let status = response
            .get(9..12)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        (status, response)
    })
    .await
    .expect("blocking PUT")
}

/// A `PutEvents` entry as the function sends it, with this detail.
pub fn entry(detail: &str) -> PutEventsRequestEntry {
    PutEventsRequestEntry::builder()
        .event_bus_name("default")
        .source("cognito-import-starter")
        .detail_type("User Import Job Started")
        .detail(detail)
        .resources("arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Emulated1")
        .build()
}
