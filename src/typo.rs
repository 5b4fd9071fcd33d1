//! Typo capture for the whole page: one Ctrl/Cmd+Enter listener and, on touch screens, one selection
//! listener, however many widgets the page holds; the widget whose scope holds the selection takes it.

use std::cell::RefCell;
use std::rc::Rc;

use otklik_api::{InvalidTypo, TypoContext};
use wasm_bindgen::prelude::*;
use web_sys::{Element, HtmlElement, KeyboardEvent, Node, Range};

/// What the reader asked to report.
#[derive(Clone, Debug, PartialEq)]
pub enum Capture {
    Report(TypoContext),
    /// The selection is longer than a typo report takes.
    TooLong,
    /// Nothing (or nothing inside an article) is selected.
    Nothing,
}

/// A place in the viewport: (top, left) in CSS pixels.
pub type Spot = (i32, i32);

/// One widget's stake in the page's selection.
struct Target {
    host: HtmlElement,
    /// `data-otklik-typo-scope`, looked up at each use so that pages rendering late still work.
    selector: Option<String>,
    open: Rc<dyn Fn(Capture)>,
    /// Touch screens: where to show the report button, `None` to hide it.
    touch: Rc<dyn Fn(Option<Spot>)>,
}

thread_local! {
    static TARGETS: RefCell<Vec<Target>> = const { RefCell::new(Vec::new()) };
    /// The selection the touch button reports: taken when it appears, as tapping may clear the selection.
    static TOUCHED: RefCell<Option<Range>> = const { RefCell::new(None) };
    /// Where focus was before a dialog opened, to return it there.
    static FOCUS: RefCell<Option<HtmlElement>> = const { RefCell::new(None) };
}

