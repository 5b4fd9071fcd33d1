//! The parts a page loads only when the reader needs them: the comment thread (when the widget nears the
//! viewport) and the typo dialog (at the first report).
//!
//! In the shipped build each is a wasm module of its own: `make widget` compiles with `--cfg otklik_split`
//! and splits the bundle at these functions (see README "Widget weight"). Every other build (the widget
//! tests, `trunk serve`, clippy) keeps one module, where they are plain calls that cannot fail.
// The split points' generated loader imports are the widget's only unsafe code.
#![cfg_attr(otklik_split, allow(unsafe_code))]

use std::future::Future;

use leptos::prelude::*;
use otklik_api::ArticleId;

use crate::api::Api;
use crate::i18n::Lang;
use crate::typo::Capture;

/// A part's code could not be downloaded (offline, blocked). Asking again starts a fresh download.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkError;

#[cfg(otklik_split)]
impl From<leptos::wasm_split::SplitLoaderError> for ChunkError {
    fn from(_: leptos::wasm_split::SplitLoaderError) -> Self {
        ChunkError
    }
}

/// Declares a split point: `async fn $name(args) -> Result<AnyView, ChunkError>` whose body is in module
/// `$module` of the shipped build.
macro_rules! split_point {
    ($module:ident, $(#[$doc:meta])* fn $name:ident($arg:ident: $args:ty) $body:block) => {
        $(#[$doc])*
        #[cfg(otklik_split)]
        #[leptos::wasm_split::wasm_split($module, wasm_split_path = leptos::wasm_split, fallible)]
        pub fn $name($arg: $args) -> Result<AnyView, ChunkError> {
            Ok($body)
        }

        $(#[$doc])*
        #[cfg(not(otklik_split))]
        pub async fn $name($arg: $args) -> Result<AnyView, ChunkError> {
            Ok($body)
        }
    };
}

/// What the thread needs from the widget.
pub struct ThreadArgs {
    pub api: Api,
    pub article: ArticleId,
    pub lang: Lang,
    /// The first page's request, sent when the load began.
    pub first: js_sys::Promise,
}

split_point!(
    thread,
    /// The comment thread: list, items, forms.
    fn thread(a: ThreadArgs) {
        use crate::components::comment_thread::CommentThread;
        view! { <CommentThread api=a.api article=a.article lang=a.lang first=a.first /> }.into_any()
    }
);

/// What the typo dialog needs from the widget.
pub struct TypoArgs {
    pub api: Api,
    pub article: ArticleId,
    pub lang: Lang,
    /// Set by the widget at each report; the dialog opens for it.
    pub request: RwSignal<Option<Capture>>,
}

split_point!(
    typo,
    /// The typo report dialog.
    fn typo(a: TypoArgs) {
        use crate::components::typo_reporter::TypoReporter;
        view! { <TypoReporter api=a.api article=a.article lang=a.lang request=a.request /> }.into_any()
    }
);

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    Loading,
    Failed,
    Ready,
}

/// One deferred part's place in a component: its load state, and its view once loaded.
#[derive(Clone, Copy)]
pub struct Part {
    state: RwSignal<State>,
    view: RwSignal<Option<AnyView>, LocalStorage>,
    owner: StoredValue<Option<Owner>, LocalStorage>,
}

impl Part {
    /// A part of the component being built: what it loads will belong to that component.
    pub fn new() -> Self {
        Self {
            state: RwSignal::new(State::Idle),
            view: RwSignal::new_local(None),
            owner: StoredValue::new_local(Owner::current()),
        }
    }

    /// Starts loading (again, after a failure); does nothing while a load runs or once one succeeded.
    pub fn load<F: Future<Output = Result<AnyView, ChunkError>> + 'static>(self, start: impl FnOnce() -> F + 'static) {
        if matches!(self.state.get_untracked(), State::Loading | State::Ready) {
            return;
        }
        self.state.set(State::Loading);
        let task = async move {
            match start().await {
                Ok(view) => {
                    self.view.set(Some(view));
                    self.state.set(State::Ready);
                }
                Err(ChunkError) => self.state.set(State::Failed),
            }
        };
        // Loads start from page events (scrolling, a key press), where no component is current: the part's
        // components must still belong to this one, for their context and their cleanup.
        let spawn = move || untrack(|| leptos::task::spawn_local_scoped(task));
        match self.owner.get_value() {
            Some(owner) => owner.with(spawn),
            None => spawn(),
        }
    }

    pub fn ready(self) -> bool {
        self.state.get() == State::Ready
    }

    pub fn failed(self) -> bool {
        self.state.get() == State::Failed
    }

    /// The loaded view, placed once.
    pub fn view(self) -> impl IntoView {
        move || {
            self.view.track();
            self.view.try_update_untracked(Option::take).flatten()
        }
    }
}
