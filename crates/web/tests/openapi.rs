//! The admin API's OpenAPI document: generated from the handlers, it
//! names every route the API serves (and no other), and it is a valid
//! OpenAPI 3.1 document by `openapi-spec-validator` (PyPI; `scripts/test`
//! installs it — without it this test FAILS, it never skips).

#![allow(clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Command;

fn document() -> Value {
    serde_json::from_str(&portcullis_web::admin_api_document()).expect("the document is JSON")
}

#[test]
fn the_document_lists_exactly_the_routes_the_api_serves() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    let served: BTreeSet<(String, String)> =
        portcullis_web::admin_api_routes().into_iter().map(|(m, p)| (m.to_owned(), p.to_owned())).collect();
    assert_eq!(documented, served, "the document and the routes differ");
    assert!(served.len() >= 30, "{}", served.len());
}

#[test]
fn every_operation_answers_problems_and_requires_credentials() {
    let doc = document();
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    assert_eq!(doc["security"], serde_json::json!([{ "bearer": [] }, { "session": [], "csrf": [] }]));
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            for status in ["400", "401", "403", "404"] {
                let problem = &op["responses"][status]["content"]["application/problem+json"];
                assert!(problem.is_object(), "{method} {path}: no {status} problem");
            }
        }
    }
}

#[test]
fn the_document_is_valid_openapi_3_1() {
    let file = tempfile::NamedTempFile::with_suffix(".json").expect("temp file");
    std::fs::write(file.path(), portcullis_web::admin_api_document()).expect("write");
    let out = Command::new("openapi-spec-validator").arg(file.path()).output().unwrap_or_else(|e| {
        panic!(
            "openapi-spec-validator is needed (pip install openapi-spec-validator; scripts/test does): {e}"
        )
    });
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the document is not valid OpenAPI: {said}");
    assert!(said.contains("OK"), "{said}");
}
