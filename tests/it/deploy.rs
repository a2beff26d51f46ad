//! The deployment files (deploy/, docker-compose.yml, .dockerignore) checked
//! against the code: what the image build sends, how the container checks
//! its health, and that monitoring only names metrics the server exports.
//! (`scripts/test` validates the files' syntax with docker-compose, promtool,
//! kubectl kustomize + kubernetes-validate and systemd-analyze.)

use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the tests crate is in the repository").to_owned()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo_root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// One `.dockerignore` line as Docker reads it: blank lines and `#` comments
/// dropped, `!` an exception, a leading `/` and `./` ignored.
#[derive(Debug)]
struct Pattern {
    exception: bool,
    parts: Vec<String>,
}

fn parse_dockerignore(text: &str) -> Vec<Pattern> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (exception, p) = match l.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, l),
            };
            let p = p.trim_start_matches("./").trim_start_matches('/').trim_end_matches('/');
            Pattern {
                exception,
                parts: p.split('/').filter(|s| !s.is_empty() && *s != ".").map(str::to_owned).collect(),
            }
        })
        .collect()
}

/// Go's `filepath.Match` on one path segment: `*`, `?` and literal characters
/// (character classes are not used in our file).
fn segment_matches(pattern: &[char], name: &[char]) -> bool {
    match (pattern.first(), name.first()) {
        (None, None) => true,
        (Some('*'), _) => {
            segment_matches(&pattern[1..], name) || (!name.is_empty() && segment_matches(pattern, &name[1..]))
        }
        (Some('?'), Some(_)) => segment_matches(&pattern[1..], &name[1..]),
        (Some(p), Some(n)) if p == n => segment_matches(&pattern[1..], &name[1..]),
        _ => false,
    }
}

/// Whether the pattern matches the whole path; `**` is any number of
/// directories, zero included.
fn path_matches(pattern: &[String], path: &[&str]) -> bool {
    match pattern.first() {
        None => path.is_empty(),
        Some(p) if p == "**" => (0..=path.len()).any(|skip| path_matches(&pattern[1..], &path[skip..])),
        Some(p) => {
            let p: Vec<char> = p.chars().collect();
            path.first().is_some_and(|name| {
                let name: Vec<char> = name.chars().collect();
                segment_matches(&p, &name) && path_matches(&pattern[1..], &path[1..])
            })
        }
    }
}

/// Whether Docker leaves `path` (relative to the context) out of the build
/// context: the last pattern matching it or one of its parent directories
/// decides (an excluded directory takes everything under it along).
fn excluded(patterns: &[Pattern], path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    let mut out = false;
    for pattern in patterns {
        if (1..=parts.len()).any(|n| path_matches(&pattern.parts, &parts[..n])) {
            out = !pattern.exception;
        }
    }
    out
}

#[test]
fn the_matcher_reads_patterns_as_docker_does() {
    let patterns = parse_dockerignore("# c\n\n/target\n**/*.kek\nweb\n!web/static\n*.md\n");
    assert!(excluded(&patterns, "target"));
    assert!(excluded(&patterns, "target/release/portcullis"));
    assert!(!excluded(&patterns, "crates/x/target"), "patterns are anchored at the context root");
    assert!(excluded(&patterns, "a.kek") && excluded(&patterns, "a/b/c.kek"));
    assert!(!excluded(&patterns, "a.kek.txt"));
    assert!(excluded(&patterns, "web/templates/x.html"));
    assert!(!excluded(&patterns, "web/static/portcullis.css"), "an exception re-includes");
    assert!(excluded(&patterns, "README.md") && !excluded(&patterns, "docs/x.md"));
}

