//! Reply notifications by e-mail: the addresses readers give (checked, sealed, found again by a keyed
//! hash), the links in messages (signed, so they need no cookie and no stored token), the messages
//! themselves (ru/en, plain text and simple HTML, one-click unsubscribe), and their delivery over SMTP
//! from the outbox.
//!
//! Nothing reaches an address before its owner confirms it: a comment that gives one queues a
//! confirmation; replies are queued for confirmed recipients only (see `store::mail`).

use std::str::FromStr as _;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::Context as _;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead as _, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use lettre::Message;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use sha2::Sha256;

pub use crate::rules::lang::Lang;
use crate::store::{
    DigestCounts, DynStore, GATHER_SECS, Letter, ModeratorAddress, ModeratorEvent, ModeratorLetter, OutboxItem,
    ReplyNote, Subscription, Told,
};

/// How long an SMTP server gets for each step of a conversation.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// The outbox events of this module.
pub const CONFIRM_EVENT: &str = "mail.confirm";
pub const REPLIES_EVENT: &str = "mail.replies";
pub const MODERATOR_CONFIRM_EVENT: &str = "mail.moderator.confirm";
pub const MODERATOR_EVENT: &str = "mail.moderator";

/// What a link in a message does; each is signed under its own label, so one cannot stand for another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    Confirm,
    Unsubscribe,
    /// A moderator's address, set in the console.
    ConfirmModerator,
    UnsubscribeModerator,
}

impl Link {
    const fn label(self) -> &'static [u8] {
        match self {
            Self::Confirm => b"confirm",
            Self::Unsubscribe => b"unsubscribe",
            Self::ConfirmModerator => b"confirm moderator",
            Self::UnsubscribeModerator => b"unsubscribe moderator",
        }
    }

    /// The path of the page the link opens.
    pub const fn path(self) -> &'static str {
        match self {
            Self::Confirm => "/mail/confirm/",
            Self::Unsubscribe => "/mail/unsubscribe/",
            Self::ConfirmModerator => "/mail/moderator/confirm/",
            Self::UnsubscribeModerator => "/mail/moderator/unsubscribe/",
        }
    }
}

/// A recipient's language, as its link's token carries it.
fn lang_of(code: &str) -> Lang {
    Lang::parse(code).unwrap_or(Lang::En)
}

/// An address the server cannot take.
#[derive(Debug, PartialEq, Eq)]
pub struct BadAddress;

/// Keys derived from the server secret, one per use.
struct Keys {
    seal: XChaCha20Poly1305,
    lookup: Hmac<Sha256>,
    links: Hmac<Sha256>,
}

impl Keys {
    fn new(secret: &[u8]) -> Self {
        let derive = |label: &[u8]| {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC accepts keys of any length");
            mac.update(b"otklik mail: ");
            mac.update(label);
            mac.finalize().into_bytes()
        };
        let hmac = |key: &[u8]| <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length");
        Self {
            seal: <XChaCha20Poly1305 as KeyInit>::new(&derive(b"address key")),
            lookup: hmac(&derive(b"address lookup")),
            links: hmac(&derive(b"links")),
        }
    }

