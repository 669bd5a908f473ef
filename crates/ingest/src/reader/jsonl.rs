//! JSON Lines: one object per line; keys are the headers (in order of first appearance).
//!
//! Lines are parsed without building a JSON tree: keys and string values are borrowed from the
//! line where they have no escapes, and go straight into a [`TextRows`] buffer. A large file is
//! cut into blocks of whole lines that are parsed on every core ([`JsonlBlocks`]).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::path::Path;

use serde::de::{self, Deserializer as _, MapAccess, SeqAccess, Visitor};

use super::{RawCell, RawSheet, ReadOptions, Reader, TextRows};
use crate::error::{Error, Result};

pub struct JsonlReader;

impl Reader for JsonlReader {
    fn extensions(&self) -> &'static [&'static str] {
        &["jsonl", "ndjson"]
    }

    fn read(&self, path: &Path, bytes: &[u8], opts: &ReadOptions) -> Result<Vec<RawSheet>> {
        let (text, _) = super::csv::decode(path, bytes, opts.encoding.as_deref())?;
        let block = parse_block(path, text.as_bytes(), 0)?;
        Ok(vec![block.to_sheet(super::file_sheet_name(path))])
    }
}

/// Parsed lines: the keys seen (in order of first appearance) and one row per line, cell `i`
/// holding the value of key `i` (blank lines are empty rows, so row numbers stay line numbers).
#[derive(Debug)]
pub struct JsonBlock {
    pub keys: Vec<String>,
    pub rows: TextRows,
}

impl JsonBlock {
    /// As a sheet whose first row is the keys.
    pub fn to_sheet(&self, name: String) -> RawSheet {
        let mut sheet = self.rows.to_sheet(name);
        sheet.rows.insert(
            0,
            self.keys.iter().map(|k| RawCell::Text(k.clone())).collect(),
        );
        sheet
    }
}

/// A JSON value as one cell.
enum Scalar<'de> {
    Null,
    Str(Cow<'de, str>),
    Int(i64),
    UInt(u64),
    Float(f64),
    Bool(bool),
    /// A nested array or object, kept as its JSON text.
    Json(String),
}

