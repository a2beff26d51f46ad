//! Signing in through an upstream, end to end over HTTP: a second Portcullis
//! is the upstream ("Corp"), with Alice and our client there; the
//! Portcullis under test ("down") lists it on its sign-in page. Forged ID
//! tokens come from the stand-in upstream of `forged.rs`.

use portcullis_core::Clock;
use portcullis_server::settings::UpstreamSettings;
use portcullis_store::{AuditEvent, AuditOutcome, Effects, NewGroup};
use portcullis_tests::oidc::{
    Browser, ClientSpec, Interact, Outcome, PASSWORD, client_secret, create_client, create_user, hidden,
    jwt_claims, pkce, redeem_code, spawn_oidc_app, spawn_oidc_app_with,
};
use portcullis_tests::{Backend, TestApp, TestDatabase, both_backends};
use serde_json::{Value, json};
use std::sync::Arc;

use super::forged::{sign, stand_in};

const RP: &str = "app";
const RP_CALLBACK: &str = "http://127.0.0.1:9/cb";

/// `[[upstreams]]` `id` at `issuer`, with `policy` over the defaults.
fn upstream(id: &str, issuer: &str, client_id: &str, policy: &Value) -> UpstreamSettings {
    let mut settings = json!({
        "id": id,
        "display_name": format!("Corp {id}"),
        "issuer": issuer,
        "client_id": client_id,
        "client_secret": client_secret(client_id),
        "scopes": ["openid", "profile", "email", "groups"],
        "timeout_secs": 5,
    });
    for (key, value) in policy.as_object().expect("object") {
        settings[key] = value.clone();
    }
    serde_json::from_value(settings).expect("upstream settings")
}

/// The upstream Portcullis, the one under test, and Alice at the upstream.
struct Federation {
    up: TestApp,
    down: TestApp,
}

/// What most tests want of Corp: addresses it verifies are trusted, and
/// accounts are created for example.com.
fn trusting() -> Value {
    json!({ "trust_email_verified": true, "jit": true, "allowed_email_domains": ["example.com"] })
}

async fn federation(backend: Backend, policy: Value) -> Federation {
    federation_with(backend, policy, |_| {}).await
}

async fn federation_with(
    backend: Backend,
    policy: Value,
    more: impl FnOnce(&mut Vec<UpstreamSettings>),
) -> Federation {
    let up = spawn_oidc_app(Backend::Sqlite).await;
    create_user(&up, "alice", &[]).await;
    let issuer = up.address.clone();
    let down = spawn_oidc_app_with(Arc::new(TestDatabase::new(backend).await), |s| {
        let mut upstreams = vec![upstream("corp", &issuer, "portcullis-rp", &policy)];
        more(&mut upstreams);
        s.upstreams = upstreams;
    })
    .await;
    let callback = format!("{}/login/upstream/corp/callback", down.address);
    let spec = ClientSpec {
        scopes: "openid profile email groups".into(),
        ..ClientSpec::confidential("portcullis-rp", &callback)
    };
    create_client(&up, spec).await;
    let rp = ClientSpec {
        scopes: "openid profile email groups roles".into(),
        ..ClientSpec::confidential(RP, RP_CALLBACK)
    };
    create_client(&down, rp).await;
    Federation { up, down }
}

fn location(res: &reqwest::Response) -> String {
    res.headers()["location"].to_str().expect("ascii").to_owned()
}

impl Federation {
    /// `browser` continues with Corp (`query` on the start link), where
    /// `who` signs in; the answer to the callback.
    async fn continue_with(&self, browser: &Browser, query: &str, who: &'static str) -> reqwest::Response {
        let res = browser.get(&format!("/login/upstream/corp{query}")).await;
        assert_eq!(res.status(), 303, "{:?}", res.text().await);
        let back = Browser::new(&self.up).authorize(&location(&res), Interact::As(who)).await.redirect();
        assert!(back.as_str().starts_with(&self.down.address), "{back}");
        browser.get(back.as_str()).await
    }