    fn digest(key: &Hmac<Sha256>, parts: &[&[u8]]) -> [u8; 16] {
        let mut mac = key.clone();
        for part in parts {
            mac.update(&(part.len() as u32).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes()[..16].try_into().expect("a SHA-256 MAC has 32 bytes")
    }
}

/// Sends the messages: the SMTP connection, the sender's address, the keys, and where links point.
pub struct Mail {
    smtp: Smtp,
    from: Mailbox,
    keys: Keys,
    /// This server's public address (`https://comments.example.org`), without a trailing slash.
    base: OnceLock<String>,
}

impl Mail {
    /// Reads `OTKLIK_SMTP_URL` (`smtp://user:pass@host:587`: STARTTLS whenever the server offers it, and
    /// only a loopback server may go without; `smtps://` for TLS from the start) and `OTKLIK_MAIL_FROM`.
    pub fn new(smtp_url: &str, from: &str, public_url: Option<&str>, secret: &[u8]) -> anyhow::Result<Self> {
        let smtp = Smtp::new(smtp_url)?;
        let from = Mailbox::from_str(from.trim()).map_err(|e| {
            anyhow::anyhow!("OTKLIK_MAIL_FROM `{from}` is not an address (`Name <a@b.org>` or `a@b.org`): {e}")
        })?;
        let base = OnceLock::new();
        if let Some(url) = public_url.map(str::trim).filter(|u| !u.is_empty()) {
            let parsed = reqwest::Url::parse(url).map_err(|e| anyhow::anyhow!("OTKLIK_PUBLIC_URL `{url}`: {e}"))?;
            anyhow::ensure!(
                matches!(parsed.scheme(), "http" | "https") && parsed.query().is_none(),
                "OTKLIK_PUBLIC_URL must be an http(s) URL without a query"
            );
            let _ = base.set(url.trim_end_matches('/').to_owned());
        }
        Ok(Self { smtp, from, keys: Keys::new(secret), base })
    }

    /// Where links point when no public URL was given: the address this server listens on, if it names
    /// one host (a server listening on every interface cannot know which name readers use).
    pub fn listening_on(&self, address: std::net::SocketAddr) -> anyhow::Result<()> {
        if self.base.get().is_some() {
            return Ok(());
        }
        anyhow::ensure!(
            !address.ip().is_unspecified(),
            "OTKLIK_SMTP_URL is set and otklik listens on every interface: set OTKLIK_PUBLIC_URL to the address \
             readers reach it by, for the links in messages"
        );
        let _ = self.base.set(format!("http://{address}"));
        Ok(())
    }

    fn base(&self) -> &str {
        self.base.get().map_or("", String::as_str)
    }

    /// What a comment's author gave to be told of replies, ready to store: `Err` when it cannot be an
    /// address.
    pub fn subscription(&self, address: &str, comment: &str) -> Result<Subscription, BadAddress> {
        let address = address.trim();
        if !otklik_api::check_email(address) || lettre::Address::from_str(address).is_err() {
            return Err(BadAddress);
        }
        let mut nonce = [0_u8; 24];
        getrandom::fill(&mut nonce).map_err(|_| BadAddress)?;
        let sealed = self.keys.seal.encrypt(XNonce::from_slice(&nonce), address.as_bytes()).map_err(|_| BadAddress)?;
        Ok(Subscription {
            lookup: self.lookup(address),
            sealed: [&nonce[..], &sealed].concat(),
            lang: Lang::of_text(comment).code(),
            confirm: true,
        })
    }

    /// A moderator's address from the console, ready to store.
    pub fn moderator_address(&self, address: &str, lang: Lang) -> Result<ModeratorAddress, BadAddress> {
        let Subscription { lookup, sealed, .. } = self.subscription(address, "")?;
        Ok(ModeratorAddress { lookup, sealed, lang: lang.code() })
    }

    /// The keyed hash an address is found by (case does not make another address).
    pub fn lookup(&self, address: &str) -> [u8; 16] {
        Keys::digest(&self.keys.lookup, &[address.trim().to_lowercase().as_bytes()])
    }

    fn open(&self, sealed: &[u8]) -> anyhow::Result<String> {
        anyhow::ensure!(sealed.len() > 24, "a sealed address is too short");
        let (nonce, sealed) = sealed.split_at(24);
        let plain = self.keys.seal.decrypt(XNonce::from_slice(nonce), sealed).map_err(|_| {
            anyhow::anyhow!("an address does not open with this server's key (was the secret changed?)")
        })?;
        Ok(String::from_utf8(plain)?)
    }

    /// The token of a link: the recipient, the language of its page, and a MAC over both.
    pub fn token(&self, link: Link, recipient: i64, lang: Lang) -> String {
        let id = recipient.to_be_bytes();
        let mac = Keys::digest(&self.keys.links, &[link.label(), &id, lang.code().as_bytes()]);
        let mut raw = Vec::with_capacity(25);
        raw.extend_from_slice(&id);
        raw.push(u8::from(lang == Lang::Ru));
        raw.extend_from_slice(&mac);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    }

    /// The recipient and language a link's token names, if this server signed it for `link`.
    pub fn check_token(&self, link: Link, token: &str) -> Option<(i64, Lang)> {
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token.as_bytes()).ok()?;
        if raw.len() != 25 || raw[8] > 1 {
            return None;
        }
        let id: [u8; 8] = raw[..8].try_into().ok()?;
        let lang = if raw[8] == 1 { Lang::Ru } else { Lang::En };
        let mac = Keys::digest(&self.keys.links, &[link.label(), &id, lang.code().as_bytes()]);
        crate::keys::constant_time_eq(&mac, &raw[9..]).then_some((i64::from_be_bytes(id), lang))
    }

    fn link(&self, link: Link, recipient: i64, lang: Lang) -> String {
        format!("{}{}{}", self.base(), link.path(), self.token(link, recipient, lang))
    }

    /// Makes the delivery `item` (a reader's confirmation or replies, a moderator's confirmation or
    /// notice): `Ok` once it is recorded, whether sent or found unneeded; `Err` with why when it should be
    /// tried again.
    pub async fn deliver(&self, store: &DynStore, item: &OutboxItem, now: i64) -> Result<(), String> {
        let payload: serde_json::Value = serde_json::from_str(&item.payload).map_err(|e| e.to_string())?;
        let failed = |err: anyhow::Error| format!("{err:#}");
        if item.event.starts_with(MODERATOR_EVENT) {
            let moderator = payload["moderator"].as_i64().ok_or("a message without a moderator")?;
            return self.deliver_to_moderator(store, item, moderator, &payload).await;
        }
        let recipient = payload["recipient"].as_i64().ok_or("a message without a recipient")?;
        let letter = store.mail_letter(recipient).await.map_err(failed)?;
        let confirming = item.event == CONFIRM_EVENT;
        let message = match &letter {
            Some(letter) if !letter.blocked && confirming && !letter.confirmed => {
                Some(self.confirmation(letter, recipient).map_err(failed)?)
            }
            Some(letter) if !letter.blocked && !confirming && letter.confirmed && !letter.replies.is_empty() => {
                Some(self.replies(letter, recipient).map_err(failed)?)
            }
            _ => None,
        };
        // Gone, blocked, confirmed meanwhile, or every reply hidden since: recorded as if sent, nothing is.
        let sent = match (&message, &letter) {
            (Some(message), Some(letter)) => self.hand_over(store, item, message, &letter.lookup).await?,
            _ => true,
        };
        if !sent {
            return Ok(());
        }
        let done = if confirming {
            store.outbox_attempted(item.id, None).await
        } else {
            // Replies that arrive within the next quarter hour wait for the message after this one.
            let waiting = letter.as_ref().map_or(&[][..], |l| &l.waiting[..]);
            let told: Vec<i64> = match (&message, &letter) {
                (Some(_), Some(letter)) => letter.replies.iter().map(|r| r.id).collect(),
                _ => Vec::new(),
            };
            let next_at = if message.is_some() { now + GATHER_SECS } else { now };
            store.mail_told(Told { delivery: item.id, recipient, waiting, told: &told, next_at }).await
        };
        done.map_err(failed)
    }

    /// Sends `message`: `Ok(true)` when the SMTP server took it; `Ok(false)` when it refused the recipient
    /// for good, and the address (`lookup`) is blocked and the delivery ended; `Err` to try again later.
    async fn hand_over(
        &self,
        store: &DynStore,
        item: &OutboxItem,
        message: &Message,
        lookup: &[u8],
    ) -> Result<bool, String> {
        match self.smtp.send(message).await {
            Ok(()) => {
                tracing::info!(delivery = item.id, event = %item.event, "message sent");
                Ok(true)
            }
            Err(SendError::Smtp(err)) if bounced(&err) => {
                tracing::warn!(delivery = item.id, error = %err, "the address was refused: nothing more goes to it");
                let blocked = store.mail_block(item.id, lookup, &format!("refused: {err}")).await;
                blocked.map(|()| false).map_err(|err| format!("{err:#}"))
            }
            Err(err) => Err(err.to_string()),
        }
    }

    /// A moderator's confirmation or notice; `Ok` once sent and recorded, or found unneeded.
    async fn deliver_to_moderator(
        &self,
        store: &DynStore,
        item: &OutboxItem,
        moderator: i64,
        payload: &serde_json::Value,
    ) -> Result<(), String> {
        let failed = |err: anyhow::Error| format!("{err:#}");
        let confirming = item.event == MODERATOR_CONFIRM_EVENT;
        let letter = store.moderator_letter(moderator).await.map_err(failed)?;
        let letter = letter.filter(|l| !l.blocked && l.confirmed != confirming);
        let event = payload["kind"].as_str().and_then(ModeratorEvent::parse);
        // A digest counts what waits when it goes.
        let counts = match (&letter, confirming, event) {
            (Some(_), false, None) => Some(store.digest_counts().await.map_err(failed)?),
            _ => None,
        };
        let message = match &letter {
            Some(letter) => {
                self.moderator_message(letter, moderator, confirming, event, payload, counts).map_err(failed)?
            }
            None => None,
        };
        let sent = match (&message, &letter) {
            (Some(message), Some(letter)) => self.hand_over(store, item, message, &letter.lookup).await?,
            _ => true,
        };
        if sent { store.outbox_attempted(item.id, None).await.map_err(failed) } else { Ok(()) }
    }

    /// The message to a moderator: the confirmation, an event's notice, or the digest (none when nothing
    /// waits).
    fn moderator_message(
        &self,
        letter: &ModeratorLetter,
        moderator: i64,
        confirming: bool,
        event: Option<ModeratorEvent>,
        payload: &serde_json::Value,
        counts: Option<DigestCounts>,
    ) -> anyhow::Result<Option<Message>> {
        let lang = lang_of(&letter.lang);
        let t = texts(lang);
        let console = format!("{}/admin", self.base());
        let text = |key: &str| payload[key].as_str().unwrap_or_default().to_owned();
        let (subject, body) = match (confirming, event, counts) {
            (true, ..) => {
                let link = self.link(Link::ConfirmModerator, moderator, lang);
                let body = format!("{}\n\n{link}\n\n{}", t.moderator_confirm_body, t.confirm_ignore);
                (t.moderator_confirm_subject.to_owned(), body)
            }
            (false, Some(event), _) => {
                let (subject, intro, page) = match event {
                    ModeratorEvent::Pending => (t.pending_subject, t.pending_intro, console),
                    ModeratorEvent::Flag => (t.flag_subject, t.flag_intro, format!("{console}?queue=flagged")),
                    ModeratorEvent::Typo => (t.typo_subject, t.typo_intro, format!("{console}/typos")),
                };
                let (author, article) = (text("author"), text("article"));
                let quoted = if author.is_empty() { text("text") } else { format!("{author}: {}", text("text")) };
                (format!("{subject} «{article}»"), format!("{intro} «{article}»:\n\n{quoted}\n\n{page}"))
            }
            (false, None, Some(counts)) if counts != DigestCounts::default() => {
                let lines = [
                    (t.digest_pending, counts.pending),
                    (t.digest_flagged, counts.flagged),
                    (t.digest_typos, counts.typos),
                ];
                let lines: Vec<String> = lines.iter().map(|(what, n)| format!("{what}: {n}")).collect();
                (t.digest_subject.to_owned(), format!("{}\n\n{}\n\n{console}", t.digest_intro, lines.join("\n")))
            }
            _ => return Ok(None),
        };
        let unsubscribe = self.link(Link::UnsubscribeModerator, moderator, lang);
        let body = format!("{body}\n\n{} {unsubscribe}\n", t.unsubscribe);
        let message = self.envelope(&letter.sealed, subject)?.singlepart(lettre::message::SinglePart::plain(body))?;
        Ok(Some(self.with_unsubscribe(message, Link::UnsubscribeModerator, moderator, lang)))
    }

    fn envelope(&self, sealed: &[u8], subject: String) -> anyhow::Result<lettre::message::MessageBuilder> {
        let to = Mailbox::new(None, self.open(sealed)?.parse().context("a stored address")?);
        Ok(Message::builder().from(self.from.clone()).to(to).subject(subject).message_id(None))
    }

    /// Adds the one-click unsubscription headers (RFC 8058) to a built message.
    fn with_unsubscribe(&self, mut message: Message, link: Link, recipient: i64, lang: Lang) -> Message {
        let url = self.link(link, recipient, lang);
        let headers = message.headers_mut();
        headers.insert_raw(HeaderValue::new(HeaderName::new_from_ascii_str("List-Unsubscribe"), format!("<{url}>")));
        headers.insert_raw(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click".to_owned(),
        ));
        headers.insert_raw(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".to_owned(),
        ));
        message
    }

    fn confirmation(&self, letter: &Letter, recipient: i64) -> anyhow::Result<Message> {
        let lang = lang_of(&letter.lang);
        let confirm = self.link(Link::Confirm, recipient, lang);
        let texts = texts(lang);
        let text = format!("{}\n\n{confirm}\n\n{}\n", texts.confirm_body, texts.confirm_ignore);
        let html = maud::html! {
            p { (texts.confirm_body) }
            p { a href=(confirm) { (texts.confirm_button) } }
            p { small { (texts.confirm_ignore) } }
        };
        let message = self
            .envelope(&letter.sealed, texts.confirm_subject.to_owned())?
            .multipart(MultiPart::alternative_plain_html(text, html.into_string()))?;
        Ok(self.with_unsubscribe(message, Link::Unsubscribe, recipient, lang))
    }

    fn replies(&self, letter: &Letter, recipient: i64) -> anyhow::Result<Message> {
        let lang = lang_of(&letter.lang);
        let texts = texts(lang);
        let replies = &letter.replies;
        let title = |r: &ReplyNote| r.title.clone().filter(|t| !t.is_empty()).unwrap_or_else(|| r.article.clone());
        let subject = match replies.len() {
            1 => format!("{} «{}»", texts.reply_subject, title(&replies[0])),
            n => format!("{} ({n}): «{}»", texts.replies_subject, title(&replies[0])),
        };
        let open = |r: &ReplyNote| r.url.as_ref().map(|url| format!("{url}#otklik-comment-{}", r.id));
        let unsubscribe = self.link(Link::Unsubscribe, recipient, lang);
        let mut text = String::new();
        for r in replies {
            let author = if r.author.is_empty() { texts.anonymous } else { &r.author };
            text.push_str(&format!("{author} {} «{}»:\n\n{}\n\n", texts.replied, title(r), r.text));
            if let Some(link) = open(r) {
                text.push_str(&format!("{} {link}\n\n", texts.open));
            }
            text.push_str("—\n\n");
        }
        text.push_str(&format!("{} {unsubscribe}\n", texts.unsubscribe));
        let html = maud::html! {
            @for r in replies {
                p { b { (if r.author.is_empty() { texts.anonymous } else { &r.author }) } " " (texts.replied) " «" (title(r)) "»:" }
                blockquote style="white-space: pre-wrap; border-left: 3px solid #ccc; margin: 0 0 0 4px; padding-left: 12px" { (r.text) }
                @if let Some(link) = open(r) { p { a href=(link) { (texts.open_button) } } }
                hr;
            }
            p { small { a href=(unsubscribe) { (texts.unsubscribe) } } }
        };
        let message = self
            .envelope(&letter.sealed, subject)?
            .multipart(MultiPart::alternative_plain_html(text, html.into_string()))?;
        Ok(self.with_unsubscribe(message, Link::Unsubscribe, recipient, lang))
    }
}

