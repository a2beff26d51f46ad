//! `[[upstreams]]`: upstream OpenID Connect providers offered on the
//! sign-in page ("Continue with …"), each with our confidential client
//! there, its linking policy, its claim mapping and its rules. Turned into
//! [`Upstream`]s at start; nothing contacts an upstream until its first use.

use portcullis_authn::upstream::client::UpstreamConfig;
use portcullis_authn::upstream::{ClaimNames, Grant, LinkPolicy, Rule, Rules, Test, Upstream};
use portcullis_core::Issuer;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

use super::{ConfigError, SecretKey};

/// One upstream identity provider.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamSettings {
    /// Its id in URLs (`/login/upstream/{id}/callback`): 1–32 of `a-z`,
    /// `0-9`, `_` and `-`, starting with a letter or digit; unique.
    pub id: String,
    /// The name on its button: "Continue with {display_name}".
    pub display_name: String,
    /// Its issuer identifier, exactly as its discovery document and ID
    /// tokens give it (no trailing slash added or removed): https, or http
    /// on `localhost`, `127.0.0.1` or `[::1]`.
    pub issuer: String,
    /// Our client id there.
    pub client_id: String,
    /// Our client secret there, in clear (a secret, redacted when printed);
    /// give exactly one of this, `client_secret_file` or `client_secret_env`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<SecretKey>,
    /// A file holding the client secret, read at load (a trailing newline
    /// is trimmed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_file: Option<PathBuf>,
    /// The name of an environment variable holding the client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_env: Option<String>,
    /// The scopes asked for (`openid` is always sent).
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// When not empty, accounts are created (`jit`) only for trusted,
    /// verified addresses in these domains (exactly: not their sub-domains).
    #[serde(default)]
    pub allowed_email_domains: Vec<String>,
    /// For a multi-tenant issuer (Microsoft Entra's `organizations` or
    /// `common` endpoint): the tenant (directory) ids whose users may sign
    /// in. Empty: the issuer is one tenant's, or not multi-tenant.
    #[serde(default)]
    pub tenants: Vec<String>,
    /// Believe the upstream's `email_verified`: an upstream that lets its
    /// users type any address would hand out accounts.
    #[serde(default)]
    pub trust_email_verified: bool,
    /// Take the upstream's `amr` of `mfa` or `hwk` as a second factor here.
    #[serde(default)]
    pub trust_mfa: bool,
    /// Create an account at the first sign-in of an unknown identity.
    #[serde(default)]
    pub jit: bool,
    /// How long any request to the upstream may take, in seconds (1–60).
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Which ID-token claims carry the username, the address and the name.
    #[serde(default)]
    pub claims: UpstreamClaimSettings,
    /// Roles and groups granted from the claims at every sign-in, in order.
    #[serde(default)]
    pub rules: Vec<UpstreamRuleSettings>,
    /// The secret read from `client_secret_file` or `client_secret_env` at load.
    #[serde(skip)]
    loaded_secret: Option<SecretKey>,
}

/// `[upstreams.claims]`: the claim mapping.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamClaimSettings {
    /// The claim with the username of an account created at the first
    /// sign-in (default `preferred_username`).
    pub username: String,
    /// The claim with the email address (default `email`).
    pub email: String,
    /// The claim with the display name (default `name`).
    pub name: String,
}

impl Default for UpstreamClaimSettings {
    fn default() -> Self {
        let ClaimNames { username, email, name } = ClaimNames::default();
        Self { username, email, name }
    }
}

/// `[[upstreams.rules]]`: when `claim` equals or matches, add a role or a group.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamRuleSettings {
    /// A claim name, or a dotted path into nested claims (`realm_access.roles`).
    pub claim: String,
    /// The claim is this string, or an array containing it; or give `matches`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<String>,
    /// A regular expression the whole claim (or one of its array's strings)
    /// must match; or give `equals`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matches: Option<String>,
    /// The role to grant; or give `add_group`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_role: Option<String>,
    /// The group (by name) to join, created if it does not exist; or give `add_role`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_group: Option<String>,
}

fn default_scopes() -> Vec<String> {
    ["openid", "profile", "email"].map(String::from).to_vec()
}

fn default_timeout_secs() -> u64 {
    10
}

/// The environment lookup of `client_secret_env`.
type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

