//! Any text as an Authorization header, and any headers around it: a verdict, never a panic.
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use spate_auth::{AuthorizationHeader, Credential, Request, Verifier};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = AuthorizationHeader::parse(&text);
    let mut parts = text.splitn(3, '\n');
    let (auth, date, body) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let headers = vec![
        ("authorization".to_owned(), auth.to_owned()),
        ("x-amz-date".to_owned(), date.to_owned()),
        ("host".to_owned(), "127.0.0.1".to_owned()),
    ];
    let store = HashMap::from([(
        "AKID".to_owned(),
        Credential { secret_access_key: "secret".to_owned(), account_id: "000000000000".to_owned() },
    )]);
    let request = Request { method: "POST", path: "/", query: "", headers: &headers, body: body.as_bytes() };
    let _ = Verifier::new(store).verify(&request, 1_790_000_000);
});