    /// The relying party's authorization request at down in `browser`,
    /// which signs in through Corp as Alice; the ID token's claims.
    async fn relying_party_sign_in(&self, browser: &Browser) -> Value {
        let (verifier, challenge) = pkce();
        let url = format!(
            "/authorize?response_type=code&client_id={RP}&redirect_uri={RP_CALLBACK}&scope=openid%20email%20groups%20roles\
             &state=s&nonce=n&code_challenge={challenge}&code_challenge_method=S256"
        );
        let res = browser.get(&url).await;
        let to_login = location(&res);
        assert!(to_login.starts_with("/login?request="), "{to_login}");
        let request = to_login.trim_start_matches("/login?request=").to_owned();
        let res = self.continue_with(browser, &format!("?request={request}"), "alice").await;
        let resume = went_on(res).await;
        assert_eq!(resume, format!("/authorize/resume?request={request}"));
        let back = browser.authorize(&resume, Interact::ConsentOnly).await.redirect();
        let code = Outcome::param(&back, "code").expect("code");
        let tokens: Value =
            redeem_code(&self.down, RP, &code, RP_CALLBACK, &verifier).await.json().await.expect("json");
        jwt_claims(tokens["id_token"].as_str().expect("id token"))
    }
}

/// A change that makes an ID token invalid (given the time now).
type Forgery = fn(&mut Value, i64);

/// Where the answer to a callback goes on (a refresh, not a redirect: see
/// `ContinuePage`), having set the session cookie.
async fn went_on(res: reqwest::Response) -> String {
    assert_eq!(res.status(), 200);
    let page = res.text().await.expect("page");
    assert!(page.contains("<meta http-equiv=\"refresh\" content=\"0;url="), "{page}");
    let marker = "id=\"continue\"";
    let link = page.split("<a href=\"").find(|part| part.contains(marker)).expect("the continue link");
    link.split('"').next().expect("href").replace("&amp;", "&").replace("&#x3d;", "=").replace("&#61;", "=")
}

/// The audit events of `kind`, newest first.
async fn audited(app: &TestApp, kind: &str) -> Vec<AuditEvent> {
    let all = app.store.recent_audit(200).await.expect("audit");
    all.into_iter().filter(|e| e.event.kind == kind).collect()
}

/// Whether `browser` is signed in at `app` (the account page opens).
async fn signed_in(browser: &Browser) -> bool {
    browser.get("/account").await.status() == 200
}

async fn continue_with_signs_in_and_relying_parties_see_fed(backend: Backend) {
    let f = federation(backend, trusting()).await;
    let browser = Browser::new(&f.down);
    let login = browser.get("/login").await.text().await.expect("page");
    assert!(login.contains("href=\"/login/upstream/corp\""), "{login}");
    assert!(login.contains("Continue with Corp corp"));

    // The first sign-in creates Alice's account here (JIT) and links it.
    let claims = f.relying_party_sign_in(&browser).await;
    let alice = f.down.store.find_user_by_login("alice").await.expect("find").expect("created");
    assert_eq!(claims["sub"], alice.id.to_string());
    assert_eq!(claims["amr"], json!(["fed"]));
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!((alice.email_verified, alice.password_hash.is_none()), (true, true));
    let linked = f.down.store.user_upstream_identities(alice.id).await.expect("links");
    let at_up = f.up.store.find_user_by_login("alice").await.expect("find").expect("alice");
    assert_eq!(linked.len(), 1);
    assert_eq!(
        (linked[0].issuer.as_str(), linked[0].subject.clone()),
        (f.up.address.as_str(), at_up.id.to_string())
    );
    assert_eq!(audited(&f.down, "upstream.account_created").await.len(), 1);
    let sessions = f.down.store.list_user_sessions(alice.id).await.expect("sessions");
    assert_eq!(sessions[0].upstream_id.as_deref(), Some("corp"), "the session knows its upstream");
    let account = browser.get("/account").await.text().await.expect("account");
    assert!(account.contains("via Corp corp"), "{account}");

    // The next sign-in, in another browser, is the same account (and a
    // request id that names no live authorization request is dropped).
    let other = Browser::new(&f.down);
    let res = f.continue_with(&other, "?request=x%22%3Burl%3Dhttps%3A%2F%2Fevil.example", "alice").await;
    assert_eq!(went_on(res).await, "/");
    assert!(signed_in(&other).await);
    assert_eq!(f.down.store.count_users().await.expect("count"), 1);
    assert_eq!(audited(&f.down, "upstream.sign_in").await.len(), 1);
}