impl UpstreamSettings {
    /// An upstream with the default settings and its secret given in clear.
    pub fn new(id: &str, display_name: &str, issuer: &str, client_id: &str, client_secret: &str) -> Self {
        Self {
            id: id.to_owned(),
            display_name: display_name.to_owned(),
            issuer: issuer.to_owned(),
            client_id: client_id.to_owned(),
            client_secret: Some(SecretKey::new(client_secret.to_owned())),
            client_secret_file: None,
            client_secret_env: None,
            scopes: default_scopes(),
            allowed_email_domains: Vec::new(),
            tenants: Vec::new(),
            trust_email_verified: false,
            trust_mfa: false,
            jit: false,
            timeout_secs: default_timeout_secs(),
            claims: UpstreamClaimSettings::default(),
            rules: Vec::new(),
            loaded_secret: None,
        }
    }

    /// Where the upstream sends the browser back: the redirect URI to
    /// register there.
    pub fn redirect_uri(&self, issuer: &Issuer) -> String {
        issuer.endpoint(&format!("/login/upstream/{}/callback", self.id))
    }

    /// The upstream as sign-in uses it, for the server at `issuer`.
    pub fn to_upstream(&self, issuer: &Issuer) -> Result<Upstream, ConfigError> {
        let key = format!("upstreams[id={}]", self.id);
        let secret = match (&self.client_secret, &self.loaded_secret) {
            (None, Some(loaded)) => loaded.clone(),
            _ => self.secret(&key, &|name| std::env::var(name).ok())?,
        };
        self.convert(&key, issuer, secret)
    }

    /// The client secret from its one source; `key` names the entry.
    fn secret(&self, key: &str, env: Env<'_>) -> Result<SecretKey, ConfigError> {
        let (secret, source) = match (&self.client_secret, &self.client_secret_file, &self.client_secret_env)
        {
            (Some(secret), None, None) => (secret.expose().to_owned(), "client_secret"),
            (None, Some(path), None) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    ConfigError::invalid(
                        &format!("{key}.client_secret_file"),
                        &format!("cannot read {}: {e}", path.display()),
                    )
                })?;
                (text.trim_end_matches(['\n', '\r']).to_owned(), "client_secret_file")
            }
            (None, None, Some(name)) => {
                let value = env(name).ok_or_else(|| {
                    ConfigError::invalid(
                        &format!("{key}.client_secret_env"),
                        &format!("the environment variable {name} is not set"),
                    )
                })?;
                (value, "client_secret_env")
            }
            _ => {
                return Err(ConfigError::invalid(
                    &format!("{key}.client_secret"),
                    "give exactly one of client_secret, client_secret_file and client_secret_env",
                ));
            }
        };
        if secret.is_empty() {
            return Err(ConfigError::invalid(&format!("{key}.{source}"), "the client secret is empty"));
        }
        Ok(SecretKey::new(secret))
    }

    /// Checks every field and builds the upstream; `key` names the entry.
    fn convert(&self, key: &str, issuer: &Issuer, secret: SecretKey) -> Result<Upstream, ConfigError> {
        let invalid = |field: &str, why: &str| Err(ConfigError::invalid(&format!("{key}.{field}"), why));
        if !valid_id(&self.id) {
            return invalid(
                "id",
                "must be 1–32 of a-z, 0-9, '_' and '-', starting with a letter or digit (it is part of URLs)",
            );
        }
        if self.display_name.trim().is_empty() {
            return invalid("display_name", "must not be empty");
        }
        if let Err(why) = check_issuer(&self.issuer) {
            return invalid("issuer", &why);
        }
        if self.client_id.is_empty() {
            return invalid("client_id", "must not be empty");
        }
        for scope in &self.scopes {
            let token = |c: char| c.is_ascii_graphic() && c != '"' && c != '\\';
            if scope.is_empty() || !scope.chars().all(token) {
                return invalid("scopes", &format!("{scope:?} is not a scope (RFC 6749 §3.3)"));
            }
        }
        for domain in &self.allowed_email_domains {
            if domain.is_empty() || domain.contains('@') || domain.chars().any(|c| c.is_whitespace()) {
                return invalid(
                    "allowed_email_domains",
                    &format!("{domain:?} is not a domain (e.g. \"example.com\", without '@')"),
                );
            }
        }
        if !self.allowed_email_domains.is_empty() && !self.trust_email_verified {
            return invalid(
                "allowed_email_domains",
                "needs trust_email_verified = true: only a trusted, verified address can be in a domain, \
                 so no account would ever be created",
            );
        }
        for tenant in &self.tenants {
            if tenant.is_empty() || !tenant.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            {
                return invalid("tenants", &format!("{tenant:?} is not a tenant id"));
            }
        }
        if !(1..=60).contains(&self.timeout_secs) {
            return invalid("timeout_secs", "must be between 1 and 60");
        }
        for (name, claim) in
            [("username", &self.claims.username), ("email", &self.claims.email), ("name", &self.claims.name)]
        {
            if claim.is_empty() {
                return invalid(&format!("claims.{name}"), "must not be empty");
            }
        }
        let rules = self
            .rules
            .iter()
            .enumerate()
            .map(|(m, rule)| rule.to_rule(&format!("{key}.rules[{m}]")))
            .collect::<Result<Vec<_>, _>>()?;
        let mut scopes: Vec<String> = Vec::new();
        for scope in &self.scopes {
            if scope != "openid" && !scopes.contains(scope) {
                scopes.push(scope.clone());
            }
        }
        Ok(Upstream {
            display_name: self.display_name.trim().to_owned(),
            config: UpstreamConfig {
                id: self.id.clone(),
                issuer: self.issuer.clone(),
                client_id: self.client_id.clone(),
                client_secret: secret.expose().to_owned(),
                scopes,
                redirect_uri: self.redirect_uri(issuer),
                timeout: Duration::from_secs(self.timeout_secs),
                tenants: self.tenants.clone(),
            },
            link: LinkPolicy {
                trust_email_verified: self.trust_email_verified,
                jit: self.jit,
                allowed_email_domains: self.allowed_email_domains.clone(),
            },
            trust_mfa: self.trust_mfa,
            claims: ClaimNames {
                username: self.claims.username.clone(),
                email: self.claims.email.clone(),
                name: self.claims.name.clone(),
            },
            rules: Rules::new(rules),
        })
    }
}

