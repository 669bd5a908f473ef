//! The merged regions of an xlsx worksheet, found by scanning the sheet's XML for its
//! `<mergeCell ref="…">` elements. calamine parses the whole sheet again to find them (the
//! elements come after every row): a quarter of a 100,000-row roster's import. Inflating the
//! part and searching its bytes costs a fraction of that. `None` when the workbook's parts
//! cannot be followed (the caller then asks calamine).

use std::io::{Cursor, Read};

use memchr::memmem;
use quick_xml::Reader as XmlReader;
use quick_xml::events::Event;

/// (first row, first column, last row, last column), 0-based, of each merged region of the
/// worksheet named `sheet`.
pub(crate) fn merged_regions(
    bytes: &[u8],
    sheet: &str,
) -> Option<Vec<(usize, usize, usize, usize)>> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    let rid = sheet_rid(&read_part(&mut zip, "xl/workbook.xml")?, sheet)?;
    let target = rel_target(&read_part(&mut zip, "xl/_rels/workbook.xml.rels")?, &rid)?;
    let path = match target.strip_prefix('/') {
        Some(absolute) => absolute.to_string(),
        None => format!("xl/{target}"),
    };
    let mut part = zip.by_name(&path).ok()?;
    let mut out = Vec::new();
    // Streamed in blocks; a block keeps the last bytes of the one before, so that an element
    // cut by the block edge is found whole.
    const KEEP: usize = 256;
    let finder = memmem::Finder::new(b"mergeCell ");
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
    let mut block = vec![0u8; 1 << 20];
    loop {
        let n = part.read(&mut block).ok()?;
        buf.extend_from_slice(&block[..n]);
        let mut consumed = 0;
        let mut at = 0;
        while let Some(i) = finder.find(&buf[at..]) {
            let start = at + i;
            let Some(end) = memchr::memchr(b'>', &buf[start..]).map(|e| start + e) else {
                break; // the element goes on in the next block
            };
            // `<mergeCell ` or a prefixed `<x:mergeCell `, not `<mergeCells `.
            if start > 0 && matches!(buf[start - 1], b'<' | b':') {
                out.push(parse_ref(attr(&buf[start..end], b"ref")?)?);
            }
            at = end;
            consumed = end;
        }
        if n == 0 {
            break;
        }
        let keep_from = buf.len().saturating_sub(KEEP).max(consumed);
        buf.drain(..keep_from);
    }
    Some(out)
}

fn read_part(zip: &mut zip::ZipArchive<Cursor<&[u8]>>, name: &str) -> Option<String> {
    let mut s = String::new();
    zip.by_name(name).ok()?.read_to_string(&mut s).ok()?;
    Some(s)
}

/// The relationship id of the sheet named `name` in `xl/workbook.xml`.
fn sheet_rid(workbook: &str, name: &str) -> Option<String> {
    find_attr(workbook, "sheet", ("name", name), "id")
}

/// The target of relationship `rid` in `xl/_rels/workbook.xml.rels`.
fn rel_target(rels: &str, rid: &str) -> Option<String> {
    find_attr(rels, "Relationship", ("Id", rid), "Target")
}

/// Attribute `want` of the first `element` whose attribute `key.0` is `key.1` (local names,
/// so a prefixed `r:id` is `id`).
fn find_attr(xml: &str, element: &str, key: (&str, &str), want: &str) -> Option<String> {
    let mut reader = XmlReader::from_str(xml);
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == element => {
                let (mut matched, mut found) = (false, None);
                for a in e.attributes().flatten() {
                    let value = a
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .ok()?;
                    let name = a.key.local_name();
                    if name.as_ref() == key.0 {
                        matched = value == key.1;
                    }
                    if name.as_ref() == want {
                        found = Some(value.into_owned());
                    }
                }
                if matched {
                    return found;
                }
            }
            Event::Eof => return None,
            _ => {}
        }
    }
}

