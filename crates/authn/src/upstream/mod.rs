//! Upstream identity providers ("Continue with …"): who an upstream sign-in
//! is here, and what the upstream's claims grant — pure rules, tested
//! without HTTP or a database — and [`client`], the relying party that talks
//! to an upstream; [`registry`] holds the configured upstreams and [`flow`]
//! the sign-in steps that use them.
//!
//! - [`decide`]: an identity is `(upstream issuer, sub)`, never an email.
//!   A linked identity signs in as its account. An unknown one whose email
//!   the upstream verified, and that we trust the upstream to verify,
//!   matching an existing account, does **not** sign in: the holder must
//!   first prove that account (password and second factor, or a passkey),
//!   then the identity is linked. An email we do not trust never links.
//!   Otherwise an account is created only when just-in-time provisioning is
//!   on and the address is within the allowed domains.
//! - [`Rules`]: an ordered table evaluated at every upstream sign-in; the
//!   roles and groups it grants replace those it granted last time (the
//!   store's `upstream_sign_in` keeps what they granted per identity), so
//!   removing someone from a group at the upstream removes what it gave
//!   here at their next sign-in.

pub mod client;
pub mod flow;
pub mod registry;

pub use flow::{UpstreamFailure, UpstreamOutcome, UpstreamStart};
pub use registry::{ClaimNames, Upstream, Upstreams};

use serde_json::Value;
use std::collections::BTreeSet;
use uuid::Uuid;

/// An account's identity at an upstream provider.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Identity {
    /// The upstream's issuer identifier, exactly as its ID tokens carry it.
    pub issuer: String,
    /// The `sub` claim: stable and unique within that issuer.
    pub subject: String,
}

/// An upstream's linking settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkPolicy {
    /// Believe the upstream's `email_verified` (default false: an upstream
    /// that lets its users type any address would hand out accounts).
    pub trust_email_verified: bool,
    /// Create an account at the first sign-in of an unknown identity.
    pub jit: bool,
    /// When not empty, accounts are created only for verified, trusted
    /// addresses in these domains (compared without case).
    pub allowed_email_domains: Vec<String>,
}

/// What the upstream's ID token says of the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asserted<'a> {
    /// The `email` claim (after the upstream's claim mapping).
    pub email: Option<&'a str>,
    /// The `email_verified` claim; absent counts as false.
    pub email_verified: bool,
}

/// What the store knows of the identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    /// Linked to this account.
    Linked(Uuid),
    /// Not linked; the account holding the asserted address, if any.
    Unlinked {
        /// The account whose address equals the asserted one (without case).
        same_email: Option<Uuid>,
    },
}

/// What an upstream sign-in leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// Sign in as this account.
    SignIn(Uuid),
    /// The account with the same trusted address must be proved by its
    /// holder (password and second factor, or passkey) before the identity
    /// is linked to it; nothing is signed in until then.
    ProveThenLink(Uuid),
    /// Create an account (just-in-time provisioning) and link the identity.
    Create {
        /// The address to give it.
        email: Option<String>,
        /// Whether that address counts as verified here.
        email_verified: bool,
    },
    /// No sign-in.
    Refuse(Refusal),
}

/// Why an upstream sign-in is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// An account has the asserted address, which is not verified or not
    /// trusted: its holder may sign in here and link the upstream from the
    /// account page.
    #[error(
        "an account with this address exists; sign in to it and link this provider from your account page"
    )]
    EmailTaken,
    /// Just-in-time provisioning is off and the identity is not linked.
    #[error("no account here is linked to this identity")]
    NotProvisioned,
    /// The address is outside the allowed domains, or cannot be trusted to
    /// be in them.
    #[error("accounts from this provider are limited to some email domains")]
    DomainNotAllowed,
}

