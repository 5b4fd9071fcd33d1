//! A moderator's browser for the console tests: accounts made with the real `otklik` binary, a session
//! cookie, and forms posted with the session's CSRF token.

use reqwest::StatusCode;

use super::TestServer;

/// Runs the real `otklik` binary against the test server's database. Awaited, not waited for: the test
/// server runs on the test's thread, and a write of its own left half done while that thread blocked
/// would hold SQLite's lock against the command until it gave up ("database is locked").
pub async fn otklik(s: &TestServer, args: &[&str]) -> std::process::Output {
    let db = super::database_in(s.dir.path());
    tokio::process::Command::new(env!("CARGO_BIN_EXE_otklik"))
        .args(args)
        .arg("--database")
        .arg(&db)
        .env_remove("OTKLIK_DATABASE")
        .output()
        .await
        .expect("the otklik binary runs")
}

/// `otklik moderator add NAME`: the password it prints.
pub async fn add_moderator(s: &TestServer, name: &str) -> String {
    let out = otklik(s, &["moderator", "add", name]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let password = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(password.len() >= 16, "a generated password: {password:?}");
    password
}

pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// A signed-in browser: its session cookie and the CSRF token its pages carry.
pub struct Console {
    pub client: reqwest::Client,
    pub base: String,
    pub cookie: String,
    pub csrf: String,
}

impl Console {
    pub async fn sign_in(s: &TestServer, name: &str, password: &str) -> Self {
        let client = no_redirects();
        let resp =
            client.post(s.url("/admin/login")).form(&[("name", name), ("password", password)]).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "signed in");
        let set = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
        let cookie = set.split(';').next().unwrap().to_owned();
        let mut console = Self { client, base: s.url(""), cookie, csrf: String::new() };
        let (status, page) = console.get("/admin").await;
        assert_eq!(status, StatusCode::OK);
        console.csrf = page
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("pages carry the CSRF token")
            .to_owned();
        console
    }

    pub async fn get(&self, path: &str) -> (StatusCode, String) {
        let resp = self.client.get(format!("{}{path}", self.base)).header("cookie", &self.cookie).send().await.unwrap();
        (resp.status(), resp.text().await.unwrap())
    }

    /// Posts a form with this session's CSRF token.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut form: Vec<(&str, &str)> = vec![("csrf", &self.csrf)];
        form.extend_from_slice(fields);
        self.client
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    pub async fn act(&self, id: i64, action: &str) {
        let resp =
            self.post(&format!("/admin/comments/{id}"), &[("action", action), ("back", "/admin?queue=all")]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{action} on {id}");
        assert_eq!(resp.headers()["location"], "/admin?queue=all&done=1");
    }
}
