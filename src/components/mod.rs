//! The widget's components, one per file.

pub mod comment_form;
pub mod comment_item;
pub mod comment_thread;
pub mod reaction_bar;
pub mod reaction_button;
pub mod thread_slot;
pub mod typo_hint;
pub mod typo_reporter;
pub mod typo_slot;
pub mod widget;
