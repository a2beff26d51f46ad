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
    // Two admin clients: the first pass may well rotate the first one's
    // secret (it reads the client list), the second pass uses the other.
    create_client(&app, machine("ops-bot", true)).await;
    create_client(&app, machine("keys-bot", true)).await;
    for name in ["alice", "bob"] {
        create_user(&app, name, &[]).await;
    }
    // First everything but the key changes, which end every token (a
    // revocation at once; rotations, by pruning the oldest keys): the
    // token must hold for the whole pass. Then the key changes alone.
    // Both tokens first: the first pass rotates client secrets it finds.
    let (ops, keys) = (token(&app, "ops-bot", "admin").await, token(&app, "keys-bot", "admin").await);
    let first = run(&app, &ops, "--exclude-path-regex", "/keys/", 20).await;
    let missing_auth = &first["warnings"]["missing_auth"];
    assert!(
        missing_auth.as_array().is_none_or(Vec::is_empty)
            && missing_auth.as_object().is_none_or(|o| o.is_empty()),
        "some operations answered only 401/403: the token broke: {missing_auth:#}"
    );
    let second = run(&app, &keys, "--include-path-regex", "/keys", 10).await;
    let cases: u64 = [&first, &second]
        .iter()
        .map(|report| test_cases(report).unwrap_or_else(|| panic!("no case count in the report: {report:#}")))
        .sum();
    assert!(cases >= 500, "only {cases} generated cases");
}

/// One schemathesis run with the admin token `bearer` over the operations
/// `filter value` selects; its JSON report, once it passed.
async fn run(
    app: &portcullis_tests::TestApp,
    bearer: &str,
    filter: &str,
    value: &str,
    examples: u32,
) -> Value {
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
        filter.to_owned(),
        value.to_owned(),
        "--max-examples".to_owned(),
        examples.to_string(),
        // One worker: hypothesis' lambda-source cache is not thread-safe
        // (two workers now and then fail with "AST constructor recursion
        // depth mismatch", inside hypothesis, not an answer of ours).
        "--workers".to_owned(),
        "1".to_owned(),
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
        Command::new("schemathesis").args(&args).output().unwrap_or_else(|e| {
            panic!("schemathesis is needed (pip install schemathesis; scripts/test does): {e}")
        })
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found failures:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(&report).expect("the JSON report")).expect("JSON")
}

/// The number of test cases the run made, from its JSON report.
fn test_cases(report: &Value) -> Option<u64> {
    let summary = report;
    summary.get("test_cases")?.get("generated")?.as_u64()
}

both_backends!(generated_requests_find_no_server_error_and_no_undocumented_answer);
