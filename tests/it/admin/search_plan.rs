//! With 100 000 users, a page of the user search is one query that an index
//! serves, on both backends, asked of the databases themselves: the plan of
//! each statement the store runs (`store::sql::users::SEARCH*`, bound as
//! the store binds them) reads `users` through an index and never scans the
//! table; so does a user's groups (`store::sql::groups::OF_USER`, the
//! `groups` claim's read).

use portcullis_store::sql::{Arg, groups, prefix_bounds, users};
use portcullis_store::{Backend, UserQuery};
use portcullis_tests::{TestDatabase, both_backends, test_store};

const USERS: u32 = 100_000;

/// `USERS` users (`user000001`, email `person000001@example.com`, display
/// name `Person 1`), ten groups, and each user in one of them, in a few
/// statements (test-only: the store has no bulk insert).
async fn fill(db: &TestDatabase) {
    match db.backend {
        Backend::Sqlite => {
            db.execute(&format!(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {USERS})
                 INSERT INTO users (id, username, username_norm, email, email_norm, display_name,
                                    display_name_norm, created_at, updated_at)
                 SELECT printf('00000000-0000-4000-8000-%012d', i),
                        printf('user%06d', i), printf('user%06d', i),
                        printf('person%06d@example.com', i), printf('person%06d@example.com', i),
                        'Person ' || i, 'person ' || i, 1893456000, 1893456000
                 FROM n;
                 WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 9)
                 INSERT INTO groups (id, name, name_norm, created_at, updated_at)
                 SELECT printf('00000000-0000-4000-9000-%012d', i), 'group' || i, 'group' || i,
                        1893456000, 1893456000 FROM n;
                 INSERT INTO group_members (group_id, user_id, added_at)
                 SELECT printf('00000000-0000-4000-9000-%012d', CAST(substr(id, 25) AS INTEGER) % 10), id,
                        1893456000 FROM users;"
            ))
            .await;
        }
        Backend::Postgres => {
            db.execute(&format!(
                "INSERT INTO users (id, username, username_norm, email, email_norm, display_name,
                                    display_name_norm, created_at, updated_at)
                 SELECT ('00000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid,
                        'user' || lpad(i::text, 6, '0'), 'user' || lpad(i::text, 6, '0'),
                        'person' || lpad(i::text, 6, '0') || '@example.com',
                        'person' || lpad(i::text, 6, '0') || '@example.com',
                        'Person ' || i, 'person ' || i, '2030-01-01 00:00:00+00', '2030-01-01 00:00:00+00'
                 FROM generate_series(1, {USERS}) AS i;
                 INSERT INTO groups (id, name, name_norm, created_at, updated_at)
                 SELECT ('00000000-0000-4000-9000-' || lpad(i::text, 12, '0'))::uuid, 'group' || i, 'group' || i,
                        '2030-01-01 00:00:00+00', '2030-01-01 00:00:00+00' FROM generate_series(0, 9) AS i;
                 INSERT INTO group_members (group_id, user_id, added_at)
                 SELECT ('00000000-0000-4000-9000-' || lpad((right(id::text, 12)::bigint % 10)::text, 12, '0'))::uuid,
                        id, '2030-01-01 00:00:00+00' FROM users;
                 ANALYZE users; ANALYZE groups; ANALYZE group_members;"
            ))
            .await;
        }
    }
}

/// Fails unless `plan` reads `table` through an index and never scans it.
fn assert_indexed(backend: Backend, what: &str, table: &str, plan: &[String]) {
    let lines = plan.join("\n");
    let (scans, indexed) = match backend {
        // `SCAN users` reads the table; `SCAN users USING INDEX …` walks an
        // index in order (the page without a prefix, stopped at the limit).
        Backend::Sqlite => (
            plan.iter().any(|l| l.contains(&format!("SCAN {table}")) && !l.contains("INDEX")),
            plan.iter().any(|l| l.contains(table) && l.contains("USING") && l.contains("INDEX")),
        ),
        Backend::Postgres => (
            lines.contains(&format!("Seq Scan on {table}")),
            plan.iter().any(|l| {
                (l.contains("Index Scan") || l.contains("Index Only Scan") || l.contains("Bitmap Index Scan"))
                    && (l.contains(&format!("on {table}")) || l.contains(&format!("on {table}_")))
            }) || (lines.contains(&format!("Bitmap Heap Scan on {table}"))
                && lines.contains("Bitmap Index Scan")),
        ),
    };
    assert!(!scans, "{what}: {backend} scans {table}:\n{lines}");
    assert!(indexed, "{what}: {backend} reads {table} through no index:\n{lines}");
}

