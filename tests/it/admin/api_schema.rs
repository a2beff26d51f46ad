//! Acceptance 5 of the admin API: `schemathesis` (PyPI; `scripts/test`
//! installs it) generates requests from the served OpenAPI document and
//! sends them with an admin token: at least 500 cases, no 5xx, no answer
//! outside the document (status, content type, schema). Without
//! schemathesis this test FAILS, it never skips.

use portcullis_tests::oidc::{create_client, create_user, spawn_oidc_app};
use portcullis_tests::{Backend, both_backends};
use serde_json::Value;
use std::process::Command;

use super::api::{machine, token};

/// The checks that decide: no server error, and every answer as documented.
const CHECKS: &str =
    "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance";

async fn generated_requests_find_no_server_error_and_no_undocumented_answer(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    create_client(&app, machine("ops-bot", true)).await;
    for name in ["alice", "bob"] {
        create_user(&app, name, &[]).await;
    }
    let bearer = token(&app, "ops-bot", "admin").await;
    let schema = format!("{}/admin/api/v1/openapi.json", app.address);
    let dir = tempfile::tempdir().expect("temp dir");
    let report = dir.path().join("report.json");
    let args = [
        "run".to_owned(),
        schema,
        "--header".to_owned(),
        format!("Authorization: Bearer {bearer}"),
        "--checks".to_owned(),
        CHECKS.to_owned(),
        "--max-examples".to_owned(),
        "20".to_owned(),
        "--workers".to_owned(),
        "2".to_owned(),
        "--seed".to_owned(),
        "16".to_owned(),
        "--generation-database".to_owned(),
        "none".to_owned(),
        "--no-color".to_owned(),
        "--report".to_owned(),
        "json".to_owned(),
        "--report-json-path".to_owned(),
        report.display().to_string(),
    ];
    let out = tokio::task::spawn_blocking(move || {
        Command::new("schemathesis")
            .args(&args)
            .env("SCHEMATHESIS_HOOKS", "")
            .output()
            .unwrap_or_else(|e| panic!("schemathesis is needed (pip install schemathesis; scripts/test does): {e}"))
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "schemathesis found failures:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("the JSON report")).expect("JSON");
    let cases = test_cases(&report).unwrap_or_else(|| panic!("no case count in the report: {report:#}"));
    assert!(cases >= 500, "only {cases} generated cases:\n{stdout}");
}

/// The number of test cases the run made, from its JSON report.
fn test_cases(report: &Value) -> Option<u64> {
    let summary = report.get("summary").unwrap_or(report);
    ["test_cases", "total_test_cases", "cases"]
        .iter()
        .find_map(|k| summary.get(*k))
        .and_then(|v| v.as_u64().or_else(|| v.get("total").and_then(Value::as_u64)))
}

both_backends!(generated_requests_find_no_server_error_and_no_undocumented_answer);