async fn a_refused_response_is_a_page_an_audit_row_and_no_session(backend: Backend) {
    let stand = stand_in();
    let closed = format!("http://127.0.0.1:{}", portcullis_tests::oidc::free_port());
    // An upstream that takes connections and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let slow = format!("http://127.0.0.1:{}", silent.local_addr().expect("addr").port());
    let f = federation_with(backend, trusting(), |ups| {
        ups.push(upstream("forge", &stand.base, "rp", &json!({ "jit": true })));
        ups.push(upstream("gone", &closed, "rp", &json!({})));
        ups.push(upstream("slow", &slow, "rp", &json!({ "timeout_secs": 1 })));
    })
    .await;
    let refused = |res: reqwest::Response, status: u16, says: &'static str| async move {
        assert_eq!(res.status(), status);
        let page = res.text().await.expect("page");
        assert!(page.contains(says), "{page}");
        assert!(page.contains("href=\"/login\""), "a way back to sign-in: {page}");
    };
    // The failures audited so far, newest first, the newest for `reason`.
    let rejected = |reason: &'static str| {
        let down = &f.down;
        async move {
            let rows = audited(down, "upstream.sign_in").await;
            let failed: Vec<_> = rows.iter().filter(|e| e.event.outcome == AuditOutcome::Failure).collect();
            assert_eq!(failed[0].event.detail["reason"], reason, "{:?}", failed[0].event.detail);
            failed.len()
        }
    };
    let state_of = |res: &reqwest::Response| {
        let to = url::Url::parse(&location(res)).expect("url");
        (Outcome::param(&to, "state").expect("state"), Outcome::param(&to, "nonce").expect("nonce"))
    };
    let callback = |id: &str, query: String| format!("/login/upstream/{id}/callback?{query}");

    // Unknown upstream; an upstream that does not answer.
    let browser = Browser::new(&f.down);
    refused(browser.get("/login/upstream/nope").await, 404, "no such way").await;
    refused(browser.get("/login/upstream/gone").await, 502, "cannot be reached").await;
    assert_eq!(rejected("unavailable").await, 1);
    refused(browser.get("/login/upstream/slow").await, 502, "cannot be reached").await;
    assert_eq!(rejected("unavailable").await, 2, "too slow");
    drop(silent);

    // A response with another state; another browser's response; a
    // cancel; a mix-up (another upstream's `iss`).
    let (state, _) = state_of(&browser.get("/login/upstream/corp").await);
    let up = &f.up.address;
    refused(browser.get(&callback("corp", format!("state=other&code=c&iss={up}"))).await, 400, "expired")
        .await;
    assert_eq!(rejected("state").await, 3);
    let start = browser.get("/login/upstream/corp").await;
    let back = Browser::new(&f.up).authorize(&location(&start), Interact::As("alice")).await.redirect();
    let stranger = Browser::new(&f.down);
    refused(stranger.get(back.as_str()).await, 400, "expired").await;
    assert_eq!(rejected("state").await, 4, "another browser's response");
    assert!(!signed_in(&stranger).await);
    let (state_now, _) = state_of(&browser.get("/login/upstream/corp").await);
    assert_ne!(state, state_now, "a state per request");
    let cancel = format!("state={state_now}&error=access_denied&iss={up}");
    refused(browser.get(&callback("corp", cancel)).await, 400, "cancelled").await;
    assert_eq!(rejected("access_denied").await, 5);
    let (state_now, _) = state_of(&browser.get("/login/upstream/corp").await);
    let mix_up = format!("state={state_now}&code=c&iss={}", stand.base);
    refused(browser.get(&callback("corp", mix_up)).await, 502, "could not be accepted").await;
    assert_eq!(rejected("rejected").await, 6, "a mix-up");
    assert!(!signed_in(&browser).await);

    // A state is used once: a response refused for its error uses it up,
    // so the real response with the same state is refused after it.
    let start = browser.get("/login/upstream/corp").await;
    let back = Browser::new(&f.up).authorize(&location(&start), Interact::As("alice")).await.redirect();
    let state = Outcome::param(&back, "state").expect("state");
    let cancel = format!("state={state}&error=access_denied&iss={up}");
    refused(browser.get(&callback("corp", cancel)).await, 400, "cancelled").await;
    refused(browser.get(back.as_str()).await, 400, "expired").await;
    assert_eq!(rejected("state").await, 8);
    assert!(!signed_in(&browser).await);

    // The same response twice: the second finds nothing, in this browser
    // or another.
    let start = browser.get("/login/upstream/corp").await;
    let back = Browser::new(&f.up).authorize(&location(&start), Interact::As("alice")).await.redirect();
    went_on(browser.get(back.as_str()).await).await;
    assert!(signed_in(&browser).await);
    refused(browser.get(back.as_str()).await, 400, "expired").await;
    let thief = Browser::new(&f.down);
    refused(thief.get(back.as_str()).await, 400, "expired").await;
    assert_eq!(rejected("state").await, 10);
    assert!(!signed_in(&thief).await);

    // ID tokens a real upstream would not issue, each through the flow.
    let forge = Browser::new(&f.down);
    #[allow(clippy::disallowed_methods)] // the relying party checks expiry against the real time
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = |nonce: &str| {
        json!({
            "iss": stand.base, "sub": "user-7", "aud": "rp", "nonce": nonce,
            "iat": now, "exp": now + 300, "email": "ada@example.com", "email_verified": true,
        })
    };
    let cases: [(&str, Forgery, bool); 5] = [
        ("wrong nonce", |c, _| c["nonce"] = json!("another"), false),
        ("wrong aud", |c, _| c["aud"] = json!("someone-else"), false),
        ("wrong iss", |c, _| c["iss"] = json!("http://127.0.0.1:1"), false),
        ("expired", |c, now| c["exp"] = json!(now - 600), false),
        ("unknown key", |_, _| {}, true),
    ];
    let mut failures = 10;
    for (case, change, stranger_key) in cases {
        let (state, nonce) = state_of(&forge.get("/login/upstream/forge").await);
        let mut forged = claims(&nonce);
        change(&mut forged, now);
        let key = if stranger_key { &stand.stranger } else { &stand.key };
        *stand.id_token.lock().expect("lock") = sign(&forged, key);
        let res = forge.get(&callback("forge", format!("state={state}&code=c&iss={}", stand.base))).await;
        refused(res, 502, "could not be accepted").await;
        failures += 1;
        assert_eq!(rejected("rejected").await, failures, "{case}");
        assert!(!signed_in(&forge).await, "{case}");
    }
    // The same flow with a valid token signs in: each case failed on its fault alone.
    let (state, nonce) = state_of(&forge.get("/login/upstream/forge").await);
    *stand.id_token.lock().expect("lock") = sign(&claims(&nonce), &stand.key);
    let res = forge.get(&callback("forge", format!("state={state}&code=c&iss={}", stand.base))).await;
    went_on(res).await;
    assert!(signed_in(&forge).await);
}

