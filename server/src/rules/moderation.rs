//! Moderators' actions shared by the console and the editors' API: what a ban must be, the store call,
//! and keeping the in-memory ban list current. Refusals are [`ModerationError`]s, which each front end
//! words for its readers (the API in English error bodies, the console in the moderator's language).

use otklik_api::limits::{BAN_DAYS_MAX, BAN_REASON_MAX};
use otklik_api::{Ban, BanKind, CommentId, ModerationAction, NewBan, QueueItem};

use crate::rules::Rules;
use crate::rules::net::IpNet;
use crate::rules::text::clean_line;
use crate::store::{BanTarget, ModError, NewBanCmd};

/// Why a moderator's action was refused, or that the store failed.
#[derive(Debug)]
pub enum ModerationError {
    /// A ban's length is outside 1 to [`BAN_DAYS_MAX`] days.
    BanDays,
    /// A ban's reason is empty or longer than [`BAN_REASON_MAX`] characters.
    BanReason,
    /// A range ban's range is not an address or CIDR range (the parser's words).
    BanRange(String),
    /// A reader or IP ban must name a comment, a range ban a range.
    BanTarget,
    CommentNotFound,
    /// The comment's IP hash is past the retention period: its reader can still be banned.
    IpForgotten,
    /// No ban in force has that id.
    BanNotFound,
    Store(anyhow::Error),
}

impl From<anyhow::Error> for ModerationError {
    fn from(err: anyhow::Error) -> Self {
        Self::Store(err)
    }
}

impl From<ModError> for ModerationError {
    fn from(err: ModError) -> Self {
        match err {
            ModError::NotFound => Self::CommentNotFound,
            ModError::IpForgotten => Self::IpForgotten,
        }
    }
}

/// Applies an action to a comment; `None` once deleted.
pub async fn moderate(
    rules: &Rules,
    id: CommentId,
    action: ModerationAction,
    who: &str,
) -> Result<Option<QueueItem>, ModerationError> {
    let done = rules.store.moderate(id, action, who, rules.outbox.announce()).await??;
    rules.outbox.wake();
    Ok(done.item)
}

/// Bans a comment's reader or IP, or a range, after checking the request.
pub async fn ban(rules: &Rules, ban: NewBan, who: &str) -> Result<Ban, ModerationError> {
    if !(1..=BAN_DAYS_MAX).contains(&ban.days) {
        return Err(ModerationError::BanDays);
    }
    let reason = clean_line(&ban.reason);
    if reason.is_empty() || reason.chars().count() > BAN_REASON_MAX {
        return Err(ModerationError::BanReason);
    }
    let target = match (ban.kind, ban.comment, ban.range.as_deref()) {
        (BanKind::Range, None, Some(range)) => {
            let net: IpNet = range.parse().map_err(ModerationError::BanRange)?;
            BanTarget::Range(net.to_string())
        }
        (kind @ (BanKind::Reader | BanKind::Ip), Some(comment), None) => BanTarget::Comment(kind, comment),
        _ => return Err(ModerationError::BanTarget),
    };
    let until = rules.clock.now() + i64::from(ban.days) * 86_400;
    let cmd = NewBanCmd { target, until, reason, who: who.to_owned() };
    let stored = rules.store.add_ban(cmd).await??;
    rules.bans.reload(&rules.store).await?;
    Ok(stored.ban)
}

/// Lifts a ban in force.
pub async fn lift(rules: &Rules, id: i64, who: &str) -> Result<(), ModerationError> {
    if !rules.store.lift_ban(id, who).await? {
        return Err(ModerationError::BanNotFound);
    }
    rules.bans.reload(&rules.store).await?;
    Ok(())
}
