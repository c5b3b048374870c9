//! infty's provenance in an XMP packet (ISO 16684-1), for files whose ImageDescription
//! already holds the input's own text (OME-XML, ImageJ's): one `rdf:Description` of
//! infty's namespace, added to the input's packet or to a packet of its own.

use quick_xml::escape::{escape, unescape};

/// How infty's description (namespace `urn:infty:provenance:1`) starts; it holds
/// nothing but the provenance.
const OPEN: &str = "<rdf:Description rdf:about=\"\" xmlns:infty=\"urn:infty:provenance:1\">";
const CLOSE: &str = "</rdf:Description>";
const RDF_END: &str = "</rdf:RDF>";

/// An XMP packet with nothing in it but its frame.
fn empty_packet() -> String {
    "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n\
     <x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\
     </rdf:RDF></x:xmpmeta>\n<?xpacket end=\"w\"?>"
        .to_string()
}

/// `packet` (or a new one) with `provenance` in infty's description.
pub fn with_provenance(packet: Option<&str>, provenance: &str) -> String {
    let mut packet = packet.filter(|p| p.contains(RDF_END)).map_or_else(empty_packet, str::to_string);
    let at = packet.rfind(RDF_END).expect("checked above");
    let ours = format!("{OPEN}<infty:provenance>{}</infty:provenance>{CLOSE}", escape(provenance));
    packet.insert_str(at, &ours);
    packet
}

/// The provenance infty put in `packet`, if any.
pub fn provenance(packet: &str) -> Option<String> {
    let (_, rest) = packet.split_once(OPEN)?;
    let text = rest.strip_prefix("<infty:provenance>")?.split_once("</infty:provenance>")?.0;
    unescape(text).ok().map(|t| t.into_owned())
}

/// `packet` without infty's description; none if nothing else was in it.
pub fn without_provenance(packet: &str) -> Option<String> {
    let kept = match packet.split_once(OPEN) {
        Some((before, rest)) => format!("{before}{}", rest.split_once(CLOSE).map_or("", |(_, after)| after)),
        None => packet.to_string(),
    };
    (kept != empty_packet()).then_some(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provenance_is_added_found_and_taken_out_again() {
        let json = r#"{"pipeline":"read a.tif ! crop --x 1 & more < 2"}"#;
        let own = with_provenance(None, json);
        assert!(own.contains("urn:infty:provenance:1") && own.contains("&amp; more &lt; 2"));
        assert_eq!(provenance(&own).as_deref(), Some(json));
        assert_eq!(without_provenance(&own), None);
        let theirs = empty_packet().replace(RDF_END, "<rdf:Description rdf:about=\"\"/></rdf:RDF>");
        let both = with_provenance(Some(&theirs), json);
        assert_eq!(provenance(&both).as_deref(), Some(json));
        assert_eq!(without_provenance(&both).as_deref(), Some(theirs.as_str()));
    }
}