/// A permanent refusal of the recipient itself (no such mailbox, not accepted here, a bad name): the
/// address is wrong for good. Other permanent errors (say, the relay refusing otklik's credentials) say
/// nothing about the address.
fn bounced(err: &lettre::transport::smtp::Error) -> bool {
    err.is_permanent()
        && err.status().is_some_and(|code| {
            let code = code.to_string();
            matches!(code.as_str(), "550" | "551" | "553")
        })
}

/// Why a message could not be handed over.
#[derive(Debug)]
enum SendError {
    Smtp(lettre::transport::smtp::Error),
    Io(std::io::Error),
    /// The server offers no STARTTLS, and it is not on this machine.
    NoTls,
    TimedOut,
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Smtp(err) => err.fmt(f),
            Self::Io(err) => write!(f, "connecting: {err}"),
            Self::NoTls => {
                f.write_str("the SMTP server offers no STARTTLS: nothing is sent in the clear to another machine")
            }
            Self::TimedOut => f.write_str("the SMTP server did not answer in time"),
        }
    }
}

impl From<lettre::transport::smtp::Error> for SendError {
    fn from(err: lettre::transport::smtp::Error) -> Self {
        Self::Smtp(err)
    }
}

/// The SMTP server an `OTKLIK_SMTP_URL` names, and one connection to it kept open between messages (the
/// outbox has one sender per node). Its own rather than lettre's pool: lettre 0.11.23 leaves Nagle's
/// algorithm on, and the last five bytes of every message then wait 40 ms for the server's delayed
/// acknowledgement (lettre#1159, not yet released) — 22 messages a second at most. Over `smtps://` the
/// connection is lettre's own and keeps that delay until a release carries the fix.
struct Smtp {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
    hello: ClientId,
    connection: tokio::sync::Mutex<Option<AsyncSmtpConnection>>,
}