impl UpstreamRuleSettings {
    /// The typed rule; `key` names it (`upstreams[N].rules[M]`).
    fn to_rule(&self, key: &str) -> Result<Rule, ConfigError> {
        let invalid = |field: &str, why: &str| ConfigError::invalid(&format!("{key}.{field}"), why);
        if self.claim.is_empty() {
            return Err(invalid("claim", "must not be empty"));
        }
        let test = match (&self.equals, &self.matches) {
            (Some(value), None) => Test::Equals(value.clone()),
            (None, Some(pattern)) => Test::matches(pattern).map_err(|e| {
                let why = e.to_string().replace('\n', " ");
                invalid("matches", &format!("not a regular expression: {}", why.trim()))
            })?,
            _ => return Err(invalid("equals", "give exactly one of equals and matches")),
        };
        let named = |field: &str, name: &String| {
            let ok = !name.is_empty()
                && name.trim() == name
                && name.chars().count() <= 64
                && !name.chars().any(char::is_control);
            if ok {
                Ok(name.clone())
            } else {
                Err(invalid(
                    field,
                    "must be 1–64 characters, without control characters or surrounding spaces",
                ))
            }
        };
        let grant = match (&self.add_role, &self.add_group) {
            (Some(role), None) => Grant::Role(named("add_role", role)?),
            (None, Some(group)) => Grant::Group(named("add_group", group)?),
            _ => return Err(invalid("add_role", "give exactly one of add_role and add_group")),
        };
        Ok(Rule { claim: self.claim.clone(), test, grant })
    }
}

/// `[a-z0-9][a-z0-9_-]{0,31}`.
fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && id.len() <= 32
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// An absolute https URL (http only on a loopback host), without
/// credentials, query or fragment; kept as written.
fn check_issuer(raw: &str) -> Result<(), String> {
    let url = url::Url::parse(raw).map_err(|e| format!("not an absolute URL ({e})"))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err("not an absolute URL with a host".into()),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err("must use https (http is allowed only for localhost, 127.0.0.1 and [::1])".into()),
    }
    if raw.contains(['?', '#']) {
        return Err("must not contain a query or fragment".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain a username or password".into());
    }
    Ok(())
}