/// The value of attribute `name` in an element's bytes.
fn attr<'a>(element: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let mut at = 0;
    while let Some(i) = memmem::find(&element[at..], name) {
        let start = at + i;
        let rest = &element[start + name.len()..];
        if element[start - 1].is_ascii_whitespace() && rest.starts_with(b"=\"") {
            let value = &rest[2..];
            return memchr::memchr(b'"', value).map(|e| &value[..e]);
        }
        at = start + name.len();
    }
    None
}

/// `B2:C4` (or a single cell `B2`) as 0-based (first row, first column, last row, last column).
fn parse_ref(r: &[u8]) -> Option<(usize, usize, usize, usize)> {
    let text = std::str::from_utf8(r).ok()?;
    let (a, b) = text.split_once(':').unwrap_or((text, text));
    let (r0, c0) = cell(a)?;
    let (r1, c1) = cell(b)?;
    Some((r0, c0, r1, c1))
}

/// `AB12` → (11, 27).
fn cell(a1: &str) -> Option<(usize, usize)> {
    let a1 = a1.trim().replace('$', "");
    let split = a1.find(|c: char| c.is_ascii_digit())?;
    let (letters, digits) = a1.split_at(split);
    if letters.is_empty() {
        return None;
    }
    let mut col = 0usize;
    for c in letters.chars() {
        if !c.is_ascii_alphabetic() {
            return None;
        }
        col = col * 26 + (c.to_ascii_uppercase() as usize - 'A' as usize + 1);
    }
    let row: usize = digits.parse().ok()?;
    Some((row.checked_sub(1)?, col - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        assert_eq!(parse_ref(b"B2:C4"), Some((1, 1, 3, 2)));
        assert_eq!(parse_ref(b"AB12"), Some((11, 27, 11, 27)));
        assert_eq!(parse_ref(b"$A$1:$A$3"), Some((0, 0, 2, 0)));
        assert_eq!(parse_ref(b"12"), None);
        assert_eq!(
            attr(b"mergeCell ref=\"A1:B2\"/", b"ref"),
            Some(&b"A1:B2"[..])
        );
        assert_eq!(
            attr(b"mergeCell xref=\"Z9\" ref=\"A1\"", b"ref"),
            Some(&b"A1"[..])
        );
    }

    /// The same regions as calamine finds: a built roster with a branch merged down, and a
    /// workbook with an `&` in a sheet name and merges past the first megabyte of its XML.
    #[test]
    fn as_calamine_finds_them() {
        use calamine::Reader as _;
        use rust_xlsxwriter::{Format, Workbook};
        let mut wb = Workbook::new();
        let long = wb.add_worksheet();
        long.set_name("名册&汇总").unwrap();
        for r in 0..40_000u32 {
            long.write_string(r, 0, format!("成员{r}")).unwrap();
            long.write_string(r, 1, "第一党支部").unwrap();
        }
        let f = Format::new();
        long.merge_range(0, 2, 1, 3, "标题", &f).unwrap();
        long.merge_range(39_990, 2, 39_999, 2, "支部", &f).unwrap();
        let short = wb.add_worksheet();
        short.set_name("Sheet2").unwrap();
        short.merge_range(1, 1, 3, 2, "x", &f).unwrap();
        let made = wb.save_to_buffer().unwrap();
        let built = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/real/built/roster_merged.xlsx");
        let mut seen = 0;
        for bytes in [made, std::fs::read(built).unwrap()] {
            let mut wb: calamine::Xlsx<_> =
                calamine::open_workbook_from_rs(Cursor::new(&bytes[..])).unwrap();
            for name in wb.sheet_names() {
                let mut theirs: Vec<_> = wb
                    .merge_cells_by_sheet_name(&name)
                    .unwrap()
                    .iter()
                    .map(|d| {
                        (
                            d.start.0 as usize,
                            d.start.1 as usize,
                            d.end.0 as usize,
                            d.end.1 as usize,
                        )
                    })
                    .collect();
                let mut ours = merged_regions(&bytes, &name).unwrap();
                theirs.sort();
                ours.sort();
                assert_eq!(ours, theirs, "{name}");
                seen += ours.len();
            }
        }
        assert!(seen >= 4, "{seen} merged regions");
    }
}