impl Smtp {
    fn new(url: &str) -> anyhow::Result<Self> {
        let bad = |why: &str| anyhow::anyhow!("OTKLIK_SMTP_URL: {why} (smtp://user:pass@host:587 or smtps://host:465)");
        let parsed = reqwest::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
        let host = parsed.host_str().filter(|h| !h.is_empty()).ok_or_else(|| bad("no host"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let loopback = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
        let (security, port) =
            security(parsed.scheme(), loopback).ok_or_else(|| bad("the scheme must be smtp or smtps"))?;
        TlsParameters::new(host.clone()).map_err(|e| bad(&e.to_string()))?;
        let credentials = (!parsed.username().is_empty()).then(|| {
            let password = percent_decode(parsed.password().unwrap_or_default());
            Credentials::new(percent_decode(parsed.username()), password)
        });
        Ok(Self {
            port: parsed.port().unwrap_or(port),
            host,
            security,
            credentials,
            hello: ClientId::default(),
            connection: tokio::sync::Mutex::new(None),
        })
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let tls = || TlsParameters::new(self.host.clone());
        let address = (self.host.as_str(), self.port);
        let mut connection = if self.security == Security::Implicit {
            AsyncSmtpConnection::connect_tokio1(address, Some(TIMEOUT), &self.hello, Some(tls()?), None).await?
        } else {
            let stream = tokio::net::TcpStream::connect(address).await.map_err(SendError::Io)?;
            stream.set_nodelay(true).map_err(SendError::Io)?;
            let mut connection = AsyncSmtpConnection::connect_with_transport(Box::new(stream), &self.hello).await?;
            if connection.can_starttls() {
                connection.starttls(tls()?, &self.hello).await?;
            } else if self.security == Security::StartTls {
                return Err(SendError::NoTls);
            }
            connection
        };
        if let Some(credentials) = &self.credentials {
            connection.auth(&[Mechanism::Plain, Mechanism::Login], credentials).await?;
        }
        Ok(connection)
    }

    /// Sends one message down the kept connection, opening it (again) first when there is none or it has
    /// broken. After a failure the connection is dropped: what state the server is in is not known.
    async fn send(&self, message: &Message) -> Result<(), SendError> {
        let mut slot = self.connection.lock().await;
        let sent = tokio::time::timeout(3 * TIMEOUT, async {
            if let Some(connection) = slot.as_mut()
                && !connection.test_connected().await
            {
                *slot = None;
            }
            let connection = match slot.as_mut() {
                Some(connection) => connection,
                None => slot.insert(self.connect().await?),
            };
            connection.send(message.envelope(), &message.formatted()).await?;
            Ok(())
        })
        .await
        .unwrap_or(Err(SendError::TimedOut));
        if sent.is_err() {
            *slot = None;
        }
        sent
    }
}

/// How a connection to the SMTP server is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Security {
    StartTlsIfOffered,
    StartTls,
    Implicit,
}

/// The protection and default port of a scheme. Never in the clear to another machine: the credentials
/// and the readers' addresses would cross the network readable.
fn security(scheme: &str, loopback: bool) -> Option<(Security, u16)> {
    match scheme {
        "smtp" if loopback => Some((Security::StartTlsIfOffered, 587)),
        "smtp" => Some((Security::StartTls, 587)),
        "smtps" => Some((Security::Implicit, 465)),
        _ => None,
    }
}

/// `%XX` escapes of a URL's user or password, decoded (a password may hold any character).
fn percent_decode(raw: &str) -> String {
    percent_encoding::percent_decode_str(raw).decode_utf8_lossy().into_owned()
}

/// The words of messages and of the pages their links open.
pub struct Texts {
    pub confirm_subject: &'static str,
    pub confirm_body: &'static str,
    pub confirm_button: &'static str,
    pub confirm_ignore: &'static str,
    pub confirmed: &'static str,
    pub link_expired: &'static str,
    pub reply_subject: &'static str,
    pub replies_subject: &'static str,
    pub replied: &'static str,
    pub anonymous: &'static str,
    pub open: &'static str,
    pub open_button: &'static str,
    pub unsubscribe: &'static str,
    pub unsubscribe_button: &'static str,
    pub unsubscribed: &'static str,
    pub moderator_unsubscribed: &'static str,
    pub moderator_confirmed: &'static str,
    pub moderator_confirm_subject: &'static str,
    pub moderator_confirm_body: &'static str,
    pub pending_subject: &'static str,
    pub pending_intro: &'static str,
    pub flag_subject: &'static str,
    pub flag_intro: &'static str,
    pub typo_subject: &'static str,
    pub typo_intro: &'static str,
    pub digest_subject: &'static str,
    pub digest_intro: &'static str,
    pub digest_pending: &'static str,
    pub digest_flagged: &'static str,
    pub digest_typos: &'static str,
}

pub fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::Ru => &RU,
        Lang::En => &EN,
    }
}