/// Signs `browser` in at down with `who`'s password from the page `page`
/// (its CSRF token and fields); the answer.
async fn password_sign_in(browser: &Browser, page: &str, who: &str) -> reqwest::Response {
    let csrf = hidden(page, "csrf_token").expect("csrf");
    let request = hidden(page, "request").unwrap_or_default();
    let form =
        [("csrf_token", csrf.as_str()), ("username", who), ("password", PASSWORD), ("request", &request)];
    browser.post("/login", &form).await
}

async fn an_existing_account_is_linked_only_once_its_holder_proves_it(backend: Backend) {
    let f = federation(backend, json!({ "trust_email_verified": true })).await;
    let alice = create_user(&f.down, "alice", &[]).await;
    create_user(&f.down, "bob", &[]).await;

    // The address is Alice's here: nothing is signed in, the sign-in page
    // asks for her account (no mailed link offered: it proves only the mailbox).
    let browser = Browser::new(&f.down);
    let res = f.continue_with(&browser, "", "alice").await;
    assert_eq!((res.status().as_u16(), location(&res).as_str()), (303, "/login?link=corp"));
    let page = browser.get("/login?link=corp").await.text().await.expect("page");
    assert!(page.contains("Sign in to it to link Corp corp"), "{page}");
    assert!(!page.contains("/login/magic"), "{page}");
    assert!(!signed_in(&browser).await);
    let issuer = f.up.address.clone();
    let at_up = f.up.store.find_user_by_login("alice").await.expect("find").expect("alice").id.to_string();
    assert_eq!(f.down.store.find_upstream_identity(&issuer, &at_up).await.expect("find"), None);
    assert_eq!(audited(&f.down, "upstream.link_pending").await.len(), 1);

    // Bob signing in instead links nothing.
    let login = browser.get("/login").await.text().await.expect("page");
    assert_eq!(password_sign_in(&browser, &login, "bob").await.status(), 303);
    assert_eq!(f.down.store.find_upstream_identity(&issuer, &at_up).await.expect("find"), None);
    assert_eq!(audited(&f.down, "upstream.link_abandoned").await.len(), 1);

    // Alice proving her account links it, with its notice by mail.
    let browser = Browser::new(&f.down);
    let to_login = location(&f.continue_with(&browser, "", "alice").await);
    let page = browser.get(&to_login).await.text().await.expect("page");
    assert_eq!(password_sign_in(&browser, &page, "alice").await.status(), 303);
    assert!(signed_in(&browser).await);
    let linked = f.down.store.find_upstream_identity(&issuer, &at_up).await.expect("find").expect("linked");
    assert_eq!(linked.user_id, alice.id);
    let events = audited(&f.down, "upstream.linked").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event.user_id, Some(alice.id));
    let notices = "SELECT COUNT(*) FROM mail_outbox \
         WHERE recipient = 'alice@example.com' AND subject LIKE 'Corp corp can now sign in%'";
    assert_eq!(f.down.db.count(notices).await, 1);

    // From now on the upstream signs Alice in directly.
    let other = Browser::new(&f.down);
    let res = f.continue_with(&other, "", "alice").await;
    assert_eq!(went_on(res).await, "/");
    let account = other.get("/account").await.text().await.expect("account");
    assert!(account.contains("Linked accounts") && account.contains("Corp corp"), "{account}");
    assert_eq!(f.down.store.count_users().await.expect("count"), 2, "no account was created");
}