async fn a_search_page_over_100k_users_is_one_indexed_query(backend: Backend) {
    let (store, db) = test_store(backend).await;
    fill(&db).await;
    assert_eq!(store.count_users().await.expect("count"), u64::from(USERS));

    let page = |prefix: &str, after: Option<&str>| UserQuery {
        prefix: (!prefix.is_empty()).then(|| prefix.to_owned()),
        after: after.map(Into::into),
        limit: 50,
    };
    let usernames =
        |users: Vec<portcullis_store::User>| users.into_iter().map(|u| u.username).collect::<Vec<_>>();

    // What the store answers, through the statements explained below.
    let first = usernames(store.search_users(&page("", None)).await.expect("first page"));
    assert_eq!((first.len(), first[0].as_str(), first[49].as_str()), (50, "user000001", "user000050"));
    let next = usernames(store.search_users(&page("", Some("user000050"))).await.expect("next page"));
    assert_eq!(next[0], "user000051");
    let by_name = usernames(store.search_users(&page("USER04242", None)).await.expect("by username"));
    assert_eq!(by_name, (0..10).map(|i| format!("user04242{i}")).collect::<Vec<_>>());
    let by_email = usernames(store.search_users(&page("person099999@", None)).await.expect("by email"));
    assert_eq!(by_email, ["user099999"]);
    let by_display = usernames(store.search_users(&page("Person 4242", None)).await.expect("display"));
    assert_eq!(by_display.len(), 11, "person 4242 and person 42420-42429: {by_display:?}");
    let after = usernames(store.search_users(&page("Person 4242", Some("user004242"))).await.expect("after"));
    assert_eq!(after.len(), 10);
    let broad = usernames(store.search_users(&page("u", Some("user050000"))).await.expect("broad"));
    assert_eq!(broad[0], "user050001");

    let (lo, hi) = prefix_bounds("person 4242").expect("bounds");
    let (ulo, uhi) = prefix_bounds("u").expect("bounds");
    let shapes: [(&str, &str, Vec<Arg<'_>>); 5] = [
        ("first page", users::SEARCH, vec![Arg::from(50_i64)]),
        ("next page", users::SEARCH_AFTER, vec![Arg::from("user050000"), Arg::from(50_i64)]),
        (
            "prefix",
            users::SEARCH_PREFIX,
            vec![Arg::from(lo.as_str()), Arg::from(hi.as_str()), Arg::from(50_i64)],
        ),
        (
            "prefix, next page",
            users::SEARCH_PREFIX_AFTER,
            vec![Arg::from(lo.as_str()), Arg::from(hi.as_str()), Arg::from("user004242"), Arg::from(50_i64)],
        ),
        (
            "a prefix every user matches, next page",
            users::SEARCH_PREFIX_AFTER,
            vec![
                Arg::from(ulo.as_str()),
                Arg::from(uhi.as_str()),
                Arg::from("user050000"),
                Arg::from(50_i64),
            ],
        ),
    ];
    for (what, sql, args) in &shapes {
        let plan = db.query_plan(sql, args).await;
        show(backend, what, &plan);
        assert_indexed(backend, what, "users", &plan);
    }

    let alice = uuid::Uuid::parse_str("00000000-0000-4000-8000-000000042424").expect("uuid");
    assert_eq!(store.user_groups(alice).await.expect("groups"), ["group4"]);
    let plan = db.query_plan(groups::OF_USER, &[Arg::from(alice)]).await;
    show(backend, "a user's groups", &plan);
    assert_indexed(backend, "a user's groups", "group_members", &plan);
}

/// The plans are this test's evidence: `--nocapture` shows them.
#[allow(clippy::print_stderr)]
fn show(backend: Backend, what: &str, plan: &[String]) {
    eprintln!("{backend} · {what}:\n    {}", plan.join("\n    "));
}

both_backends!(a_search_page_over_100k_users_is_one_indexed_query);
