//! The build's version and commit reach clients: the stream's `hello` and `/api/v1/status`.

mod common;

use common::*;
use rollouts_dashboard::build_info;

#[tokio::test]
async fn hello_and_status_carry_version_and_commit() {
    let store = store_from(&fixtures().join("argo-rollouts-info/canary"));
    let addr = serve(state(store, true, "")).await;

    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/api/v1/stream"))
        .await
        .expect("websocket connects");
    let hello = next_json(&mut ws).await;
    assert_eq!(hello["type"], "hello", "{hello}");
    assert_eq!(hello["version"], build_info::VERSION);
    assert_eq!(hello["commit"], build_info::COMMIT);

    let body = http_get_json(addr, "/api/v1/status").await;
    assert_eq!(body["version"], build_info::VERSION, "{body}");
    assert_eq!(body["commit"], build_info::COMMIT, "{body}");
}

/// A bare HTTP/1.1 GET over a TCP socket (no client crate among the dev-dependencies).
async fn http_get_json(addr: std::net::SocketAddr, path: &str) -> serde_json::Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut raw = String::new();
    tcp.read_to_string(&mut raw).await.unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    serde_json::from_str(body).expect("JSON body")
}
