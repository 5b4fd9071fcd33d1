//! Moderators' actions shared by the console and the editors' API: validation, the store call, and
//! keeping the in-memory ban list current.

use axum::http::StatusCode;
use otklik_api::limits::{BAN_DAYS_MAX, BAN_REASON_MAX};
use otklik_api::{Ban, BanKind, CommentId, ErrorCode, ModerationAction, NewBan, QueueItem};

use crate::AppState;
use crate::client_ip::IpNet;
use crate::error::AppError;
use crate::store::{BanTarget, ModError, NewBanCmd};

/// Applies an action to a comment; `None` once deleted.
pub async fn moderate(
    state: &AppState,
    id: CommentId,
    action: ModerationAction,
    who: &str,
) -> Result<Option<QueueItem>, AppError> {
    let item = state.store.moderate(id, action, who, state.webhook.is_some()).await?.map_err(refusal)?;
    if let Some(hook) = &state.webhook {
        hook.wake();
    }
    Ok(item)
}

/// Bans a comment's reader or IP, or a range, after checking the request.
pub async fn ban(state: &AppState, ban: NewBan, who: &str) -> Result<Ban, AppError> {
    let invalid = |message: String| AppError::client(StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidBody, message);
    if !(1..=BAN_DAYS_MAX).contains(&ban.days) {
        return Err(invalid(format!("days must be from 1 to {BAN_DAYS_MAX}")));
    }
    let reason = crate::routes::clean_line(&ban.reason);
    if reason.is_empty() || reason.chars().count() > BAN_REASON_MAX {
        return Err(invalid(format!("give a reason of 1 to {BAN_REASON_MAX} characters")));
    }
    let target = match (ban.kind, ban.comment, ban.range.as_deref()) {
        (BanKind::Range, None, Some(range)) => {
            let net: IpNet = range.parse().map_err(invalid)?;
            BanTarget::Range(net.to_string())
        }
        (kind @ (BanKind::Reader | BanKind::Ip), Some(comment), None) => BanTarget::Comment(kind, comment),
        _ => return Err(invalid("a reader or ip ban names a comment; a range ban names a range".to_owned())),
    };
    let until = state.clock.now() + i64::from(ban.days) * 86_400;
    let cmd = NewBanCmd { target, until, reason, who: who.to_owned() };
    let stored = state.store.add_ban(cmd).await?.map_err(refusal)?;
    state.bans.reload(&state.store).await?;
    Ok(stored.ban)
}

/// Lifts a ban in force.
pub async fn lift(state: &AppState, id: i64, who: &str) -> Result<(), AppError> {
    if !state.store.lift_ban(id, who).await? {
        return Err(AppError::client(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "there is no ban in force with that id",
        ));
    }
    state.bans.reload(&state.store).await?;
    Ok(())
}

fn refusal(e: ModError) -> AppError {
    match e {
        ModError::NotFound => {
            AppError::client(StatusCode::NOT_FOUND, ErrorCode::CommentNotFound, "there is no such comment")
        }
        ModError::IpForgotten => AppError::client(
            StatusCode::CONFLICT,
            ErrorCode::InvalidBody,
            "this comment's IP address is no longer kept (past the retention period); ban its reader instead",
        ),
    }
}
