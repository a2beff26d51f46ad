//! The claims we release and the scopes that release them, in one place:
//! the ID token, UserInfo and discovery (`claims_supported`,
//! `scopes_supported`) all read these lists.

use portcullis_store::User;
use serde_json::{Map, Value, json};

use crate::ScopeSet;
use crate::interaction::OFFLINE_ACCESS;
use crate::tokens::unix;

/// The scope that makes a request an OpenID Connect request (OIDC Core §3.1.2.1).
pub const OPENID: &str = "openid";

/// Claims about the authentication itself, in every ID token that has the
/// value (OIDC Core §2, §3.1.3.6; `sid`: Front- and Back-Channel Logout).
pub const ID_TOKEN_CLAIMS: &[&str] =
    &["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "azp", "at_hash"];

/// A claim about the user, released by a scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserClaim {
    /// `name`: the display name, or the username when there is none.
    Name,
    /// `preferred_username`.
    PreferredUsername,
    /// `updated_at`: seconds since the epoch.
    UpdatedAt,
    /// `email`.
    Email,
    /// `email_verified`.
    EmailVerified,
    /// `roles` (ours: not an OIDC standard claim).
    Roles,
    /// `groups`: the names of the user's groups (ours, as Keycloak's and
    /// Authentik's).
    Groups,
}

/// The scope that releases `groups`.
pub const GROUPS: &str = "groups";

/// Whom claims are about: the user and, when a scope asks for them, the
/// names of their groups.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// The user.
    pub user: &'a User,
    /// Their groups' names (empty unless the `groups` scope was granted).
    pub groups: &'a [String],
}

impl UserClaim {
    /// The claim's name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::PreferredUsername => "preferred_username",
            Self::UpdatedAt => "updated_at",
            Self::Email => "email",
            Self::EmailVerified => "email_verified",
            Self::Roles => "roles",
            Self::Groups => "groups",
        }
    }

    /// Its value for `subject`.
    fn value(self, subject: Subject<'_>) -> Value {
        let user = subject.user;
        match self {
            Self::Name => json!(user.shown_name()),
            Self::PreferredUsername => json!(user.username),
            Self::UpdatedAt => json!(unix(user.updated_at)),
            Self::Email => json!(user.email),
            Self::EmailVerified => json!(user.email_verified),
            Self::Roles => json!(user.roles),
            Self::Groups => json!(subject.groups),
        }
    }
}

/// The scopes that release user claims, and their claims (OIDC Core §5.4,
/// plus `roles` and `groups`).
pub const SCOPE_CLAIMS: &[(&str, &[UserClaim])] = &[
    ("profile", &[UserClaim::Name, UserClaim::PreferredUsername, UserClaim::UpdatedAt]),
    ("email", &[UserClaim::Email, UserClaim::EmailVerified]),
    ("roles", &[UserClaim::Roles]),
    (GROUPS, &[UserClaim::Groups]),
];

/// Every scope we understand: `openid`, those of [`SCOPE_CLAIMS`], `offline_access`.
pub fn scopes_supported() -> Vec<&'static str> {
    let mut scopes = vec![OPENID];
    scopes.extend(SCOPE_CLAIMS.iter().map(|(scope, _)| *scope));
    scopes.push(OFFLINE_ACCESS);
    scopes
}

/// Every claim we may release: [`ID_TOKEN_CLAIMS`], then the user claims.
pub fn claims_supported() -> Vec<&'static str> {
    let mut claims = ID_TOKEN_CLAIMS.to_vec();
    claims.extend(SCOPE_CLAIMS.iter().flat_map(|(_, released)| released.iter().map(|c| c.name())));
    claims
}

/// The user claims `scopes` release about `subject` (for the ID token and
/// UserInfo).
pub fn user_claims(subject: Subject<'_>, scopes: &ScopeSet) -> Map<String, Value> {
    let mut claims = Map::new();
    for (scope, released) in SCOPE_CLAIMS {
        if scopes.contains(scope) {
            for claim in *released {
                claims.insert(claim.name().into(), claim.value(subject));
            }
        }
    }
    claims
}

/// The names of `user_id`'s groups when `scopes` release them (one indexed
/// read), else none (no read).
pub(crate) async fn groups_for(
    ctx: &crate::Ctx<'_>,
    user_id: uuid::Uuid,
    scopes: &ScopeSet,
) -> Result<Vec<String>, crate::ProtocolError> {
    if scopes.contains(GROUPS) { Ok(ctx.store.user_groups(user_id).await?) } else { Ok(Vec::new()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::OffsetDateTime;

    fn user() -> User {
        User {
            id: uuid::Uuid::nil(),
            username: "ann".into(),
            email: "ann@example.test".into(),
            email_verified: true,
            display_name: Some("Ann A.".into()),
            disabled: false,
            mfa_required: false,
            security_stamp: String::new(),
            roles: vec!["admin".into()],
            password_hash: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(42),
        }
    }

    #[test]
    fn the_groups_scope_releases_the_group_names() {
        let groups = ["ops".to_owned(), "staff".to_owned()];
        let subject = Subject { user: &user(), groups: &groups };
        let with = user_claims(subject, &ScopeSet::parse("openid groups").expect("scope"));
        assert_eq!(with.get("groups"), Some(&json!(["ops", "staff"])));
        let without = user_claims(subject, &ScopeSet::parse("openid profile").expect("scope"));
        assert!(!without.contains_key("groups"));
        assert!(scopes_supported().contains(&GROUPS) && claims_supported().contains(&"groups"));
    }

    #[test]
    fn each_scope_releases_exactly_its_claims() {
        let released = |scope: &str| {
            let claims =
                user_claims(Subject { user: &user(), groups: &[] }, &ScopeSet::parse(scope).expect("scope"));
            claims.keys().cloned().collect::<Vec<_>>()
        };
        assert_eq!(released("openid"), Vec::<String>::new());
        assert_eq!(released("openid profile"), ["name", "preferred_username", "updated_at"]);
        assert_eq!(released("openid email"), ["email", "email_verified"]);
        assert_eq!(released("openid roles"), ["roles"]);
        let all = user_claims(
            Subject { user: &user(), groups: &[] },
            &ScopeSet::parse("openid profile email roles").expect("scope"),
        );
        assert_eq!(all["name"], "Ann A.");
        assert_eq!(all["preferred_username"], "ann");
        assert_eq!(all["updated_at"], 42);
        assert_eq!(all["email"], "ann@example.test");
        assert_eq!(all["email_verified"], true);
        assert_eq!(all["roles"], json!(["admin"]));
    }

    #[test]
    fn every_claim_released_is_advertised() {
        let groups = ["ops".to_owned()];
        let all = user_claims(
            Subject { user: &user(), groups: &groups },
            &ScopeSet::parse("openid profile email roles groups").expect("scope"),
        );
        let supported = claims_supported();
        for claim in all.keys() {
            assert!(supported.contains(&claim.as_str()), "{claim} is released but not advertised");
        }
        assert_eq!(scopes_supported(), ["openid", "profile", "email", "roles", "groups", "offline_access"]);
    }
}
