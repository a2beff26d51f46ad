use portcullis_tests::{Backend, both_backends, spawn_app};
use serde_json::Value;

async fn metadata(app: &portcullis_tests::TestApp, path: &str) -> Value {
    let res = app.get(path).await;
    assert_eq!(res.status(), 200, "{path}");
    assert!(res.headers()["content-type"].to_str().expect("ascii").starts_with("application/json"));
    res.json().await.expect("json")
}

/// Acceptance 5: `issuer` is the configured issuer exactly, and every URL the
/// documents name answers.
async fn discovery_names_the_issuer_and_only_endpoints_that_answer(backend: Backend) {
    let app = spawn_app(backend).await;
    let issuer = app.settings.issuer.as_str().to_owned();

    for path in ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"] {
        let doc = metadata(&app, path).await;
        assert_eq!(doc["issuer"], issuer.as_str(), "{path}");
        let urls: Vec<(&String, &str)> = doc
            .as_object()
            .expect("object")
            .iter()
            .filter_map(|(k, v)| v.as_str().filter(|s| s.starts_with("http")).map(|s| (k, s)))
            .filter(|(k, _)| k.as_str() != "issuer")
            .collect();
        assert!(urls.iter().any(|(k, _)| k.as_str() == "jwks_uri"), "{path}: {doc}");
        for (member, url) in urls {
            // The documents name the public URL; the test reaches the same path on its port.
            let path_part =
                url.strip_prefix(&issuer).unwrap_or_else(|| panic!("{member} {url} is not under {issuer}"));
            // GET endpoints answer GET (authorize and userinfo refuse the empty request
            // with their own errors); the back-channel ones answer POST with JSON errors.
            let post_only = [
                "token_endpoint",
                "introspection_endpoint",
                "revocation_endpoint",
                "pushed_authorization_request_endpoint",
                "device_authorization_endpoint",
            ];
            let res = if post_only.contains(&member.as_str()) {
                app.client.post(format!("{}{path_part}", app.address)).send().await.expect("post")
            } else {
                app.get(path_part).await
            };
            let status = res.status().as_u16();
            let expected: &[u16] = match member.as_str() {
                "authorization_endpoint" => &[400],
                "userinfo_endpoint" | "introspection_endpoint" | "revocation_endpoint" => &[400, 401],
                "token_endpoint"
                | "pushed_authorization_request_endpoint"
                | "device_authorization_endpoint" => &[400],
                _ => &[200],
            };
            assert!(expected.contains(&status), "{member} {url} answered {status}");
            assert!(
                portcullis_web_endpoints().iter().any(|(m, p)| m == member && *p == path_part),
                "{member} is advertised but not in the mounted endpoint list"
            );
        }
    }
    let openid = metadata(&app, "/.well-known/openid-configuration").await;
    let algs = openid["id_token_signing_alg_values_supported"].as_array().expect("algs");
    assert!(algs.iter().any(|a| a == "RS256"), "{openid}");
    // Exactly what is implemented.
    assert_eq!(openid["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(openid["code_challenge_methods_supported"], serde_json::json!(["S256"]));
    assert_eq!(
        openid["grant_types_supported"],
        serde_json::json!([
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "urn:ietf:params:oauth:grant-type:device_code"
        ])
    );
    assert_eq!(openid["authorization_response_iss_parameter_supported"], true);
    assert_eq!(openid["backchannel_logout_supported"], true);
    assert_eq!(openid["request_parameter_supported"], false);
    for member in [
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "introspection_endpoint",
        "revocation_endpoint",
        "end_session_endpoint",
        "device_authorization_endpoint",
    ] {
        assert!(openid[member].is_string(), "{member} missing: {openid}");
    }
}

fn portcullis_web_endpoints() -> Vec<(String, &'static str)> {
    portcullis_server::keys::ENDPOINTS.iter().map(|(m, p)| ((*m).to_owned(), *p)).collect()
}

both_backends!(discovery_names_the_issuer_and_only_endpoints_that_answer);