async fn an_untrusted_or_unverified_address_never_links(backend: Backend) {
    // Not trusted: refused, whatever JIT says.
    let f = federation(backend, json!({ "trust_email_verified": false, "jit": true })).await;
    create_user(&f.down, "alice", &[]).await;
    let browser = Browser::new(&f.down);
    let res = f.continue_with(&browser, "", "alice").await;
    assert_eq!(res.status(), 403);
    assert!(res.text().await.expect("page").contains("an account with this address exists"));
    assert!(!signed_in(&browser).await);
    let failure = &audited(&f.down, "upstream.sign_in").await[0].event;
    assert_eq!(failure.detail["reason"], "email_taken");
    assert_eq!(audited(&f.down, "upstream.link_pending").await.len(), 0);

    // Trusted, but the upstream has not verified it.
    let f = federation(backend, trusting()).await;
    create_user(&f.down, "alice", &[]).await;
    f.up.db.execute("UPDATE users SET email_verified = false").await;
    let browser = Browser::new(&f.down);
    let res = f.continue_with(&browser, "", "alice").await;
    assert_eq!(res.status(), 403);
    assert!(!signed_in(&browser).await);
    assert_eq!(audited(&f.down, "upstream.sign_in").await[0].event.detail["reason"], "email_taken");
    assert_eq!(f.down.store.count_users().await.expect("count"), 1);
}