#[test]
fn the_build_context_leaves_out_build_output_state_keys_and_git() {
    let patterns = parse_dockerignore(&read(".dockerignore"));
    for path in [
        "target",
        "target/release/portcullis",
        "fuzz/target/x",
        "data",
        "data/keys.kek",
        "data/portcullis.db",
        "keys.kek",
        "deploy/keys.kek",
        "a/b/c.kek",
        "portcullis.db",
        "crates/server/dev.db-wal",
        ".git",
        ".git/HEAD",
        "node_modules/x/package.json",
        "tests/oidc-client/node_modules/oauth4webapi/package.json",
        "tests/browser/node_modules/playwright-core/index.js",
        "bench/node/node_modules/oidc-provider/package.json",
        ".schemathesis/cache",
        "tests/.schemathesis/x",
    ] {
        assert!(excluded(&patterns, path), ".dockerignore lets {path} into the build context");
    }
    // What the build needs stays in.
    for path in [
        "Cargo.toml",
        "Cargo.lock",
        "crates/server/src/main.rs",
        "crates/authn/data/common-passwords.txt.gz",
        "migrations/postgres/0001_audit_log.sql",
        "web/templates/layout/base.html",
        "web/static/portcullis.css",
        "tests/Cargo.toml",
        "deploy/Dockerfile",
    ] {
        assert!(!excluded(&patterns, path), ".dockerignore leaves {path} out of the build");
    }
}

#[test]
fn the_image_checks_its_health_with_the_binary_and_runs_unprivileged() {
    let dockerfile = read("deploy/Dockerfile");
    assert!(dockerfile.contains(r#"CMD ["portcullis", "healthcheck"]"#), "{dockerfile}");
    assert!(!dockerfile.contains("curl"), "the runtime image needs no curl");
    assert!(dockerfile.contains("cargo chef cook --release"), "the dependency layer is cached");
    let runtime = dockerfile.rsplit("\nFROM ").next().expect("a runtime stage");
    assert!(runtime.contains("\nUSER 10001:10001\n"), "the runtime stage runs as a numeric non-root user");
}

/// The TOML the Kubernetes ConfigMaps hold is a valid configuration once
/// the Secret's values arrive through the environment.
#[test]
fn the_kubernetes_configurations_are_valid() {
    let secrets = [
        (
            "PORTCULLIS__DATABASE__URL".to_owned(),
            "postgres://portcullis@db.internal:5432/portcullis".to_owned(),
        ),
        ("PORTCULLIS__KEYS__ENCRYPTION_KEY".to_owned(), "A".repeat(43)),
    ];
    for path in ["deploy/k8s/base/portcullis.toml", "deploy/k8s/overlays/example/portcullis.toml"] {
        let settings = portcullis_server::Settings::from_toml_str(path, &read(path), secrets.clone())
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(settings.listen.port(), 8080, "{path}: the Deployment's containerPort");
        assert_eq!(settings.metrics_listen.port(), 9464, "{path}: the Deployment's metrics port");
        assert!(settings.listen.ip().is_unspecified(), "{path}: probes come from the kubelet");
        assert_eq!(settings.http.workers, Some(2), "{path}: as many workers as the CPU limit");
        assert!(settings.http.shutdown_timeout_secs < 35, "{path}: below terminationGracePeriodSeconds");
    }
    let deployment = read("deploy/k8s/base/deployment.yaml");
    for needle in [
        "path: /readyz",
        "path: /healthz",
        "runAsNonRoot: true",
        "readOnlyRootFilesystem: true",
        "allowPrivilegeEscalation: false",
        "terminationGracePeriodSeconds: 35",
        "key: encryption-key",
        "key: database-url",
    ] {
        assert!(deployment.contains(needle), "deployment.yaml lacks {needle}");
    }
}

/// PromQL words that are not metric names.
const PROMQL_WORDS: &[&str] = &[
    "sum",
    "min",
    "max",
    "avg",
    "count",
    "topk",
    "bottomk",
    "quantile",
    "stddev",
    "stdvar",
    "group",
    "count_values",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "rate",
    "irate",
    "increase",
    "delta",
    "idelta",
    "histogram_quantile",
    "abs",
    "clamp_min",
    "clamp_max",
    "time",
    "vector",
    "scalar",
    "absent",
    "label_replace",
    "inf",
    "nan",
];

/// The metric names a PromQL expression reads: identifiers outside label
/// matchers, ranges and strings that are neither functions, keywords nor
/// the label lists of `by (…)` and friends.
fn metric_names(expr: &str) -> Vec<String> {
    // Blank out strings, `{…}` matchers and `[…]` ranges.
    let mut plain = String::with_capacity(expr.len());
    let (mut depth_brace, mut depth_bracket, mut quote) = (0u32, 0u32, None::<char>);
    for c in expr.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'' | '`') => quote = Some(c),
            (None, '{') => depth_brace += 1,
            (None, '}') => depth_brace = depth_brace.saturating_sub(1),
            (None, '[') => depth_bracket += 1,
            (None, ']') => depth_bracket = depth_bracket.saturating_sub(1),
            (None, c) if depth_brace == 0 && depth_bracket == 0 => {
                plain.push(c);
                continue;
            }
            _ => {}
        }
        plain.push(' ');
    }
    let chars: Vec<char> = plain.chars().collect();
    let mut names = Vec::new();
    let mut i = 0;
    let mut skip_label_list = false;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let next = chars[i..].iter().find(|c| !c.is_whitespace());
            if matches!(word.as_str(), "by" | "without" | "on" | "ignoring" | "group_left" | "group_right") {
                skip_label_list = next == Some(&'(');
            } else if next != Some(&'(') && !PROMQL_WORDS.contains(&word.as_str()) {
                names.push(word);
            }
        } else if c == '(' && skip_label_list {
            // `by (a, b)`: labels, not metrics.
            while i < chars.len() && chars[i] != ')' {
                i += 1;
            }
            skip_label_list = false;
            i += 1;
        } else if c.is_ascii_digit() || c == '.' {
            // A number (also 1e3): skip it whole.
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    names
}

