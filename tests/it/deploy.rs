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
        ("PORTCULLIS__DATABASE__URL".to_owned(), "postgres://portcullis@db.internal:5432/portcullis".to_owned()),
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