impl<'de> de::Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> std::result::Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> std::result::Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> std::result::Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v)))
    }
    fn visit_i64<E>(self, v: i64) -> std::result::Result<Self::Value, E> {
        Ok(Scalar::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> std::result::Result<Self::Value, E> {
        Ok(Scalar::UInt(v))
    }
    fn visit_f64<E>(self, v: f64) -> std::result::Result<Self::Value, E> {
        Ok(Scalar::Float(v))
    }
    fn visit_bool<E>(self, v: bool) -> std::result::Result<Self::Value, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_unit<E>(self) -> std::result::Result<Self::Value, E> {
        Ok(Scalar::Null)
    }
    fn visit_none<E>(self) -> std::result::Result<Self::Value, E> {
        Ok(Scalar::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> std::result::Result<Self::Value, A::Error> {
        let v: serde_json::Value =
            de::Deserialize::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        Ok(Scalar::Json(v.to_string()))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> std::result::Result<Self::Value, A::Error> {
        let v: serde_json::Value =
            de::Deserialize::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(Scalar::Json(v.to_string()))
    }
}

/// Puts one line's values into `slots` by key position.
struct LineVisitor<'a, 'de> {
    keys: &'a mut Keys,
    slots: &'a mut Vec<Scalar<'de>>,
}

#[derive(Default)]
struct Keys {
    names: Vec<String>,
    index: std::collections::HashMap<String, usize>,
}

impl Keys {
    /// The position of `key`; `guess` (the position after the previous key) is tried first,
    /// since lines nearly always repeat the same key order.
    fn position(&mut self, key: &str, guess: usize) -> usize {
        if self.names.get(guess).is_some_and(|k| k == key) {
            return guess;
        }
        if let Some(&i) = self.index.get(key) {
            return i;
        }
        self.names.push(key.to_string());
        self.index.insert(key.to_string(), self.names.len() - 1);
        self.names.len() - 1
    }
}

impl<'de> Visitor<'de> for LineVisitor<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        let mut next = 0;
        while let Some(key) = map.next_key::<Scalar<'de>>()? {
            let Scalar::Str(key) = key else {
                return Err(de::Error::custom("a key that is not a string"));
            };
            let i = self.keys.position(&key, next);
            let value: Scalar<'de> = map.next_value()?;
            if self.slots.len() <= i {
                self.slots.resize_with(i + 1, || Scalar::Null);
            }
            self.slots[i] = value;
            next = i + 1;
        }
        Ok(())
    }
}

/// Parse whole lines; `first_line` (0-based) is the line number of the block's first line in
/// its file, for messages.
pub fn parse_block(path: &Path, bytes: &[u8], first_line: usize) -> Result<JsonBlock> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut keys = Keys::default();
    let mut rows = TextRows::with_capacity(bytes.len() / 200 + 1, bytes.len());
    let mut slots: Vec<Scalar> = Vec::new();
    let lines = LineSplit { rest: bytes };
    for (n, line) in (first_line + 1..).zip(lines) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if !line.iter().all(u8::is_ascii_whitespace) {
            let mut de = serde_json::Deserializer::from_slice(line);
            de.deserialize_map(LineVisitor {
                keys: &mut keys,
                slots: &mut slots,
            })
            .and_then(|()| de.end())
            .map_err(|e| Error::File {
                path: path.to_path_buf(),
                message: format!("line {n}: not a JSON object: {e}",),
            })?;
        }
        for slot in slots.iter_mut() {
            let value = std::mem::replace(slot, Scalar::Null);
            rows.push_cell_with(|buf| match value {
                Scalar::Null => {}
                Scalar::Str(s) => buf.push_str(&s),
                Scalar::Int(v) => {
                    let _ = write!(buf, "{v}");
                }
                Scalar::UInt(v) => {
                    let _ = write!(buf, "{v}");
                }
                Scalar::Float(v) => {
                    let _ = write!(buf, "{v}");
                }
                Scalar::Bool(v) => buf.push_str(if v { "true" } else { "false" }),
                Scalar::Json(s) => buf.push_str(&s),
            });
        }
        rows.end_row();
    }
    Ok(JsonBlock {
        keys: keys.names,
        rows,
    })
}

/// Lines split at `\n` (a final newline ends the last line; it does not start an empty one).
struct LineSplit<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for LineSplit<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        match memchr::memchr(b'\n', self.rest) {
            Some(p) => {
                let line = &self.rest[..p];
                self.rest = &self.rest[p + 1..];
                Some(line)
            }
            None => Some(std::mem::take(&mut self.rest)),
        }
    }
}

/// Bytes per block of lines handed to a parser thread.
const BLOCK_BYTES: usize = 8 << 20;

/// A JSONL file as blocks of whole lines, each with the 0-based number of its first line.
pub struct JsonlBlocks {
    file: std::io::BufReader<std::fs::File>,
    path: std::path::PathBuf,
    carry: Vec<u8>,
    line: usize,
    done: bool,
}

/// Open `path` for streaming, or `None` when it is not UTF-8 (JSON's encoding; anything else is
/// read whole and decoded).
pub fn jsonl_blocks(path: &Path, opts: &ReadOptions) -> Result<Option<JsonlBlocks>> {
    use std::io::Read;
    let io = |e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    };
    if opts
        .encoding
        .as_deref()
        .is_some_and(|e| !e.eq_ignore_ascii_case("utf-8") && !e.eq_ignore_ascii_case("utf8"))
    {
        return Ok(None);
    }
    let mut file =
        std::io::BufReader::with_capacity(1 << 16, std::fs::File::open(path).map_err(io)?);
    let mut head = Vec::with_capacity(1 << 20);
    (&mut file)
        .take(1 << 20)
        .read_to_end(&mut head)
        .map_err(io)?;
    if !super::csv::prefix_is_utf8(&head) {
        return Ok(None);
    }
    Ok(Some(JsonlBlocks {
        file,
        path: path.to_path_buf(),
        carry: head,
        line: 0,
        done: false,
    }))
}

