//! The widget's components, one per file.

pub mod reaction_bar;
pub mod reaction_button;
pub mod widget;