/// Makes the widget at `host` take typo reports for its scope.
pub fn register(
    host: HtmlElement,
    selector: Option<String>,
    open: impl Fn(Capture) + 'static,
    touch: impl Fn(Option<Spot>) + 'static,
) {
    thread_local! {
        static LISTENING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    if !LISTENING.replace(true) {
        listen();
    }
    TARGETS.with_borrow_mut(|targets| {
        targets.push(Target { host, selector, open: Rc::new(open), touch: Rc::new(touch) });
    });
}

/// Stops the widget at `host` taking typo reports (it is being unmounted).
pub fn unregister(host: &HtmlElement) {
    TARGETS.with_borrow_mut(|targets| targets.retain(|t| &t.host != host));
}

/// Installs the page-wide listeners, once: Ctrl+Enter, and on touch screens the selection.
fn listen() {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else { return };
    let keydown = Closure::<dyn Fn(KeyboardEvent)>::new(on_keydown);
    let _ = doc.add_event_listener_with_callback("keydown", keydown.as_ref().unchecked_ref());
    keydown.forget();
    // Only touch screens show the report button; elsewhere selections need not be followed at all.
    if touch_screen() {
        let select = Closure::<dyn Fn()>::new(on_selection_change);
        let _ = doc.add_event_listener_with_callback("selectionchange", select.as_ref().unchecked_ref());
        select.forget();
    }
}

fn on_keydown(ev: KeyboardEvent) {
    if !crate::is_ctrl_enter(&ev) || ev.default_prevented() || from_editable(&ev) {
        return;
    }
    let range = selected_range();
    // The widget whose scope holds the selection; with nothing selected, the first one explains.
    let chosen = TARGETS.with_borrow(|targets| {
        let within = range.as_ref().and_then(|r| targets.iter().find(|t| holds(t, r)));
        within.map(|t| (t.open.clone(), true)).or_else(|| targets.first().map(|t| (t.open.clone(), false)))
    });
    let Some((open, within)) = chosen else { return };
    ev.prevent_default();
    open(match range {
        Some(range) if within => capture(&range),
        _ => Capture::Nothing,
    });
}

fn on_selection_change() {
    let range = selected_range();
    if range.is_some() {
        TOUCHED.set(range.clone());
    }
    let targets: Vec<_> = TARGETS.with_borrow(|targets| {
        targets.iter().map(|t| (t.touch.clone(), range.clone().filter(|r| holds(t, r)))).collect()
    });
    for (touch, range) in targets {
        touch(range.as_ref().map(|r| {
            let rect = r.get_bounding_client_rect();
            // Below the selection: the system's own selection menu usually sits above it.
            (rect.bottom() as i32 + 8, rect.left().max(8.0) as i32)
        }));
    }
}

/// The selection the touch button was shown for.
pub fn touched() -> Capture {
    TOUCHED.with_borrow(|range| range.as_ref().map_or(Capture::Nothing, capture))
}

/// Remembers where focus is, before a dialog takes it.
pub fn remember_focus() {
    let active = web_sys::window().and_then(|w| w.document()).and_then(|d| d.active_element());
    FOCUS.set(active.and_then(|e| e.dyn_into().ok()));
}

/// Returns focus where it was before the dialog opened.
pub fn restore_focus() {
    if let Some(el) = FOCUS.take() {
        let _ = el.focus();
    }
}

/// Whether the key was pressed in a place that edits text (there Ctrl+Enter keeps its own meaning, such
/// as sending a comment). The composed path looks into shadow roots, ours included.
fn from_editable(ev: &KeyboardEvent) -> bool {
    ev.composed_path().iter().any(|target| {
        target.dyn_ref::<HtmlElement>().is_some_and(|el| {
            el.is_content_editable() || matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
        })
    })
}

/// The page's selection, if it selects anything.
fn selected_range() -> Option<Range> {
    let selection = web_sys::window()?.get_selection().ok()??;
    if selection.is_collapsed() || selection.range_count() == 0 {
        return None;
    }
    selection.get_range_at(0).ok()
}

/// Where a widget takes reports from: its `data-otklik-typo-scope` element, else the page's `<article>`,
/// else the element just before the widget.
fn scope_of(target: &Target) -> Option<Element> {
    let doc = target.host.owner_document()?;
    match &target.selector {
        Some(selector) => doc.query_selector(selector).ok().flatten(),
        None => doc.query_selector("article").ok().flatten().or_else(|| target.host.previous_element_sibling()),
    }
}

/// Whether the selection lies in the widget's scope.
fn holds(target: &Target, range: &Range) -> bool {
    let (Some(scope), Ok(node)) = (scope_of(target), range.common_ancestor_container()) else { return false };
    scope.contains(Some(&node))
}

pub fn touch_screen() -> bool {
    web_sys::window().and_then(|w| w.match_media("(pointer: coarse)").ok().flatten()).is_some_and(|m| m.matches())
}

/// The selection with up to 60 characters of its own block's text on each side.
pub fn capture(range: &Range) -> Capture {
    let side = |node: Node, offset: u32, before: bool| -> Option<String> {
        let block = block_of(&node)?;
        let doc = node.owner_document()?;
        let part = doc.create_range().ok()?;
        if before {
            part.set_start(&block, 0).ok()?;
            part.set_end(&node, offset).ok()?;
        } else {
            part.set_start(&node, offset).ok()?;
            part.set_end(&block, block.child_nodes().length()).ok()?;
        }
        Some(part.to_string().into())
    };
    let (Ok(start), Ok(start_at), Ok(end), Ok(end_at)) =
        (range.start_container(), range.start_offset(), range.end_container(), range.end_offset())
    else {
        return Capture::Nothing;
    };
    let before = side(start, start_at, true).unwrap_or_default();
    let after = side(end, end_at, false).unwrap_or_default();
    match TypoContext::new(&before, &String::from(range.to_string()), &after) {
        Ok(context) => Capture::Report(context),
        Err(InvalidTypo::TooLong) => Capture::TooLong,
        Err(InvalidTypo::Empty) => Capture::Nothing,
    }
}

/// The nearest element around `node` that the page lays out as a block (a paragraph, a list item, a
/// heading, a cell): context never crosses into the next one.
fn block_of(node: &Node) -> Option<Element> {
    let window = web_sys::window()?;
    let mut current = if node.node_type() == Node::ELEMENT_NODE { node.clone() } else { node.parent_node()? };
    loop {
        let element = current.dyn_ref::<Element>()?;
        let display = window.get_computed_style(element).ok()??.get_property_value("display").ok()?;
        if !display.starts_with("inline") && display != "contents" {
            return Some(element.clone());
        }
        current = current.parent_node()?;
    }
}