async fn accounts_are_created_only_with_jit_and_within_the_domains(backend: Backend) {
    for (policy, reason) in [
        (json!({ "trust_email_verified": true }), "not_provisioned"),
        (
            json!({ "trust_email_verified": true, "jit": true, "allowed_email_domains": ["corp.example"] }),
            "domain_not_allowed",
        ),
    ] {
        let f = federation(backend, policy.clone()).await;
        let browser = Browser::new(&f.down);
        let res = f.continue_with(&browser, "", "alice").await;
        assert_eq!(res.status(), 403, "{policy}");
        assert!(!signed_in(&browser).await, "{policy}");
        assert_eq!(audited(&f.down, "upstream.sign_in").await[0].event.detail["reason"], reason, "{policy}");
        assert_eq!(f.down.store.count_users().await.expect("count"), 0, "{policy}");
    }
    // Without domains, JIT creates the account even for an untrusted
    // address, which then counts as unverified here.
    let f = federation(backend, json!({ "jit": true })).await;
    let browser = Browser::new(&f.down);
    went_on(f.continue_with(&browser, "", "alice").await).await;
    let alice = f.down.store.find_user_by_login("alice").await.expect("find").expect("created");
    assert!(!alice.email_verified);
}

async fn rules_follow_the_upstreams_groups_at_every_sign_in(backend: Backend) {
    let rules = json!({
        "trust_email_verified": true, "jit": true, "allowed_email_domains": ["example.com"],
        "rules": [
            { "claim": "groups", "equals": "staff", "add_group": "eng" },
            { "claim": "groups", "matches": "sta.*", "add_role": "auditor" },
            { "claim": "groups", "equals": "sta", "add_role": "admin" },
        ],
    });
    let f = federation(backend, rules).await;
    let at = f.up.clock.now();
    let staff = NewGroup { id: uuid::Uuid::new_v4(), name: "staff".into(), created_at: at };
    f.up.store.create_group(&staff, &Effects::default()).await.expect("group");
    let alice_up = f.up.store.find_user_by_login("alice").await.expect("find").expect("alice");
    f.up.store.add_group_member(staff.id, alice_up.id, at, &Effects::default()).await.expect("member");

    let claims = f.relying_party_sign_in(&Browser::new(&f.down)).await;
    assert_eq!(claims["groups"], json!(["eng"]), "{claims}");
    assert_eq!(claims["roles"], json!(["auditor"]), "anchored: `sta` is not `staff`: {claims}");

    // Out of the group at the upstream: out here at the next sign-in.
    f.up.store.remove_group_member(staff.id, alice_up.id, at, &Effects::default()).await.expect("removed");
    let claims = f.relying_party_sign_in(&Browser::new(&f.down)).await;
    assert_eq!(claims["groups"], json!([]), "{claims}");
    assert_eq!(claims.get("roles").cloned().unwrap_or(json!([])), json!([]), "{claims}");
}

