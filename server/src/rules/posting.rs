//! Posting and editing comments: what a comment must be (text, name, the honeypot, the compose token),
//! who may send one now (bans, limits), and whether it waits for a moderator (stop words, the article's
//! mode). The API's handlers call these; the store keeps what they accept.

use otklik_api::limits::AUTHOR_MAX;
use otklik_api::{ArticleId, Comment, CommentId, InvalidText, PageInfo, check_comment_text};

use crate::rules::Rules;
use crate::rules::compose;
use crate::rules::guard::{self, Refusal};
use crate::rules::mail::Mail;
use crate::rules::net::ClientIp;
use crate::rules::rate_limit::LimitKind;
use crate::rules::reader::ReaderHash;
use crate::rules::text::clean_line;
use crate::store::{AddressState, CommentError, EditCommentCmd, NewCommentCmd, Subscription};

/// Why a comment (or an edit) was not taken.
#[derive(Debug)]
pub enum PostError {
    /// The honeypot field, which people never see, was filled in.
    Spam,
    Text(InvalidText),
    /// The address to tell of replies cannot be an e-mail address.
    BadEmail,
    /// The name is longer than [`AUTHOR_MAX`] characters.
    AuthorTooLong,
    /// Sent sooner after its form was loaded than a person could write it.
    TooFast,
    /// No compose token, or one not issued for this reader and article.
    InvalidForm,
    Refused(Refusal),
    /// The store's refusal: no such comment or parent, not the author's, past the edit window, closed.
    Comment(CommentError),
    Store(anyhow::Error),
}

impl From<anyhow::Error> for PostError {
    fn from(err: anyhow::Error) -> Self {
        Self::Store(err)
    }
}

impl From<CommentError> for PostError {
    fn from(err: CommentError) -> Self {
        Self::Comment(err)
    }
}

impl From<Refusal> for PostError {
    fn from(refusal: Refusal) -> Self {
        Self::Refused(refusal)
    }
}

/// A new comment as the reader sent it; `page` is already what the edge accepts of the page's address.
pub struct NewPost {
    pub article: ArticleId,
    pub reader: ReaderHash,
    pub client: ClientIp,
    pub text: String,
    pub author: Option<String>,
    pub parent: Option<CommentId>,
    pub page: PageInfo,
    /// The honeypot.
    pub website: Option<String>,
    /// The compose token of the thread's page the form came with.
    pub form: Option<String>,
    /// Where to tell the author of replies (when mail is on).
    pub notify_email: Option<String>,
}

/// Posts a comment, shown at once or held for moderation.
pub async fn post(rules: &Rules, new: NewPost) -> Result<Comment, PostError> {
    if new.website.as_deref().is_some_and(|w| !w.trim().is_empty()) {
        return Err(PostError::Spam);
    }
    let text = checked_text(&new.text)?;
    let author = new.author.as_deref().map(clean_line).unwrap_or_default();
    if author.chars().count() > AUTHOR_MAX {
        return Err(PostError::AuthorTooLong);
    }
    if rules.min_compose_secs > 0 {
        let now = rules.clock.now();
        let form = new.form.as_deref();
        compose::check(&rules.reader_key, &new.reader, new.article.as_str(), form, now, rules.min_compose_secs)
            .map_err(|refused| match refused {
                compose::Refusal::TooFast => PostError::TooFast,
                compose::Refusal::Invalid => PostError::InvalidForm,
            })?;
    }
    let NewPost { article, reader, client, parent, page, notify_email, .. } = new;
    writable(rules, &reader, &client).await?;
    let hold = has_stop_word(&rules.stop_words, &text);
    let subscribe = match (&rules.outbox.mail, notify_email.as_deref().map(str::trim).filter(|a| !a.is_empty())) {
        (Some(mail), Some(address)) => Some(subscription(rules, mail, address, &text, &reader, &client).await?),
        _ => None,
    };
    let announce = rules.outbox.announce();
    let (ip, ip_epoch, default_mode) = (client.hash, client.epoch, rules.moderation);
    let cmd = NewCommentCmd {
        article,
        reader,
        ip,
        ip_epoch,
        author,
        text,
        parent,
        page,
        announce,
        default_mode,
        hold,
        subscribe,
    };
    let comment = rules.store.post_comment(cmd).await??;
    rules.outbox.wake();
    Ok(comment)
}

/// The address a comment's author gave, ready to store, and whether a confirmation goes to it: not when
/// it is confirmed or blocked already, nor past the limits on confirmations per address and per client
/// (the comment is posted all the same; only the message is not sent).
async fn subscription(
    rules: &Rules,
    mail: &Mail,
    address: &str,
    text: &str,
    reader: &ReaderHash,
    client: &ClientIp,
) -> Result<Subscription, PostError> {
    let mut sub = mail.subscription(address, text).map_err(|_| PostError::BadEmail)?;
    sub.confirm = match rules.store.mail_address(reader, &sub.lookup).await? {
        AddressState::Unconfirmed => {
            let checks = [(LimitKind::ConfirmAddress, &sub.lookup), (LimitKind::ConfirmIp, &client.hash)];
            guard::limited(rules, &checks).await.is_ok()
        }
        AddressState::Confirmed | AddressState::Blocked => false,
    };
    Ok(sub)
}

/// An edit is a write like a post: the same bans, limits and stop words, and it may go back to the queue.
pub async fn edit(
    rules: &Rules,
    article: ArticleId,
    id: CommentId,
    reader: ReaderHash,
    client: &ClientIp,
    text: &str,
) -> Result<Comment, PostError> {
    let text = checked_text(text)?;
    writable(rules, &reader, client).await?;
    let hold = has_stop_word(&rules.stop_words, &text);
    let announce = rules.outbox.announce();
    let edit = EditCommentCmd { article, id, reader, text, announce, default_mode: rules.moderation, hold };
    let comment = rules.store.edit_comment(edit).await??;
    if comment.pending {
        rules.outbox.wake();
    }
    Ok(comment)
}

/// Bans, then the comment limits (counted only for comments that could be stored).
async fn writable(rules: &Rules, reader: &ReaderHash, client: &ClientIp) -> Result<(), Refusal> {
    guard::not_banned(rules, reader, client)?;
    guard::limited(rules, &[(LimitKind::CommentReader, &reader.0), (LimitKind::CommentIp, &client.hash)]).await
}

/// The text as stored: checked against the limits both halves share, line breaks kept (readers use
/// them), other control characters dropped (they only ever hide things).
fn checked_text(text: &str) -> Result<String, PostError> {
    check_comment_text(text).map_err(PostError::Text)?;
    Ok(text.trim().chars().filter(|c| !c.is_control() || *c == '\n').collect::<String>().replace("\r\n", "\n"))
}

/// Whether the text holds one of the configured stop words (as a substring, case-insensitively: stop
/// lists are short phrases, and catching "casino" inside "casinos" is the point).
fn has_stop_word(words: &[String], text: &str) -> bool {
    if words.is_empty() {
        return false;
    }
    let text = text.to_lowercase();
    words.iter().any(|w| text.contains(w.as_str()))
}
