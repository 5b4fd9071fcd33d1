//! The store's moderator accounts and console sessions.

use async_trait::async_trait;

/// Moderators' accounts and console sessions.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Whether any moderator account exists (the console exists only then, or with the admin token).
    async fn moderators_exist(&self) -> anyhow::Result<bool>;

    /// Adds a moderator with an Argon2 PHC hash; `false` if the name is taken.
    async fn add_moderator(&self, name: &str, password_hash: &str) -> anyhow::Result<bool>;

    /// Removes a moderator and ends their sessions; `false` if there is none of that name.
    async fn remove_moderator(&self, name: &str) -> anyhow::Result<bool>;

    /// A moderator's id and password hash.
    async fn moderator_password(&self, name: &str) -> anyhow::Result<Option<(i64, String)>>;

    /// Stores a session (by the SHA-256 of its token) and records the sign-in.
    async fn start_session(
        &self,
        moderator: i64,
        token_hash: [u8; 32],
        csrf: String,
        expires: i64,
    ) -> anyhow::Result<()>;

    /// The unexpired session with this token hash.
    async fn session(&self, token_hash: [u8; 32]) -> anyhow::Result<Option<Session>>;

    async fn end_session(&self, token_hash: [u8; 32]) -> anyhow::Result<()>;
}

/// A signed-in moderator's session.
#[derive(Clone, Debug)]
pub struct Session {
    pub moderator: String,
    /// The token every form that changes something must carry.
    pub csrf: String,
    pub expires: i64,
}