async fn the_account_page_links_and_unlinks_but_keeps_a_way_to_sign_in(backend: Backend) {
    let f = federation(backend, trusting()).await;
    create_user(&f.up, "carol", &[]).await;
    create_user(&f.down, "bob", &[]).await;

    // Alice's account was made by the upstream: it is her only way in.
    let alice = Browser::new(&f.down);
    went_on(f.continue_with(&alice, "", "alice").await).await;
    let page = alice.get("/account").await.text().await.expect("account");
    assert!(page.contains("action=\"/account/upstreams/unlink\""), "{page}");
    let csrf = hidden(&page, "csrf_token").expect("csrf");
    let (issuer, subject) =
        (hidden(&page, "issuer").expect("issuer"), hidden(&page, "subject").expect("subject"));
    let unlink = [("csrf_token", csrf.as_str()), ("issuer", &issuer), ("subject", &subject)];
    let res = alice.post("/account/upstreams/unlink", &unlink).await;
    assert_eq!(res.status(), 409);
    assert!(res.text().await.expect("page").contains("only way to sign in"));
    assert!(f.down.store.find_upstream_identity(&issuer, &subject).await.expect("find").is_some());

    // Bob signs in with his password and links his account at the upstream.
    let bob = Browser::new(&f.down);
    let login = bob.get("/login").await.text().await.expect("page");
    assert_eq!(password_sign_in(&bob, &login, "bob").await.status(), 303);
    let page = bob.get("/account").await.text().await.expect("account");
    let csrf = hidden(&page, "csrf_token").expect("csrf");
    assert!(page.contains("Link Corp corp"), "{page}");
    let res = bob.post("/account/upstreams/link", &[("csrf_token", &csrf), ("upstream", "corp")]).await;
    assert_eq!(res.status(), 303);
    let to = location(&res);
    assert!(to.starts_with(&f.up.address) && to.contains("prompt=login"), "a fresh authentication: {to}");
    // Carol's identity links; Alice's is another account's.
    let back = Browser::new(&f.up).authorize(&to, Interact::As("carol")).await.redirect();
    let res = bob.get(back.as_str()).await;
    assert_eq!((res.status().as_u16(), location(&res).as_str()), (303, "/account?done=upstream-linked"));
    let bob_id = f.down.store.find_user_by_login("bob").await.expect("find").expect("bob").id;
    let linked = f.down.store.user_upstream_identities(bob_id).await.expect("links");
    assert_eq!(linked.len(), 1);
    let res = bob.post("/account/upstreams/link", &[("csrf_token", &csrf), ("upstream", "corp")]).await;
    let back = Browser::new(&f.up).authorize(&location(&res), Interact::As("alice")).await.redirect();
    assert_eq!(bob.get(back.as_str()).await.status(), 403, "Alice's identity is another account's");
    assert_eq!(f.down.store.user_upstream_identities(bob_id).await.expect("links").len(), 1);

    // Bob has a password: unlinking is allowed, audited and notified.
    let page = bob.get("/account").await.text().await.expect("account");
    let csrf = hidden(&page, "csrf_token").expect("csrf");
    let unlink =
        [("csrf_token", csrf.as_str()), ("issuer", &linked[0].issuer), ("subject", &linked[0].subject)];
    let res = bob.post("/account/upstreams/unlink", &unlink).await;
    assert_eq!((res.status().as_u16(), location(&res).as_str()), (303, "/account?done=upstream-unlinked"));
    assert!(f.down.store.user_upstream_identities(bob_id).await.expect("links").is_empty());
    assert_eq!(audited(&f.down, "upstream.unlinked").await.len(), 1);
    let notices =
        "SELECT COUNT(*) FROM mail_outbox WHERE recipient = 'bob@example.com' AND subject LIKE '%unlinked%'";
    assert_eq!(f.down.db.count(notices).await, 1);
    // Without the CSRF token, nothing is linked.
    let res = bob.post("/account/upstreams/link", &[("upstream", "corp")]).await;
    assert_eq!(res.status(), 403);
}

