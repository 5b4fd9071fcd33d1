//! Embedding on a publisher's site on another origin, in a real browser: hostile CSS on both sides of the
//! shadow root, two widgets on one page, comment counts in one request without the widget, mounting and
//! unmounting from a single-page app, a page under a strict Content-Security-Policy, and an origin that
//! is not allowed.

use otklik_e2e::{Browser, Server, Site};
use serde_json::{Value, json};

/// A page of the publisher's site: `body` and the one script tag of the embed.
fn page(server: &Server, head: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"ru\"><head><meta charset=\"utf-8\"><title>Вестник</title>{head}</head>\
         <body>{body}<script src=\"{}\" async nonce=\"e2e\"></script></body></html>",
        server.url("/embed.js")
    )
}

/// The strict policy from the README, for a site whose own scripts carry a nonce.
fn strict_csp(server: &Server) -> String {
    let otklik = server.url("");
    format!(
        "default-src 'none'; script-src 'nonce-e2e' {otklik} 'wasm-unsafe-eval'; connect-src {otklik}; \
         style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'"
    )
}

async fn run(browser: &Browser, script: &str) -> anyhow::Result<Value> {
    Ok(browser.client.execute(script, vec![]).await?)
}

/// Waits until the browser has drawn `n` more frames.
async fn frames(browser: &Browser, n: u32) -> anyhow::Result<()> {
    let script = format!(
        "const done = arguments[arguments.length - 1]; let n = {n};
         const next = () => --n === 0 ? done(true) : requestAnimationFrame(next); requestAnimationFrame(next);"
    );
    browser.client.execute_async(&script, vec![]).await?;
    Ok(())
}

/// Waits until the widget in `host` has drawn its reaction buttons with their counts.
async fn reactions_ready(browser: &Browser, host: &str) -> anyhow::Result<()> {
    browser
        .until(&format!("the reactions in {host}"), || async {
            let ready = run(
                browser,
                &format!(
                    "const root = document.querySelector('{host}').shadowRoot;
                     const like = root && root.querySelector('button[data-kind=like]');
                     return !!like && !like.disabled;"
                ),
            )
            .await?;
            Ok((ready == Value::Bool(true)).then_some(()))
        })
        .await
}

async fn like_count(browser: &Browser, host: &str) -> anyhow::Result<String> {
    let count = browser.in_widget(host, "button[data-kind=like] .otk-count").await?;
    Ok(count.text().await?)
}

