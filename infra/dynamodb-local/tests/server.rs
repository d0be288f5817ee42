//! DynamoDB Local answers the DynamoDB JSON protocol on its endpoint and is gone once
//! dropped.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;

use dynamodb_local::DynamoDbLocal;

#[test]
fn answers_list_tables_and_frees_its_port_when_dropped() {
    let server = DynamoDbLocal::start().expect("DynamoDB Local starts");
    let port = server.port();
    assert_eq!(server.endpoint(), format!("http://127.0.0.1:{port}"));

    let (status_line, body) = list_tables(port);
    assert!(status_line.starts_with("HTTP/1.1 200"), "{status_line}\n{body}");
    assert!(body.contains("\"TableNames\""), "{body}");

    drop(server);
    let refused = TcpStream::connect(("127.0.0.1", port)).map(|_| ()).unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);
}

#[test]
fn serves_on_the_port_it_is_given_and_names_a_taken_one() {
    let port = {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        listener.local_addr().unwrap().port()
    };
    let server = DynamoDbLocal::start_on(Some(port)).expect("DynamoDB Local starts on the given port");
    assert_eq!(server.endpoint(), format!("http://127.0.0.1:{port}"));
    assert!(list_tables(port).0.starts_with("HTTP/1.1 200"));
    let taken = DynamoDbLocal::start_on(Some(port)).expect_err("one port, one server");
    assert!(taken.to_string().contains(&format!("port {port} is taken")), "{taken}");
}

/// A hand-written request: the dummy signature is accepted because DynamoDB Local only
/// reads the credential scope.
fn list_tables(port: u16) -> (String, String) {
    let body = "{}";
    let request = format!(
        "POST / HTTP/1.1\r\n\
         Host: 127.0.0.1:{port}\r\n\
         X-Amz-Target: DynamoDB_20120810.ListTables\r\n\
         Content-Type: application/x-amz-json-1.0\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=local/20200101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x\r\n\
         Content-Length: {}\r\n\
         Connection: close\r\n\
         \r\n\
         {body}",
        body.len()
    );
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connects");
    stream.write_all(request.as_bytes()).expect("sends the request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("reads the response");
    let (head, body) = response.split_once("\r\n\r\n").expect("a complete response");
    let status_line = head.lines().next().unwrap_or_default();
    (status_line.to_owned(), body.to_owned())
}