/// Decides what an upstream sign-in leads to.
pub fn decide(policy: &LinkPolicy, known: Known, asserted: Asserted<'_>) -> Link {
    let same_email = match known {
        Known::Linked(user) => return Link::SignIn(user),
        Known::Unlinked { same_email } => same_email,
    };
    let email = asserted.email.map(str::trim).filter(|e| !e.is_empty());
    let trusted = email.is_some() && asserted.email_verified && policy.trust_email_verified;
    match same_email {
        Some(user) if trusted => return Link::ProveThenLink(user),
        Some(_) => return Link::Refuse(Refusal::EmailTaken),
        None => {}
    }
    if !policy.jit {
        return Link::Refuse(Refusal::NotProvisioned);
    }
    if !policy.allowed_email_domains.is_empty() {
        let allowed = trusted
            && email.and_then(domain_of).is_some_and(|domain| {
                policy.allowed_email_domains.iter().any(|d| d.trim().eq_ignore_ascii_case(domain))
            });
        if !allowed {
            return Link::Refuse(Refusal::DomainNotAllowed);
        }
    }
    Link::Create { email: email.map(str::to_owned), email_verified: trusted }
}

/// The domain of an address: what follows its last `@`, when both sides
/// are non-empty.
fn domain_of(email: &str) -> Option<&str> {
    let (local, domain) = email.rsplit_once('@')?;
    (!local.is_empty() && !domain.is_empty()).then_some(domain)
}

/// The `amr` a sign-in through an upstream starts the session with: `fed`
/// (RFC 8176: federated), and `mfa` only when the upstream is trusted for it
/// (`trust_mfa`) and asserted a second factor or a hardware key (`mfa`,
/// `hwk`). Without `mfa`, the journey's second-factor policy
/// ([`crate::journey::standing`]) asks an account that has a second factor
/// for it, as after a password; with it, the upstream's second factor
/// stands in for a local one (see [`crate::journey::standing`]).
pub fn session_amr<S: AsRef<str>>(upstream_amr: &[S], trust_mfa: bool) -> Vec<String> {
    let mut amr = vec!["fed".to_owned()];
    if trust_mfa && upstream_amr.iter().any(|m| matches!(m.as_ref(), "mfa" | "hwk")) {
        amr.push("mfa".to_owned());
    }
    amr
}

/// How a rule tests a claim's value.
#[derive(Debug, Clone)]
pub enum Test {
    /// The claim is this string, or an array containing it.
    Equals(String),
    /// The claim is a string the expression matches as a whole (it is
    /// anchored: `admin` does not match `notadmin`), or an array with one.
    Matches(regex::Regex),
}

/// What a rule grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// A role (e.g. `admin`).
    Role(String),
    /// Membership of a group, by name.
    Group(String),
}

/// One rule: when `claim` passes `test`, `grant`.
#[derive(Debug, Clone)]
pub struct Rule {
    /// A claim name, or a dotted path into nested claims (`realm_access.roles`).
    pub claim: String,
    /// The test.
    pub test: Test,
    /// The grant.
    pub grant: Grant,
}

impl Test {
    /// A `matches` test, anchored at both ends.
    pub fn matches(pattern: &str) -> Result<Self, regex::Error> {
        regex::Regex::new(&format!("^(?:{pattern})$")).map(Test::Matches)
    }

    fn passes(&self, value: &Value) -> bool {
        match value {
            Value::Array(items) => items.iter().any(|item| self.passes_scalar(item)),
            scalar => self.passes_scalar(scalar),
        }
    }

    fn passes_scalar(&self, value: &Value) -> bool {
        let Value::String(s) = value else {
            return false;
        };
        match self {
            Test::Equals(expected) => s == expected,
            Test::Matches(re) => re.is_match(s),
        }
    }
}

/// An upstream's rules, in order.
#[derive(Debug, Clone, Default)]
pub struct Rules(Vec<Rule>);

/// The roles and groups the rules grant for one set of claims.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Granted {
    /// Roles.
    pub roles: BTreeSet<String>,
    /// Group names.
    pub groups: BTreeSet<String>,
}