async fn only_a_trusted_upstreams_second_factor_stands_in_for_one_here(backend: Backend) {
    #[allow(clippy::disallowed_methods)] // the relying party checks expiry against the real time
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    for trust_mfa in [true, false] {
        // An upstream whose `admins` are administrators here, and that
        // asserts a second factor.
        let stand = stand_in();
        let policy = json!({
            "jit": true, "trust_mfa": trust_mfa,
            "rules": [{ "claim": "groups", "equals": "admins", "add_role": "admin" }],
        });
        let down = spawn_oidc_app_with(Arc::new(TestDatabase::new(backend).await), |s| {
            s.upstreams = vec![upstream("forge", &stand.base, "rp", &policy)];
        })
        .await;
        let rp =
            ClientSpec { scopes: "openid email roles".into(), ..ClientSpec::confidential(RP, RP_CALLBACK) };
        create_client(&down, rp).await;

        let browser = Browser::new(&down);
        let (verifier, challenge) = pkce();
        let url = format!(
            "/authorize?response_type=code&client_id={RP}&redirect_uri={RP_CALLBACK}&scope=openid%20roles\
             &state=s&nonce=n&code_challenge={challenge}&code_challenge_method=S256"
        );
        let request = location(&browser.get(&url).await).trim_start_matches("/login?request=").to_owned();
        let start = browser.get(&format!("/login/upstream/forge?request={request}")).await;
        let to = url::Url::parse(&location(&start)).expect("url");
        let (state, nonce) =
            (Outcome::param(&to, "state").expect("state"), Outcome::param(&to, "nonce").expect("nonce"));
        let claims = json!({
            "iss": stand.base, "sub": "root-1", "aud": "rp", "nonce": nonce, "iat": now, "exp": now + 300,
            "email": "root@example.com", "email_verified": true, "groups": ["admins"], "amr": ["pwd", "mfa"],
        });
        *stand.id_token.lock().expect("lock") = sign(&claims, &stand.key);
        *stand.userinfo.lock().expect("lock") = json!({ "sub": "root-1" });
        let callback = format!("/login/upstream/forge/callback?state={state}&code=c&iss={}", stand.base);
        let next = went_on(browser.get(&callback).await).await;
        let root = down.store.find_user_by_login("root@example.com").await.expect("find").expect("created");
        assert!(root.has_role("admin"), "the rule made an administrator");
        if trust_mfa {
            // The upstream's second factor is one here: the sign-in is
            // complete, and the relying party sees it.
            assert_eq!(next, format!("/authorize/resume?request={request}"));
            let back = browser.authorize(&next, Interact::ConsentOnly).await.redirect();
            let code = Outcome::param(&back, "code").expect("code");
            let tokens: Value =
                redeem_code(&down, RP, &code, RP_CALLBACK, &verifier).await.json().await.expect("json");
            let id = jwt_claims(tokens["id_token"].as_str().expect("id token"));
            assert_eq!(id["amr"], json!(["fed", "mfa"]));
            assert_eq!(id["acr"], "urn:portcullis:acr:mfa");
        } else {
            // Not trusted: an administrator enrolls a second factor here first.
            assert!(next.starts_with("/account?enroll=required"), "{next}");
            let back = browser
                .authorize(&format!("/authorize/resume?request={request}"), Interact::ConsentOnly)
                .await;
            assert!(matches!(back, Outcome::Page(..)), "no code before the second factor: {back:?}");
        }
    }
}

both_backends!(
    continue_with_signs_in_and_relying_parties_see_fed,
    a_refused_response_is_a_page_an_audit_row_and_no_session,
    an_existing_account_is_linked_only_once_its_holder_proves_it,
    an_untrusted_or_unverified_address_never_links,
    accounts_are_created_only_with_jit_and_within_the_domains,
    rules_follow_the_upstreams_groups_at_every_sign_in,
    the_account_page_links_and_unlinks_but_keeps_a_way_to_sign_in,
    only_a_trusted_upstreams_second_factor_stands_in_for_one_here
);