impl Iterator for JsonlBlocks {
    /// (bytes of whole lines, 0-based number of the first line)
    type Item = Result<(Vec<u8>, usize)>;

    fn next(&mut self) -> Option<Self::Item> {
        use std::io::Read;
        if self.done {
            return None;
        }
        let mut block = std::mem::take(&mut self.carry);
        if block.len() < BLOCK_BYTES {
            let want = (BLOCK_BYTES - block.len()) as u64;
            if let Err(e) = (&mut self.file).take(want).read_to_end(&mut block) {
                self.done = true;
                return Some(Err(Error::Io {
                    path: self.path.clone(),
                    source: e,
                }));
            }
        }
        if block.len() < BLOCK_BYTES {
            self.done = true; // the rest of the file
        } else {
            // Cut after the last newline; the partial line starts the next block. A block
            // without any newline is one long line: keep reading until it ends.
            match memchr::memrchr(b'\n', &block) {
                Some(p) => self.carry = block.split_off(p + 1),
                None => {
                    let mut rest = Vec::new();
                    let mut buf = [0u8; 1 << 16];
                    loop {
                        match self.file.read(&mut buf) {
                            Ok(0) => {
                                self.done = true;
                                break;
                            }
                            Ok(k) => {
                                if let Some(p) = memchr::memchr(b'\n', &buf[..k]) {
                                    block.extend_from_slice(&buf[..=p]);
                                    rest.extend_from_slice(&buf[p + 1..k]);
                                    break;
                                }
                                block.extend_from_slice(&buf[..k]);
                            }
                            Err(e) => {
                                self.done = true;
                                return Some(Err(Error::Io {
                                    path: self.path.clone(),
                                    source: e,
                                }));
                            }
                        }
                    }
                    self.carry = rest;
                }
            }
        }
        if block.is_empty() {
            self.done = true;
            return None;
        }
        let first = self.line;
        self.line += memchr::memchr_iter(b'\n', &block).count();
        if !block.ends_with(b"\n") {
            self.line += 1;
        }
        Some(Ok((block, first)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::Rows;

    #[test]
    fn keys_in_order_of_first_appearance_values_as_text() {
        let text =
            "{\"a\":\"x\",\"b\":1}\n\n{\"c\":true,\"a\":\"y\\u00e9\",\"d\":[1,2],\"b\":null}\r\n";
        let block = parse_block(Path::new("t.jsonl"), text.as_bytes(), 0).unwrap();
        assert_eq!(block.keys, vec!["a", "b", "c", "d"]);
        assert_eq!(block.rows.row_count(), 3);
        let cells = |r| {
            (0..4)
                .map(|c| block.rows.cell(r, c).display())
                .collect::<Vec<_>>()
        };
        assert_eq!(cells(0), vec!["x", "1", "", ""]);
        assert!(block.rows.row_is_empty(1));
        assert_eq!(cells(2), vec!["yé", "", "true", "[1,2]"]);
    }

    #[test]
    fn a_bad_line_names_its_line_number() {
        let err = parse_block(Path::new("t.jsonl"), b"{\"a\":1}\n[1]\n", 10).unwrap_err();
        assert!(err.to_string().contains("line 12"), "{err}");
    }

    #[test]
    fn blocks_end_on_whole_lines_and_count_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.jsonl");
        let line = format!("{{\"k\":\"{}\"}}\n", "x".repeat(1000));
        std::fs::write(&p, line.repeat(20_000)).unwrap();
        let blocks: Vec<_> = jsonl_blocks(&p, &ReadOptions::default())
            .unwrap()
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(blocks.len() > 1);
        let mut expected = 0;
        for (b, first) in &blocks {
            assert_eq!(*first, expected);
            assert!(b.ends_with(b"\n"));
            expected += b.iter().filter(|c| **c == b'\n').count();
        }
        assert_eq!(expected, 20_000);
    }
}