#[test]
fn metric_names_are_read_from_promql() {
    let names = metric_names(
        r#"histogram_quantile(0.99, sum by (job, le) (rate(a_bucket{route!~"/x|y", s=~"5.."}[5m]))) / on (job) group_left (version) b > 1e3 and c:rule"#,
    );
    assert_eq!(names, ["a_bucket", "b", "c:rule"]);
}

/// The `expr:` values of a Prometheus rule file: one line, or a `|` block.
fn rule_expressions(yaml: &str) -> Vec<String> {
    let lines: Vec<&str> = yaml.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(rest) = line.trim_start().strip_prefix("expr:") else { continue };
        let indent = line.len() - line.trim_start().len();
        let rest = rest.trim();
        if rest == "|" || rest == ">" {
            let block: Vec<&str> = lines[i + 1..]
                .iter()
                .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > indent)
                .map(|l| l.trim())
                .collect();
            out.push(block.join(" "));
        } else {
            out.push(rest.to_owned());
        }
    }
    out
}

/// Every `expr` of the dashboard's panels, and the metric of each
/// `label_values(metric…, label)` variable query.
fn dashboard_expressions(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("expr", serde_json::Value::String(expr)) => out.push(expr.clone()),
                    ("query", serde_json::Value::String(q)) if q.starts_with("label_values(") => {
                        let inner = q.trim_start_matches("label_values(");
                        let metric = inner.rsplit_once(',').map_or(inner, |(metric, _label)| metric);
                        out.push(metric.to_owned());
                    }
                    _ => dashboard_expressions(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| dashboard_expressions(v, out)),
        _ => {}
    }
}

/// The dashboard and the alert rules name only metrics the server exports:
/// an app that served requests and a sign-in is scraped, and each name (a
/// histogram's `_bucket`, `_sum` and `_count` included) must be there.
#[tokio::test]
async fn monitoring_names_only_metrics_the_server_exports() {
    let app = portcullis_tests::spawn_app(portcullis_tests::Backend::Sqlite).await;
    app.get("/healthz").await;
    app.get("/readyz").await;
    app.get("/no-such-page").await;
    // A failed sign-in: the sign-in counter and the hash histogram get a sample.
    crate::accounts::sign_in(&app, "nobody", "not the password").await;
    let text = app
        .client
        .get(format!("{}/metrics", app.metrics_address))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("body");
    let mut exported = std::collections::BTreeSet::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("# TYPE ") else { continue };
        let mut parts = rest.split_whitespace();
        let (Some(name), Some(kind)) = (parts.next(), parts.next()) else { continue };
        exported.insert(name.to_owned());
        if kind == "histogram" || kind == "summary" {
            for suffix in ["_bucket", "_sum", "_count"] {
                exported.insert(format!("{name}{suffix}"));
            }
        }
    }
    assert!(
        exported.contains("http_requests_total") && exported.contains("portcullis_signin_attempts_total")
    );
    // Series Prometheus itself adds to every scrape.
    let synthetic = ["up"];

    let alerts = rule_expressions(&read("deploy/prometheus/alerts.yml"));
    assert!(alerts.len() >= 8, "{alerts:?}");
    let dashboard: serde_json::Value =
        serde_json::from_str(&read("deploy/grafana/portcullis.json")).expect("the dashboard is JSON");
    let mut panels = Vec::new();
    dashboard_expressions(&dashboard, &mut panels);
    assert!(panels.len() >= 15, "{panels:?}");

    let mut seen = std::collections::BTreeSet::new();
    for (file, exprs) in
        [("deploy/prometheus/alerts.yml", &alerts), ("deploy/grafana/portcullis.json", &panels)]
    {
        for expr in exprs {
            let names = metric_names(expr);
            assert!(!names.is_empty(), "{file}: no metric in {expr}");
            for name in names {
                assert!(
                    exported.contains(&name) || synthetic.contains(&name.as_str()),
                    "{file} reads {name}, which /metrics does not export ({expr})"
                );
                seen.insert(name);
            }
        }
    }
    // The alerts cover what the deployment files promise.
    for name in [
        "http_requests_total",
        "http_request_duration_seconds_bucket",
        "portcullis_mail_oldest_unsent_age_seconds",
        "portcullis_signing_key_next_rotation_seconds",
        "portcullis_signin_attempts_total",
    ] {
        assert!(seen.contains(name), "nothing reads {name}");
    }
}

