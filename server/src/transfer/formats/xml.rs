//! The XML the Disqus and WordPress readers walk: elements by local name (so WXR 1.0, 1.1 and 1.2, which
//! differ in their namespace, read alike) and their text, streamed. A document that declares entities is
//! refused before anything expands them (the "billion laughs"), and so is any entity besides XML's five.

use anyhow::{Context as _, bail};
use quick_xml::events::Event;

use crate::transfer::input::Capped;

/// What the walker reports, `depth` 0 being the root element.
pub enum Node<'a> {
    Open {
        depth: usize,
        name: &'a str,
        attributes: &'a [(String, String)],
    },
    /// An element ends, with the text it held directly (entities decoded, CDATA included).
    Close {
        depth: usize,
        name: &'a str,
        text: &'a str,
    },
}

/// Walks the document, which must have `root` as its root element (`what` names the format in errors).
pub fn walk(
    input: Capped,
    root: &str,
    what: &str,
    mut on: impl FnMut(Node<'_>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut reader = quick_xml::Reader::from_reader(input);
    reader.config_mut().check_end_names = true;
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut names: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut attributes: Vec<(String, String)> = Vec::new();
    let mut seen_root = false;
    loop {
        buf.clear();
        let at = reader.buffer_position();
        let event = reader.read_event_into(&mut buf).map_err(|err| {
            // Every syntax error quick-xml reports is markup left open at the end of the input.
            let cut = matches!(err, quick_xml::Error::Syntax(ref e) if !matches!(e, quick_xml::errors::SyntaxError::InvalidBangMarkup));
            let err = anyhow::Error::new(err);
            if !seen_root {
                err.context(format!("this is not {what}: it does not begin as XML"))
            } else if cut {
                err.context("the file ends too early: it is truncated")
            } else {
                err.context(format!("reading the XML at byte {at}"))
            }
        })?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let name = e.local_name().as_ref().to_owned();
                if !seen_root {
                    if name != root {
                        bail!("this is not {what}: its root element is <{name}>, not <{root}>");
                    }
                    seen_root = true;
                }
                attributes.clear();
                for attribute in e.attributes() {
                    let attribute = attribute?;
                    let key = attribute.key.local_name().as_ref().to_owned();
                    let value = attribute.normalized_value(quick_xml::XmlVersion::Implicit1_0)?.into_owned();
                    attributes.push((key, value));
                }
                text.clear();
                let empty = matches!(event, Event::Empty(_));
                on(Node::Open { depth: names.len(), name: &name, attributes: &attributes })?;
                if empty {
                    on(Node::Close { depth: names.len(), name: &name, text: "" })?;
                } else {
                    names.push(name);
                }
            }
            Event::End(_) => {
                let name = names.pop().context("an element closes that was never opened")?;
                on(Node::Close { depth: names.len(), name: &name, text: &text })?;
                text.clear();
            }
            Event::Text(t) => text.push_str(&t.xml10_content()),
            Event::CData(c) => text.push_str(&c.into_inner()),
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref()? {
                    Some(c) => c,
                    None => match &*r {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        other => bail!("the file uses an entity it does not define (&{other};)"),
                    },
                };
                text.push(c);
            }
            Event::DocType(d) => {
                if d.to_ascii_uppercase().contains("<!ENTITY") {
                    bail!("the file declares XML entities, which exports never do (an \"XML bomb\"?): refused");
                }
            }
            Event::Eof => {
                if !seen_root {
                    bail!("this is not {what}: the file holds no XML element");
                }
                if let Some(open) = names.last() {
                    bail!("the file ends inside <{open}>: it is truncated");
                }
                return Ok(());
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
        reader.get_mut().reset();
    }
}

/// The value of the attribute whose local name is `name`.
pub fn attribute<'a>(attributes: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attributes.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}