/// Runs `test` with a publisher's site on its own origin, an otklik server that allows that origin, and a
/// browser, always ending the browser session afterwards.
async fn with_site(test: impl AsyncFnOnce(&mut Site, &Server, &Browser) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let mut site = Site::bind().await?;
    let origin = site.origin.clone();
    let server = Server::start_with(|settings| settings.allowed_origins = vec![origin]).await?;
    let browser = Browser::start().await?;
    let result = test(&mut site, &server, &browser).await;
    browser.stop().await;
    result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_page_on_another_origin_with_two_widgets() -> anyhow::Result<()> {
    with_site(async |site, server, browser| {
        let hostile = "<style>* { all: unset } button { display: none !important } \
                       p, div, span { font-size: 40px !important; line-height: 1 !important }</style>";
        let body = "<p id=\"text\">Паром снова ходит.</p><button id=\"own\">кнопка сайта</button>\
                    <div id=\"w1\" data-otklik-article=\"host-a\"></div>\
                    <div id=\"w2\" data-otklik-article=\"host-b\" data-otklik-lang=\"en\"></div>";
        site.serve(vec![("/hostile", page(server, hostile, body), None)]);
        browser.client.goto(&site.url("/hostile")).await?;
        reactions_ready(browser, "#w1").await?;
        reactions_ready(browser, "#w2").await?;

        // The page's CSS does not reach inside: our buttons show, with our own sizes.
        let inside = run(
            browser,
            "const like = document.querySelector('#w1').shadowRoot.querySelector('button[data-kind=like]');
             const style = getComputedStyle(like);
             return [style.display, style.fontSize];",
        )
        .await?;
        assert_ne!(inside[0], "none", "{inside}");
        assert_ne!(inside[1], "40px", "{inside}");
        // Ours does not reach out: the page's own button and text keep the page's rules.
        let outside = run(
            browser,
            "return [getComputedStyle(document.getElementById('own')).display,
                     getComputedStyle(document.getElementById('text')).fontSize];",
        )
        .await?;
        assert_eq!(outside, json!(["none", "40px"]));

        // Two widgets, two articles, two languages: a reaction in one leaves the other alone.
        let hint = browser.in_widget("#w2", ".otk-typo-hint").await?.text().await?;
        assert!(hint.starts_with("Spotted a typo?"), "{hint}");
        browser.in_widget("#w1", "button[data-kind=like]").await?.click().await?;
        browser
            .until("the like to count", || async { Ok((like_count(browser, "#w1").await? == "1").then_some(())) })
            .await?;
        assert_eq!(like_count(browser, "#w2").await?, "0");
        let stored: Value = reqwest::get(server.url("/api/v1/articles/host-a/reactions")).await?.json().await?;
        assert_eq!(stored["counts"]["like"], 1);
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn count_elements_are_filled_with_one_request_and_no_widget_download() -> anyhow::Result<()> {
    with_site(async |site, server, browser| {
        let http = reqwest::Client::new();
        for (article, n) in [("list-1", 1), ("list-2", 2), ("list-3", 5), ("list-5", 21)] {
            for i in 0..n {
                let resp = http
                    .post(server.url(&format!("/api/v1/articles/{article}/comments")))
                    .header("X-Otklik-Reader", "AAAAAAAAAAAAAAAAAAAAAA")
                    .json(&json!({ "text": format!("комментарий {i}") }))
                    .send()
                    .await?;
                anyhow::ensure!(resp.status() == 201, "seeding: {}", resp.status());
            }
        }
        let body: String = ["list-1", "list-2", "list-3", "list-4", "list-5"]
            .iter()
            .map(|id| format!("<h2>Статья {id}</h2><span class=\"count\" data-otklik-count=\"{id}\"></span>"))
            .collect();
        site.serve(vec![("/list", page(server, "", &body), None)]);
        browser.client.goto(&site.url("/list")).await?;
        let texts = browser
            .until("the counts", || async {
                let texts = run(
                    browser,
                    "return [...document.querySelectorAll('[data-otklik-count]')].map(e => e.textContent);",
                )
                .await?;
                Ok(texts.as_array().is_some_and(|t| t.iter().all(|s| s != "")).then_some(texts))
            })
            .await?;
        assert_eq!(
            texts,
            json!(["1 комментарий", "2 комментария", "5 комментариев", "0 комментариев", "21 комментарий"])
        );
        let requests = run(
            browser,
            "const names = performance.getEntriesByType('resource').map(e => e.name);
             return [names.filter(n => n.includes('/api/v1/counts')).length,
                     names.filter(n => n.endsWith('.wasm')).length];",
        )
        .await?;
        assert_eq!(requests, json!([1, 0]), "one counts request, and no widget bundle for a list page");
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_page_app_mounts_and_unmounts_through_window_otklik() -> anyhow::Result<()> {
    with_site(async |site, server, browser| {
        // Both lists are taken by the page itself (the embed runs before `load`), so nothing the test
        // driver adds to the window counts.
        let head = "<script>window.__before = Object.keys(window);
                    addEventListener('load', () => { window.__after = Object.keys(window); });</script>";
        site.serve(vec![("/spa", page(server, head, "<main><div id=\"slot\"></div></main>"), None)]);
        browser.client.goto(&site.url("/spa")).await?;
        browser
            .until("window.otklik", || async {
                Ok((run(browser, "return typeof window.otklik;").await? == "object").then_some(()))
            })
            .await?;
        let globals =
            run(browser, "return __after.filter(k => !['__before', '__after'].includes(k) && !__before.includes(k));")
                .await?;
        assert_eq!(globals, json!(["otklik"]), "the embed adds one global name");

        // Mounting twice into the same element is harmless.
        browser
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 const slot = document.getElementById('slot');
                 otklik.mount(slot, { article: 'spa-1', lang: 'en', theme: 'dark' })
                   .then(() => otklik.mount(slot, { article: 'spa-1' })).then(() => done(true));",
                vec![],
            )
            .await?;
        reactions_ready(browser, "#slot").await?;
        let shape = run(
            browser,
            "const slot = document.getElementById('slot');
             return [slot.shadowRoot.mode, slot.shadowRoot.children.length, slot.getAttribute('data-otklik-theme'),
                     slot.shadowRoot.querySelectorAll('.otk').length];",
        )
        .await?;
        assert_eq!(shape, json!(["open", 1, "dark", 1]));

        browser
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 otklik.unmount(document.getElementById('slot')).then(() => done(true));",
                vec![],
            )
            .await?;
        assert_eq!(run(browser, "return document.getElementById('slot').shadowRoot.children.length;").await?, 0);
        // And back again, as when the app routes to the article once more.
        run(browser, "otklik.mount(document.getElementById('slot'), { article: 'spa-2' }); return null;").await?;
        reactions_ready(browser, "#slot").await?;
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_under_a_strict_content_security_policy_works() -> anyhow::Result<()> {
    with_site(async |site, server, browser| {
        let head = "<script nonce=\"e2e\">window.__violations = [];
                    document.addEventListener('securitypolicyviolation',
                      e => __violations.push(e.violatedDirective + ' ' + e.blockedURI));</script>";
        let body =
            "<article><p>Паром ходит кажыдй час.</p></article><div id=\"w\" data-otklik-article=\"csp-1\"></div>";
        site.serve(vec![("/strict", page(server, head, body), Some(strict_csp(server)))]);
        browser.client.goto(&site.url("/strict")).await?;
        reactions_ready(browser, "#w").await?;
        browser.in_widget("#w", "button[data-kind=laugh]").await?.click().await?;
        browser
            .until("the reaction to count", || async {
                let count = browser.in_widget("#w", "button[data-kind=laugh] .otk-count").await?.text().await?;
                Ok((count == "1").then_some(()))
            })
            .await?;
        // The stylesheet applies (adopted, not an inline <style>): the buttons are laid out as ours.
        let radius = run(
            browser,
            "return getComputedStyle(document.querySelector('#w').shadowRoot.querySelector('.otk-reaction'))
                      .borderTopLeftRadius;",
        )
        .await?;
        assert_eq!(radius, "999px");
        // The typo dialog opens too (page-wide listener, native dialog).
        browser.select_in_article("кажыдй").await?;
        browser.ctrl_enter().await?;
        browser
            .until("the typo dialog", || async {
                Ok(browser.in_widget("#w", "dialog").await?.attr("open").await?.map(|_| ()))
            })
            .await?;
        let violations = run(browser, "return window.__violations;").await?;
        assert_eq!(violations, json!([]), "nothing was blocked by the policy");
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_origin_that_is_not_allowed_is_refused() -> anyhow::Result<()> {
    with_site(async |allowed, server, browser| {
        let mut other = Site::bind().await?;
        let body = "<div id=\"w\" data-otklik-article=\"not-allowed\"></div>";
        other.serve(vec![("/page", page(server, "", body), None)]);
        browser.client.goto(&other.url("/page")).await?;
        // The widget itself loads (its files are public), but the browser refuses the API's answers.
        let failure = browser
            .until("the refusal", || async {
                let note = browser.in_widget("#w", ".otk-status .otk-error").await?;
                let text = note.text().await?;
                Ok((!text.is_empty()).then_some(text))
            })
            .await?;
        assert!(failure.contains("Не удалось загрузить реакции"), "{failure}");
        // The preflight names no origin for it; for the allowed one it does, with a max age.
        let preflight = |origin: String| {
            reqwest::Client::new()
                .request(reqwest::Method::OPTIONS, server.url("/api/v1/articles/x/reactions/mine"))
                .header("Origin", origin)
                .header("Access-Control-Request-Method", "PUT")
                .header("Access-Control-Request-Headers", "content-type,x-otklik-reader")
                .send()
        };
        let refused = preflight(other.origin.clone()).await?;
        assert!(refused.headers().get("access-control-allow-origin").is_none());
        let granted = preflight(allowed.origin.clone()).await?;
        assert_eq!(granted.headers()["access-control-allow-origin"], allowed.origin.as_str());
        assert!(granted.headers().contains_key("access-control-max-age"));
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_does_not_jump_while_the_widget_loads_and_the_reader_scrolls_to_it() -> anyhow::Result<()> {
    with_site(async |site, server, browser| {
        // As on a real article page: the widget under the text, below the fold at first, the footer after
        // it; the reader scrolls down to the comments once the page is up.
        let head = "<script>window.__cls = 0; new PerformanceObserver(list => { for (const e of list.getEntries())
                      if (!e.hadRecentInput) window.__cls += e.value; })
                    .observe({ type: 'layout-shift', buffered: true });</script>
                    <style>body { font: 18px/1.5 Georgia, serif; max-width: 40em; margin: 20px; }</style>";
        let paragraph = "<p>Паром снова ходит между берегами: двенадцать минут в пути, рейсы каждые полчаса в часы \
                         пик, тёплый салон и место для велосипедов. Билет стоит как поездка на автобусе.</p>";
        let body = format!(
            "<h1>Паром снова ходит</h1><article>{}</article><div id=\"w\" data-otklik-article=\"cls-1\"></div>\
             <footer><p>Подвал сайта: контакты, подписка, правила.</p><p>© Вестник Заречья</p></footer>",
            paragraph.repeat(16)
        );
        site.serve(vec![("/cls", page(server, head, &body), None)]);
        browser.client.goto(&site.url("/cls")).await?;
        reactions_ready(browser, "#w").await?;
        let below =
            run(browser, "return document.getElementById('w').getBoundingClientRect().top > innerHeight;").await?;
        assert_eq!(below, true, "the test page must start with the widget below the fold");
        for step in 1..=4 {
            run(
                browser,
                &format!("window.scrollTo(0, document.getElementById('w').offsetTop * {step} / 4); return 0;"),
            )
            .await?;
            // The reader's next move comes once this one is on screen.
            frames(browser, 2).await?;
        }
        browser
            .until("the empty thread", || async {
                let empty = browser.in_widget("#w", ".otk-empty").await?;
                Ok(empty.attr("hidden").await?.is_none().then_some(()))
            })
            .await?;
        // Shifts still to come would come while the widget's box changes: wait until it holds still.
        browser
            .until("the widget's box to hold still", || async {
                let still = browser
                    .client
                    .execute_async(
                        "const done = arguments[arguments.length - 1];
                         const w = document.getElementById('w');
                         const box = () => JSON.stringify(w.getBoundingClientRect());
                         const first = box();
                         let n = 0;
                         const next = () => box() !== first ? done(false) : ++n === 10 ? done(true)
                           : requestAnimationFrame(next);
                         requestAnimationFrame(next);",
                        vec![],
                    )
                    .await?;
                Ok((still == true).then_some(()))
            })
            .await?;
        // Layout-shift entries reach observers after the frame that made them.
        frames(browser, 2).await?;
        let cls = run(browser, "return window.__cls;").await?.as_f64().unwrap_or(1.0);
        eprintln!("cumulative layout shift: {cls}");
        assert!(cls < 0.05, "cumulative layout shift {cls}");
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_page_works_under_its_own_strict_policy() -> anyhow::Result<()> {
    otklik_e2e::with_server_and_browser(async |server, browser| {
        browser.client.goto(&server.url("/")).await?;
        reactions_ready(browser, "[data-otklik-article]").await?;
        // The page's inline stylesheet is allowed by its hash (the layout is a grid), and the widget works.
        let layout = run(browser, "return getComputedStyle(document.querySelector('.layout')).display;").await?;
        assert_eq!(layout, "grid");
        Ok(())
    })
    .await
}

/// The widget's first paint waits for no CORS preflight: embed.js starts the reactions request (a POST with
/// a text/plain body) beside the bundle, and the widget takes that answer instead of asking again. A
/// reader who reacted before sees their reaction in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_paint_needs_no_preflight_and_one_reactions_request() -> anyhow::Result<()> {
    let mut site = Site::bind().await?;
    let origin = site.origin.clone();
    let server = Server::start_with(|settings| settings.allowed_origins = vec![origin]).await?;
    let body = "<p>Паром снова ходит.</p><div id=\"w\" data-otklik-article=\"early\"></div>";
    site.serve(vec![("/early", page(&server, "", body), None)]);
    let browser = Browser::with_network_log().await?;
    let checked = async {
        browser.client.goto(&site.url("/early")).await?;
        reactions_ready(&browser, "#w").await?;
        let sent = |log: &[Value], method: &str, path: &str| {
            log.iter()
                .filter(|e| e["method"] == "Network.requestWillBeSent")
                .map(|e| &e["params"]["request"])
                .filter(|r| r["method"] == method && r["url"].as_str().is_some_and(|u| u.contains(path)))
                .count()
        };
        let log = browser.network_log().await?;
        // (The thread, in view at once on this short page, still asks with the reader header.)
        assert_eq!(sent(&log, "OPTIONS", "/reactions"), 0, "no preflight before the reactions are drawn");
        assert_eq!(sent(&log, "POST", "/reactions/view"), 1, "one reactions request, started by embed.js");

        // A reaction, then a reload: the early request carries the reader, and the choice shows.
        browser.in_widget("#w", "button[data-kind=laugh]").await?.click().await?;
        browser
            .until("the reaction to be stored", || async {
                let pressed = browser.in_widget("#w", "button[data-kind=laugh]").await?.attr("aria-pressed").await?;
                Ok((pressed.as_deref() == Some("true")).then_some(()))
            })
            .await?;
        browser
            .until("the server to have it", || async {
                let view: Value = reqwest::get(server.url("/api/v1/articles/early/reactions")).await?.json().await?;
                Ok((view["counts"]["laugh"] == 1).then_some(()))
            })
            .await?;
        browser.client.refresh().await?;
        reactions_ready(&browser, "#w").await?;
        let pressed = browser.in_widget("#w", "button[data-kind=laugh]").await?.attr("aria-pressed").await?;
        assert_eq!(pressed.as_deref(), Some("true"), "the reader's own reaction, from the early request");
        anyhow::Ok(())
    }
    .await;
    browser.stop().await;
    checked
}