/// The `PORTCULLIS__…` variables the image and docker-compose.yml set make a
/// valid configuration (`${VAR:-default}` read as its default, the required
/// key-encryption key as a valid one), on the ports the files publish.
#[test]
fn the_container_environment_is_a_valid_configuration() {
    let mut env: Vec<(String, String)> = Vec::new();
    // The Dockerfile's `ENV A=x \` lines of the runtime stage.
    let dockerfile = read("deploy/Dockerfile");
    let runtime = dockerfile.rsplit("\nFROM ").next().expect("a runtime stage");
    for word in runtime.split_whitespace() {
        if let Some((key, value)) = word.split_once('=')
            && key.starts_with("PORTCULLIS__")
        {
            env.push((key.to_owned(), value.to_owned()));
        }
    }
    assert_eq!(env.len(), 3, "{env:?}");
    // docker-compose.yml's `PORTCULLIS__KEY: value` lines.
    let compose = read("docker-compose.yml");
    let mut from_compose = 0;
    for line in compose.lines() {
        let Some((key, value)) = line.trim().split_once(": ") else { continue };
        if !key.starts_with("PORTCULLIS__") {
            continue;
        }
        let value = value.trim();
        let value = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')).unwrap_or(value);
        let value = if value.starts_with("${PORTCULLIS_KEK:?") {
            "A".repeat(43)
        } else {
            value
                .replace("${POSTGRES_PASSWORD:-change-me}", "change-me")
                .replace("${REDIS_PASSWORD:-change-me}", "change-me")
        };
        assert!(!value.contains("${"), "{key}: an interpolation this test does not know: {value}");
        env.push((key.to_owned(), value));
        from_compose += 1;
    }
    assert!(from_compose >= 4, "{env:?}");
    let settings = portcullis_server::Settings::load(None, env.clone())
        .unwrap_or_else(|e| panic!("the container's environment is invalid: {e}\n{env:?}"));
    assert_eq!(settings.listen.port(), 8080);
    assert_eq!(settings.metrics_listen.port(), 9464);
    assert_eq!(portcullis_server::healthcheck::target(settings.listen).to_string(), "127.0.0.1:8080");
    assert!(settings.keys.encryption_key.is_some(), "the instances share one key-encryption key");
    assert!(settings.redis.config().expect("no files").is_some(), "the instances share one Redis");
    assert_eq!(
        settings.database_url().redacted(),
        "postgres://portcullis:[redacted]@postgres:5432/portcullis"
    );
    assert_eq!(settings.auth.trusted_proxies, ["172.28.0.10".parse::<std::net::IpAddr>().expect("ip")]);
    let nginx = read("deploy/compose/nginx.conf");
    assert!(nginx.contains("server portcullis-a:8080") && nginx.contains("server portcullis-b:8080"));
    assert!(compose.contains("ipv4_address: 172.28.0.10"), "the proxy has the trusted address");
}