impl Rules {
    /// The rules, in the order they are evaluated.
    pub fn new(rules: Vec<Rule>) -> Self {
        Self(rules)
    }

    /// What the rules grant for `claims` (the ID token's, or its merge with
    /// userinfo's). A claim that is absent, or not a string or an array of
    /// strings, passes no test.
    pub fn grant(&self, claims: &Value) -> Granted {
        let mut granted = Granted::default();
        for rule in &self.0 {
            if claim_at(claims, &rule.claim).is_some_and(|value| rule.test.passes(value)) {
                match &rule.grant {
                    Grant::Role(role) => granted.roles.insert(role.clone()),
                    Grant::Group(group) => granted.groups.insert(group.clone()),
                };
            }
        }
        granted
    }
}

/// The claim `path` names: a top-level claim of that exact name first
/// (claim names may contain dots, e.g. `https://example.com/groups`), else
/// the dotted path through nested objects.
pub fn claim_at<'a>(claims: &'a Value, path: &str) -> Option<&'a Value> {
    if let Some(value) = claims.get(path) {
        return Some(value);
    }
    path.split('.').try_fold(claims, |value, key| value.get(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy(trust: bool, jit: bool, domains: &[&str]) -> LinkPolicy {
        LinkPolicy {
            trust_email_verified: trust,
            jit,
            allowed_email_domains: domains.iter().map(|d| (*d).to_owned()).collect(),
        }
    }

    const ADA: Asserted<'static> = Asserted { email: Some("ada@example.com"), email_verified: true };

    #[test]
    fn a_linked_identity_signs_in_whatever_the_email_says() {
        let user = Uuid::new_v4();
        let unverified = Asserted { email: Some("someone-else@example.com"), email_verified: false };
        for asserted in [ADA, unverified, Asserted { email: None, email_verified: false }] {
            assert_eq!(decide(&policy(false, false, &[]), Known::Linked(user), asserted), Link::SignIn(user));
        }
    }

    #[test]
    fn a_trusted_verified_email_of_an_account_asks_for_proof_never_signs_in() {
        let user = Uuid::new_v4();
        let known = Known::Unlinked { same_email: Some(user) };
        assert_eq!(decide(&policy(true, false, &[]), known, ADA), Link::ProveThenLink(user));
        assert_eq!(decide(&policy(true, true, &["example.com"]), known, ADA), Link::ProveThenLink(user));
    }

    #[test]
    fn an_untrusted_or_unverified_email_never_links() {
        let known = Known::Unlinked { same_email: Some(Uuid::new_v4()) };
        let unverified = Asserted { email_verified: false, ..ADA };
        assert_eq!(decide(&policy(false, true, &[]), known, ADA), Link::Refuse(Refusal::EmailTaken));
        assert_eq!(decide(&policy(true, true, &[]), known, unverified), Link::Refuse(Refusal::EmailTaken));
        assert_eq!(decide(&policy(false, false, &[]), known, unverified), Link::Refuse(Refusal::EmailTaken));
    }

    #[test]
    fn accounts_are_created_only_with_jit() {
        let unknown = Known::Unlinked { same_email: None };
        assert_eq!(decide(&policy(true, false, &[]), unknown, ADA), Link::Refuse(Refusal::NotProvisioned));
        assert_eq!(
            decide(&policy(true, true, &[]), unknown, ADA),
            Link::Create { email: Some("ada@example.com".into()), email_verified: true }
        );
        // Not trusted: created, with the address unverified here.
        assert_eq!(
            decide(&policy(false, true, &[]), unknown, ADA),
            Link::Create { email: Some("ada@example.com".into()), email_verified: false }
        );
        assert_eq!(
            decide(&policy(false, true, &[]), unknown, Asserted { email: Some("  "), email_verified: true }),
            Link::Create { email: None, email_verified: false }
        );
    }

    #[test]
    fn allowed_domains_need_a_trusted_address_in_them() {
        let unknown = Known::Unlinked { same_email: None };
        let only = policy(true, true, &["Example.COM", "corp.example"]);
        assert!(matches!(decide(&only, unknown, ADA), Link::Create { email_verified: true, .. }));
        let elsewhere = Asserted { email: Some("eve@example.com.evil"), email_verified: true };
        assert_eq!(decide(&only, unknown, elsewhere), Link::Refuse(Refusal::DomainNotAllowed));
        let sub = Asserted { email: Some("eve@sub.example.com"), email_verified: true };
        assert_eq!(decide(&only, unknown, sub), Link::Refuse(Refusal::DomainNotAllowed));
        let two_ats = Asserted { email: Some("example.com@evil.test"), email_verified: true };
        assert_eq!(decide(&only, unknown, two_ats), Link::Refuse(Refusal::DomainNotAllowed));
        let unverified = Asserted { email_verified: false, ..ADA };
        assert_eq!(decide(&only, unknown, unverified), Link::Refuse(Refusal::DomainNotAllowed));
        let untrusted = policy(false, true, &["example.com"]);
        assert_eq!(decide(&untrusted, unknown, ADA), Link::Refuse(Refusal::DomainNotAllowed));
        let none = Asserted { email: None, email_verified: true };
        assert_eq!(decide(&only, unknown, none), Link::Refuse(Refusal::DomainNotAllowed));
    }

    #[test]
    fn an_upstream_stands_in_for_a_second_factor_only_when_trusted_and_asserted() {
        assert_eq!(session_amr(&["pwd"], true), ["fed"]);
        assert_eq!(session_amr(&["pwd", "mfa", "otp"], true), ["fed", "mfa"]);
        assert_eq!(session_amr(&["hwk", "user"], true), ["fed", "mfa"]);
        assert_eq!(session_amr(&["pwd", "mfa"], false), ["fed"], "not trusted for it");
        assert_eq!(
            session_amr(&["MFA", "swk"], true),
            ["fed"],
            "values are case-sensitive; swk alone is not hwk"
        );
        assert_eq!(session_amr::<&str>(&[], true), ["fed"]);
    }

    fn rule(claim: &str, test: Test, grant: Grant) -> Rule {
        Rule { claim: claim.into(), test, grant }
    }

    fn rules() -> Rules {
        Rules::new(vec![
            rule("groups", Test::Equals("idp-admins".into()), Grant::Role("admin".into())),
            rule("realm_access.roles", Test::Equals("staff".into()), Grant::Group("staff".into())),
            rule("department", Test::matches("eng|ops").expect("regex"), Grant::Group("technical".into())),
            rule("https://example.com/tier", Test::Equals("gold".into()), Grant::Group("gold".into())),
        ])
    }

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn rules_grant_by_string_array_nested_path_and_anchored_regex() {
        let claims = json!({
            "groups": ["users", "idp-admins"],
            "realm_access": { "roles": ["staff"] },
            "department": "eng",
            "https://example.com/tier": "gold",
        });
        let granted = rules().grant(&claims);
        assert_eq!(granted.roles, set(&["admin"]));
        assert_eq!(granted.groups, set(&["staff", "technical", "gold"]));

        let near_misses = json!({
            "groups": "idp-admins-not",
            "realm_access": { "roles": "staff-ish" },
            "department": "engineering",
            "https://example.com/tier": ["silver"],
        });
        assert_eq!(rules().grant(&near_misses), Granted::default());
        let odd_types =
            json!({ "groups": [1, true, null], "realm_access": "staff", "department": { "eng": 1 } });
        assert_eq!(rules().grant(&odd_types), Granted::default());
        assert_eq!(rules().grant(&json!({})), Granted::default());
    }

    #[test]
    fn a_bad_expression_is_refused() {
        assert!(Test::matches("(unclosed").is_err());
    }
}