static RU: Texts = Texts {
    confirm_subject: "Подтвердите адрес для уведомлений об ответах",
    confirm_body: "Этот адрес указали под комментарием, чтобы узнавать об ответах на него. \
                   Чтобы получать уведомления, откройте ссылку и подтвердите адрес:",
    confirm_button: "Подтвердить адрес",
    confirm_ignore: "Если это были не вы, ничего не делайте: без подтверждения писем больше не будет.",
    confirmed: "Адрес подтверждён: мы напишем, когда на ваш комментарий ответят.",
    link_expired: "Ссылка больше не действует: адрес уже отписан. Укажите его снова под новым комментарием.",
    reply_subject: "Ответ на ваш комментарий:",
    replies_subject: "Ответы на ваш комментарий",
    replied: "ответил(а) на ваш комментарий к материалу",
    anonymous: "Аноним",
    open: "Открыть обсуждение:",
    open_button: "Открыть обсуждение",
    unsubscribe: "Отписаться от уведомлений:",
    unsubscribe_button: "Отписаться",
    unsubscribed: "Вы отписаны: писем об ответах больше не будет.",
    moderator_confirmed: "Адрес подтверждён: уведомления модератора будут приходить сюда.",
    moderator_unsubscribed: "Вы отписаны: уведомлений модератора на этот адрес больше не будет.",
    moderator_confirm_subject: "Подтвердите адрес для уведомлений модератора",
    moderator_confirm_body: "Этот адрес указали в консоли модератора otklik. Чтобы получать уведомления, \
                             откройте ссылку и подтвердите адрес:",
    pending_subject: "Комментарий ждёт проверки:",
    pending_intro: "Новый комментарий ждёт проверки в материале",
    flag_subject: "Жалоба на комментарий:",
    flag_intro: "Читатель пожаловался на комментарий в материале",
    typo_subject: "Сообщение об опечатке:",
    typo_intro: "Читатель сообщил об опечатке в материале",
    digest_subject: "Что ждёт модераторов",
    digest_intro: "Сводка за день:",
    digest_pending: "ждут проверки",
    digest_flagged: "с жалобами",
    digest_typos: "сообщений об опечатках",
};