/// Reads each upstream's secret from its file or from `env` (the
/// environment the settings were loaded with), keeping it for
/// [`UpstreamSettings::to_upstream`].
pub(super) fn load_secrets(upstreams: &mut [UpstreamSettings], env: Env<'_>) -> Result<(), ConfigError> {
    for (n, upstream) in upstreams.iter_mut().enumerate() {
        upstream.loaded_secret = Some(upstream.secret(&format!("upstreams[{n}]"), env)?);
    }
    Ok(())
}

/// Checks every upstream, naming the offending entry (`upstreams[N]…`);
/// ids and issuers are unique. Secrets come from [`load_secrets`].
pub(super) fn validate(upstreams: &[UpstreamSettings], issuer: &Issuer) -> Result<(), ConfigError> {
    for (n, upstream) in upstreams.iter().enumerate() {
        let key = format!("upstreams[{n}]");
        let secret = match &upstream.loaded_secret {
            Some(secret) => secret.clone(),
            None => upstream.secret(&key, &|_| None)?,
        };
        upstream.convert(&key, issuer, secret)?;
        if let Some(m) = upstreams[..n].iter().position(|o| o.id == upstream.id) {
            return Err(ConfigError::invalid(&format!("{key}.id"), &format!("is upstreams[{m}]'s id too")));
        }
        if let Some(m) = upstreams[..n].iter().position(|o| o.issuer == upstream.issuer) {
            return Err(ConfigError::invalid(
                &format!("{key}.issuer"),
                &format!("is upstreams[{m}]'s issuer too: an identity is its issuer and subject"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;
    use serde_json::json;

    const ISSUER: &str = "issuer = \"https://id.example.com\"\n";

    /// A minimal upstream with `extra` lines added to its table.
    fn upstream(id: &str, extra: &str) -> String {
        format!(
            "[[upstreams]]\nid = \"{id}\"\ndisplay_name = \"Corp\"\nissuer = \"https://{id}.example\"\n\
             client_id = \"portcullis\"\n{extra}"
        )
    }

    fn load_with(toml: &str, env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let env = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        Settings::from_toml_str("c.toml", &format!("{ISSUER}{toml}"), env)
    }

    fn load(toml: &str) -> Result<Settings, ConfigError> {
        load_with(toml, &[])
    }

    /// The error of `toml`, which must name `key`.
    fn refused(toml: &str, key: &str) -> String {
        let err = load(toml).expect_err("refused").to_string();
        assert!(err.contains(&format!(" {key}: ")), "{key} not named in: {err}");
        err
    }

    fn issuer() -> Issuer {
        Issuer::parse("https://id.example.com").expect("issuer")
    }

    const FULL: &str = r#"
[[upstreams]]
id = "corp"
display_name = "Corp SSO"
issuer = "https://sso.corp.example/realms/staff/"
client_id = "portcullis"
client_secret = "kq3TtV0qfXWmJ2cZ1bN8yR5uA7eL4oHs"
scopes = ["openid", "profile", "email", "groups"]
allowed_email_domains = ["corp.example"]
trust_email_verified = true
trust_mfa = true
jit = true
timeout_secs = 5

[upstreams.claims]
username = "nickname"
email = "mail"
name = "display_name"

[[upstreams.rules]]
claim = "groups"
equals = "idp-admins"
add_role = "admin"

[[upstreams.rules]]
claim = "realm_access.roles"
matches = "eng|ops"
add_group = "technical"

[[upstreams.rules]]
claim = "department"
equals = "finance"
add_group = "finance"
"#;

    #[test]
    fn a_full_upstream_parses_and_converts() {
        let settings = load(FULL).expect("valid");
        let u = settings.upstreams[0].to_upstream(&settings.issuer).expect("converts");
        assert_eq!(u.id(), "corp");
        assert_eq!(u.display_name, "Corp SSO");
        assert_eq!(u.config.issuer, "https://sso.corp.example/realms/staff/", "kept as written");
        assert_eq!(u.config.client_id, "portcullis");
        assert_eq!(u.config.client_secret, "kq3TtV0qfXWmJ2cZ1bN8yR5uA7eL4oHs");
        assert_eq!(u.config.scopes, ["profile", "email", "groups"], "openid is always sent: not listed");
        assert_eq!(u.config.redirect_uri, "https://id.example.com/login/upstream/corp/callback");
        assert_eq!(u.config.timeout, Duration::from_secs(5));
        assert_eq!(
            u.link,
            LinkPolicy {
                trust_email_verified: true,
                jit: true,
                allowed_email_domains: vec!["corp.example".into()],
            }
        );
        assert!(u.trust_mfa);
        assert_eq!(
            u.claims,
            ClaimNames { username: "nickname".into(), email: "mail".into(), name: "display_name".into() }
        );
        let claims: Vec<_> = settings.upstreams[0].rules.iter().map(|r| r.claim.as_str()).collect();
        assert_eq!(claims, ["groups", "realm_access.roles", "department"], "in order");
        let shown = format!("{:?}", u.rules);
        let at = |needle: &str| shown.find(needle).unwrap_or_else(|| panic!("{needle} in {shown}"));
        assert!(
            at("\"groups\"") < at("\"realm_access.roles\"")
                && at("\"realm_access.roles\"") < at("\"department\"")
        );

        let granted = u.rules.grant(&json!({
            "groups": ["users", "idp-admins"],
            "realm_access": { "roles": ["ops"] },
            "department": "finance",
        }));
        assert_eq!(granted.roles.into_iter().collect::<Vec<_>>(), ["admin"]);
        assert_eq!(granted.groups.into_iter().collect::<Vec<_>>(), ["finance", "technical"]);
    }

    #[test]
    fn matches_is_anchored() {
        let settings = load(FULL).expect("valid");
        let u = settings.upstreams[0].to_upstream(&issuer()).expect("converts");
        for near_miss in ["engineering", "devops", "eng|ops", "ENG"] {
            let granted = u.rules.grant(&json!({ "realm_access": { "roles": [near_miss] } }));
            assert!(granted.groups.is_empty(), "{near_miss} matched");
        }
        let granted = u.rules.grant(&json!({ "realm_access": { "roles": "eng" } }));
        assert!(granted.groups.contains("technical"));
    }

    #[test]
    fn defaults_apply() {
        let settings = load(&upstream("corp", "client_secret = \"s\"\n")).expect("valid");
        let s = &settings.upstreams[0];
        assert_eq!(s.scopes, ["openid", "profile", "email"]);
        assert!(!s.trust_email_verified && !s.trust_mfa && !s.jit);
        assert!(s.allowed_email_domains.is_empty() && s.rules.is_empty());
        let u = s.to_upstream(&settings.issuer).expect("converts");
        assert_eq!(u.config.scopes, ["profile", "email"]);
        assert_eq!(u.config.timeout, Duration::from_secs(10));
        assert_eq!(u.claims, ClaimNames::default());
        assert_eq!(u.link, LinkPolicy::default());
        assert!(load("").expect("valid").upstreams.is_empty(), "none by default");
    }

    #[test]
    fn loopback_issuers_may_use_http() {
        for issuer in ["http://127.0.0.1:4444", "http://localhost:8080/realms/x", "http://[::1]:9000"] {
            let toml = upstream("dev", "client_secret = \"s\"\n").replace("https://dev.example", issuer);
            let s = load(&toml).unwrap_or_else(|e| panic!("{issuer}: {e}"));
            assert_eq!(s.upstreams[0].to_upstream(&s.issuer).expect("converts").config.issuer, issuer);
        }
    }

    #[test]
    fn bad_issuers_are_refused() {
        for issuer in [
            "http://corp.example",
            "http://10.0.0.1",
            "ftp://localhost",
            "corp.example",
            "https://corp.example/?tenant=1",
            "https://corp.example/#x",
            "https://user:pw@corp.example",
        ] {
            let toml = upstream("corp", "client_secret = \"s\"\n").replace("https://corp.example", issuer);
            refused(&toml, "upstreams[0].issuer");
        }
        let err = refused(
            &upstream("corp", "client_secret = \"s\"\n")
                .replace("https://corp.example", "http://corp.example"),
            "upstreams[0].issuer",
        );
        assert!(err.contains("https"), "{err}");
    }

    #[test]
    fn bad_ids_are_refused() {
        let long = "a".repeat(33);
        for id in ["", "Corp", "-corp", "_corp", "co rp", "corp/x", "cörp", long.as_str()] {
            let toml =
                upstream("x", "client_secret = \"s\"\n").replace("id = \"x\"", &format!("id = \"{id}\""));
            refused(&toml, "upstreams[0].id");
        }
        for id in ["a", "0", "corp-sso_2", &"a".repeat(32)] {
            let toml =
                upstream("x", "client_secret = \"s\"\n").replace("id = \"x\"", &format!("id = \"{id}\""));
            assert!(load(&toml).is_ok(), "{id}");
        }
    }

    #[test]
    fn ids_and_issuers_are_unique() {
        let a = upstream("corp", "client_secret = \"s\"\n");
        let b = upstream("corp", "client_secret = \"t\"\n")
            .replace("https://corp.example", "https://other.example");
        let err = refused(&format!("{a}{b}"), "upstreams[1].id");
        assert!(err.contains("upstreams[0]"), "{err}");
        let c = upstream("other", "client_secret = \"t\"\n")
            .replace("https://other.example", "https://corp.example");
        refused(&format!("{a}{c}"), "upstreams[1].issuer");
    }

    #[test]
    fn exactly_one_secret_source_is_given() {
        refused(&upstream("corp", ""), "upstreams[0].client_secret");
        refused(
            &upstream("corp", "client_secret = \"s\"\nclient_secret_env = \"CORP_SECRET\"\n"),
            "upstreams[0].client_secret",
        );
        refused(
            &upstream("corp", "client_secret_file = \"/nonexistent\"\nclient_secret_env = \"CORP_SECRET\"\n"),
            "upstreams[0].client_secret",
        );
        refused(&upstream("corp", "client_secret = \"\"\n"), "upstreams[0].client_secret");
    }

    #[test]
    fn a_secret_file_is_read_at_load_without_its_trailing_newline() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("corp.secret");
        std::fs::write(&path, "from-a-file\n").expect("write");
        let toml = upstream("corp", &format!("client_secret_file = {:?}\n", path.display().to_string()));
        let settings = load(&toml).expect("valid");
        std::fs::remove_file(&path).expect("remove");
        let u = settings.upstreams[0].to_upstream(&settings.issuer).expect("read at load, kept");
        assert_eq!(u.config.client_secret, "from-a-file");
        assert!(!settings.to_redacted_toml().contains("from-a-file"));
        assert!(!format!("{settings:?}").contains("from-a-file"));

        let err = refused(&toml, "upstreams[0].client_secret_file");
        assert!(err.contains("corp.secret"), "names the file: {err}");
        std::fs::write(&path, "\n").expect("write");
        refused(&toml, "upstreams[0].client_secret_file");
    }

    #[test]
    fn a_secret_variable_is_read_from_the_environment_loaded_with() {
        let toml = upstream("corp", "client_secret_env = \"CORP_SECRET\"\n");
        let settings = load_with(&toml, &[("CORP_SECRET", "from-the-environment")]).expect("valid");
        let u = settings.upstreams[0].to_upstream(&settings.issuer).expect("converts");
        assert_eq!(u.config.client_secret, "from-the-environment");
        let shown = settings.to_redacted_toml();
        assert!(!shown.contains("from-the-environment") && shown.contains("CORP_SECRET"), "{shown}");

        let err = refused(&toml, "upstreams[0].client_secret_env");
        assert!(err.contains("CORP_SECRET"), "names the variable: {err}");
    }

    #[test]
    fn a_clear_secret_is_redacted() {
        let settings = load(&upstream("corp", "client_secret = \"hunter2hunter2\"\n")).expect("valid");
        assert!(!settings.to_redacted_toml().contains("hunter2"));
        assert!(!format!("{:?}", settings.upstreams).contains("hunter2"));
    }

    fn with_rule(rule: &str) -> String {
        upstream(
            "corp",
            &format!(
                "client_secret = \"s\"\n[[upstreams.rules]]\nclaim = \"groups\"\nequals = \"a\"\nadd_role = \"a\"\n\
                 [[upstreams.rules]]\n{rule}"
            ),
        )
    }

    #[test]
    fn bad_rules_are_refused_naming_the_rule() {
        let err = refused(
            &with_rule("claim = \"groups\"\nequals = \"a\"\nmatches = \"a\"\nadd_role = \"a\"\n"),
            "upstreams[0].rules[1].equals",
        );
        assert!(err.contains("exactly one of equals and matches"), "{err}");
        refused(&with_rule("claim = \"groups\"\nadd_role = \"a\"\n"), "upstreams[0].rules[1].equals");
        let err =
            refused(&with_rule("claim = \"groups\"\nequals = \"a\"\n"), "upstreams[0].rules[1].add_role");
        assert!(err.contains("exactly one of add_role and add_group"), "{err}");
        refused(
            &with_rule("claim = \"groups\"\nequals = \"a\"\nadd_role = \"a\"\nadd_group = \"b\"\n"),
            "upstreams[0].rules[1].add_role",
        );
        let err = refused(
            &with_rule("claim = \"groups\"\nmatches = \"(unclosed\"\nadd_role = \"a\"\n"),
            "upstreams[0].rules[1].matches",
        );
        assert!(!err.contains('\n'), "one line: {err:?}");
        refused(
            &with_rule("claim = \"\"\nequals = \"a\"\nadd_role = \"a\"\n"),
            "upstreams[0].rules[1].claim",
        );
        refused(
            &with_rule("claim = \"groups\"\nequals = \"a\"\nadd_role = \"\"\n"),
            "upstreams[0].rules[1].add_role",
        );
        refused(
            &with_rule("claim = \"groups\"\nequals = \"a\"\nadd_group = \" g\"\n"),
            "upstreams[0].rules[1].add_group",
        );
        let err = load(&with_rule("claim = \"groups\"\nequals = \"a\"\nadd_role = \"a\"\nrole = \"x\"\n"))
            .expect_err("unknown key");
        assert!(err.to_string().contains("role"), "{err}");
    }

    #[test]
    fn other_bad_values_are_refused() {
        let base = "client_secret = \"s\"\n";
        refused(&upstream("corp", &format!("{base}timeout_secs = 0\n")), "upstreams[0].timeout_secs");
        refused(&upstream("corp", &format!("{base}timeout_secs = 61\n")), "upstreams[0].timeout_secs");
        assert!(load(&upstream("corp", &format!("{base}timeout_secs = 60\n"))).is_ok());
        refused(&upstream("corp", base).replace("\"Corp\"", "\" \""), "upstreams[0].display_name");
        refused(&upstream("corp", base).replace("\"portcullis\"", "\"\""), "upstreams[0].client_id");
        refused(&upstream("corp", &format!("{base}scopes = [\"openid\", \"a b\"]\n")), "upstreams[0].scopes");
        refused(
            &upstream("corp", &format!("{base}[upstreams.claims]\nemail = \"\"\n")),
            "upstreams[0].claims.email",
        );
        let domains = "allowed_email_domains = [\"corp.example\"]\n";
        let err =
            refused(&upstream("corp", &format!("{base}{domains}")), "upstreams[0].allowed_email_domains");
        assert!(err.contains("trust_email_verified"), "{err}");
        assert!(load(&upstream("corp", &format!("{base}{domains}trust_email_verified = true\n"))).is_ok());
        refused(
            &upstream(
                "corp",
                &format!("{base}allowed_email_domains = [\"@corp.example\"]\ntrust_email_verified = true\n"),
            ),
            "upstreams[0].allowed_email_domains",
        );
        refused(&upstream("corp", &format!("{base}tenants = [\"a/b\"]\n")), "upstreams[0].tenants");
        refused(&upstream("corp", &format!("{base}tenants = [\"\"]\n")), "upstreams[0].tenants");
        let tenants = load(&upstream("corp", &format!("{base}tenants = [\"0000-aa\"]\n"))).expect("tenants");
        let converted = tenants.upstreams[0].to_upstream(&tenants.issuer).expect("upstream");
        assert_eq!(converted.config.tenants, ["0000-aa"]);
        let err = load(&upstream("corp", &format!("{base}secret = \"x\"\n"))).expect_err("unknown key");
        assert!(err.to_string().contains("secret"), "{err}");
    }

    #[test]
    fn the_redirect_uri_is_under_the_issuer() {
        let s = UpstreamSettings::new("corp", "Corp", "https://corp.example", "rp", "s");
        let realm = Issuer::parse("https://example.com/id").expect("issuer");
        assert_eq!(s.redirect_uri(&realm), "https://example.com/id/login/upstream/corp/callback");
        let u = s.to_upstream(&realm).expect("converts");
        assert_eq!(u.config.redirect_uri, "https://example.com/id/login/upstream/corp/callback");
        assert_eq!(u.config.client_secret, "s");
    }
}
