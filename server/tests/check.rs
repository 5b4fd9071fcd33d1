//! `otklik check`: what `serve` would start with, checked without changing anything, on either backend.

mod common;

use std::process::Output;

use common::TestServer;

fn check(database: &str, extra: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_otklik"))
        .args(["check", "--database", database])
        .args(extra)
        .env_remove("OTKLIK_SECRET")
        .output()
        .expect("the otklik binary runs")
}

fn said(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[tokio::test]
async fn a_database_serve_prepared_passes_and_each_fault_is_named() {
    // `serve` creates the database, brings it up to date and makes the key; then it stops.
    let dir = TestServer::start().await.stop().await;
    let database = common::database_in(dir.path());
    let postgres = !database.ends_with(".db");

    let out = check(&database, &[]);
    let (stdout, stderr) = said(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("ok  configuration: valid"), "{stdout}");
    assert!(stdout.contains("answers, is up to date and takes writes"), "{stdout}");
    let key = if postgres { "kept in the database" } else { "otklik.db.key" };
    assert!(stdout.contains("ok  key: ") && stdout.contains(key), "{stdout}");
    assert!(!stdout.contains(":secret@") && !stdout.contains("password"), "no password is printed: {stdout}");

    // Each fault fails the check with what is wrong.
    let faults: [(&[&str], &str); 6] = [
        (&["--rate-limits", "comments.ip=lots"], "OTKLIK_RATE_LIMITS"),
        (&["--trusted-proxies", "not-an-address"], "OTKLIK_TRUSTED_PROXIES"),
        (&["--secret", "too-short"], "at least 32"),
        (&["--smtp-url", "smtp://127.0.0.1:2525"], "OTKLIK_MAIL_FROM"),
        (&["--smtp-url", "imap://mail.example.org", "--mail-from", "c@news.example"], "OTKLIK_SMTP_URL"),
        (&["--smtp-url", "smtp://127.0.0.1:2525", "--mail-from", "nobody"], "OTKLIK_MAIL_FROM"),
    ];
    for (flags, named) in faults {
        let out = check(&database, flags);
        let (stdout, stderr) = said(&out);
        assert!(!out.status.success(), "{flags:?}: {stdout}");
        assert!(stderr.contains(named), "{flags:?}: {stderr}");
    }
    let mail = ["--smtp-url", "smtp://127.0.0.1:2525", "--mail-from", "Comments <c@news.example>"];
    let out = check(&database, &mail);
    assert!(out.status.success() && said(&out).0.contains("ok  mail: reply notifications on"), "{:?}", said(&out));
    let missing = dir.path().join("elsewhere/none.db");
    let out = check(&missing.to_string_lossy(), &[]);
    assert!(!out.status.success());
    assert!(said(&out).1.contains("there is no database"), "{}", said(&out).1);
    assert!(!missing.exists() && !missing.parent().unwrap().exists(), "a check creates nothing");

    if postgres {
        // A database that takes no writes (a standby, or one set read-only) is not one to serve on.
        use sqlx::Connection as _;
        let mut conn = sqlx::PgConnection::connect(&database).await.unwrap();
        let name: String = sqlx::query_scalar("SELECT current_database()").fetch_one(&mut conn).await.unwrap();
        sqlx::query(&format!("ALTER DATABASE {name} SET default_transaction_read_only = on"))
            .execute(&mut conn)
            .await
            .unwrap();
        let out = check(&database, &[]);
        assert!(!out.status.success());
        assert!(said(&out).1.contains("does not take writes"), "{}", said(&out).1);
        sqlx::query(&format!("ALTER DATABASE {name} RESET default_transaction_read_only"))
            .execute(&mut conn)
            .await
            .unwrap();
    } else {
        // The key file holds the key to every stored hash: without it the database is not servable as it was.
        let key = format!("{database}.key");
        std::fs::rename(&key, format!("{key}.aside")).unwrap();
        let out = check(&database, &[]);
        assert!(!out.status.success());
        assert!(said(&out).1.contains("there is no key file"), "{}", said(&out).1);
        assert!(!std::path::Path::new(&key).exists(), "a check makes no key");
        // With OTKLIK_SECRET it needs none.
        let out = check(&database, &["--secret", "0123456789abcdef0123456789abcdef"]);
        assert!(out.status.success(), "{}", said(&out).1);
        assert!(said(&out).0.contains("ok  key: set by OTKLIK_SECRET"));
    }
}