static EN: Texts = Texts {
    confirm_subject: "Confirm your address for reply notifications",
    confirm_body: "This address was given with a comment, to hear of replies to it. \
                   To get these messages, open the link and confirm the address:",
    confirm_button: "Confirm the address",
    confirm_ignore: "If this was not you, do nothing: without confirmation no more mail comes.",
    confirmed: "Address confirmed: we will write when someone replies to your comment.",
    link_expired: "This link no longer works: the address has unsubscribed. Give it again with a new comment.",
    reply_subject: "A reply to your comment on",
    replies_subject: "Replies to your comment",
    replied: "replied to your comment on",
    anonymous: "Anonymous",
    open: "Open the discussion:",
    open_button: "Open the discussion",
    unsubscribe: "Stop these messages:",
    unsubscribe_button: "Unsubscribe",
    unsubscribed: "You are unsubscribed: no more messages about replies.",
    moderator_confirmed: "Address confirmed: moderators' notifications will come here.",
    moderator_unsubscribed: "You are unsubscribed: no more moderators' notifications to this address.",
    moderator_confirm_subject: "Confirm your address for moderators' notifications",
    moderator_confirm_body: "This address was given in the otklik moderators' console. To get its notifications, \
                             open the link and confirm the address:",
    pending_subject: "A comment awaits moderation:",
    pending_intro: "A new comment awaits moderation on",
    flag_subject: "A comment was flagged:",
    flag_intro: "A reader flagged a comment on",
    typo_subject: "A typo report:",
    typo_intro: "A reader reported a typo on",
    digest_subject: "What waits for the moderators",
    digest_intro: "Today's summary:",
    digest_pending: "awaiting moderation",
    digest_flagged: "flagged",
    digest_typos: "typo reports",
};

#[cfg(test)]
mod tests {
    use super::*;

    fn mail() -> Mail {
        Mail::new("smtp://127.0.0.1:2525", "otklik <news@example.org>", Some("https://c.example.org/"), b"secret")
            .expect("settings")
    }

    #[test]
    fn links_are_signed_for_their_purpose() {
        let mail = mail();
        let token = mail.token(Link::Unsubscribe, 42, Lang::Ru);
        assert_eq!(mail.check_token(Link::Unsubscribe, &token), Some((42, Lang::Ru)));
        assert_eq!(mail.check_token(Link::Confirm, &token), None);
        let mut forged = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&token).expect("base64");
        forged[7] = 43;
        let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(forged);
        assert_eq!(mail.check_token(Link::Unsubscribe, &forged), None);
        assert_eq!(mail.link(Link::Confirm, 1, Lang::En).split('/').nth(2), Some("c.example.org"));
    }

    #[test]
    fn addresses_are_sealed_and_found_again_whatever_their_case() {
        let mail = mail();
        let sub = mail.subscription(" Reader@Example.org ", "Спасибо за статью").expect("an address");
        assert_eq!(sub.lang, "ru");
        assert_eq!(sub.lookup, mail.lookup("reader@example.org"));
        assert!(!sub.sealed.windows(6).any(|w| w == b"Reader"), "the address is not stored in clear");
        assert_eq!(mail.open(&sub.sealed).expect("opens"), "Reader@Example.org");
        assert_eq!(mail.subscription("not an address", "x").map(|_| ()), Err(BadAddress));
        assert_eq!(Lang::of_text("Thanks, good read"), Lang::En);
    }

    #[test]
    fn plain_smtp_goes_only_to_a_loopback_server() {
        assert_eq!(security("smtp", true), Some((Security::StartTlsIfOffered, 587)));
        assert_eq!(security("smtp", false), Some((Security::StartTls, 587)));
        assert_eq!(security("smtps", false), Some((Security::Implicit, 465)));
        assert_eq!(security("http", true), None);
        assert!(Smtp::new("smtp://user:p%40ss@127.0.0.1:2525").is_ok_and(|s| s.port == 2525));
        assert!(Smtp::new("smtps://mail.example.org").is_ok_and(|s| s.port == 465 && s.security == Security::Implicit));
        assert!(Smtp::new("http://mail.example.org").is_err());
        assert_eq!(percent_decode("p%40ss%2"), "p@ss%2");
    }
}
