//! CSV in UTF-8 (with or without BOM), UTF-16 with BOM, GBK/GB18030 and the other legacy
//! encodings (detected, or forced with `--encoding`); records end in `\r\n`, `\n` or `\r`.

use std::path::Path;

use encoding_rs::{Encoding, GB18030, UTF_8};

use super::{RawSheet, ReadOptions, Reader, TextRows};
use crate::error::{Error, Result};

pub struct CsvReader;

/// Decode bytes: a BOM wins, then a forced encoding, then valid UTF-8, else the encoding
/// [`detect`] finds (GB18030 for GBK, which is what Excel on Chinese Windows writes).
pub fn decode<'a>(
    path: &Path,
    bytes: &'a [u8],
    forced: Option<&str>,
) -> Result<(std::borrow::Cow<'a, str>, &'static str)> {
    if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        let (text, had_errors) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        if had_errors {
            return Err(Error::File {
                path: path.to_path_buf(),
                message: format!("bytes that are not valid {} after its BOM", enc.name()),
            });
        }
        return Ok((text, enc.name()));
    }
    let enc = match forced {
        Some(label) => encoding_for_label(path, label)?,
        None if std::str::from_utf8(bytes).is_ok() => UTF_8,
        None => detect(bytes),
    };
    let (text, _, had_errors) = enc.decode(bytes);
    if had_errors {
        return Err(Error::File {
            path: path.to_path_buf(),
            message: format!(
                "the file is not valid {} text; force another with --encoding",
                enc.name()
            ),
        });
    }
    Ok((text, enc.name()))
}

impl Reader for CsvReader {
    fn extensions(&self) -> &'static [&'static str] {
        &["csv", "txt", "tsv"]
    }

    fn read(&self, path: &Path, bytes: &[u8], opts: &ReadOptions) -> Result<Vec<RawSheet>> {
        let (text, encoding) = decode(path, bytes, opts.encoding.as_deref())?;
        let rows = parse_records(path, &text, delimiter(path), 0)?;
        let mut sheet = rows.to_sheet(super::file_sheet_name(path));
        sheet.encoding = Some(encoding);
        Ok(vec![sheet])
    }
}

fn delimiter(path: &Path) -> u8 {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("tsv"))
    {
        b'\t'
    } else {
        b','
    }
}

/// Split decoded CSV text into rows of cells: fields separated by `delim`, records by a newline
/// outside quotes (`\r\n` or `\n`; `\r` in a text without any `\n`), `"…"` quoting with `""`
/// for a quote. Every record is a row, a blank line an empty one, so that row `r` is record
/// `first_record + r` of the file. A quote inside an unquoted field, or text after a closing
/// quote, is kept as it is (what Excel does); a quote that is never closed is an error naming
/// its line.
pub fn parse_records(path: &Path, text: &str, delim: u8, first_record: usize) -> Result<TextRows> {
    let b = text.as_bytes();
    // Records end in `\n` (a `\r` before it is dropped) — or, in a text with no `\n` at all
    // (old Mac "CSV (Macintosh)"), in `\r`. Decided once, so that the common case scans for two
    // bytes, not three.
    let newline = if memchr::memchr(b'\n', b).is_none() && memchr::memchr(b'\r', b).is_some() {
        b'\r'
    } else {
        b'\n'
    };
    // The end of the field starting at `from`, and where its text ends (before a `\r\n`'s `\r`).
    let field_end = |from: usize| -> (usize, usize) {
        let end = memchr::memchr2(delim, newline, &b[from..]).map_or(b.len(), |p| from + p);
        let text_end = if newline == b'\n'
            && end < b.len()
            && b[end] == b'\n'
            && end > from
            && b[end - 1] == b'\r'
        {
            end - 1
        } else {
            end
        };
        (end, text_end)
    };
    let mut rows = TextRows::with_capacity(b.len() / 100 + 1, b.len());
    let mut i = 0;
    while i < b.len() {
        // One record: fields until a newline outside quotes (or the end).
        loop {
            if b.get(i) == Some(&b'"') {
                let open_at = i;
                i += 1;
                let mut closed = false;
                let mut pieces: Vec<std::ops::Range<usize>> = Vec::new();
                while let Some(q) = memchr::memchr(b'"', &b[i..]) {
                    pieces.push(i..i + q);
                    i += q + 1;
                    if b.get(i) == Some(&b'"') {
                        pieces.push(i..i + 1);
                        i += 1;
                    } else {
                        closed = true;
                        break;
                    }
                }
                if !closed {
                    let line =
                        1 + first_record + memchr::memchr_iter(newline, &b[..open_at]).count();
                    return Err(Error::File {
                        path: path.to_path_buf(),
                        message: format!(
                            "line {line}: a quoted field is never closed (a \" without its closing \")"
                        ),
                    });
                }
                // Text between the closing quote and the delimiter is kept.
                let (end, text_end) = field_end(i);
                pieces.push(i..text_end);
                i = end;
                rows.push_cell_with(|buf| {
                    for p in pieces {
                        buf.push_str(&text[p]);
                    }
                });
            } else {
                let (end, text_end) = field_end(i);
                rows.push_cell_with(|buf| buf.push_str(&text[i..text_end]));
                i = end;
            }
            match b.get(i) {
                Some(&c) if c == delim => i += 1,
                Some(_) => {
                    i += 1; // the newline
                    break;
                }
                None => break,
            }
        }
        rows.end_row();
    }
    Ok(rows)
}

/// Bytes per block of records handed to a parser thread.
const BLOCK_BYTES: usize = 4 << 20;

/// A CSV file as blocks of whole records, raw bytes still in the file's encoding. Records are
/// found by scanning for newlines outside quotes; in UTF-8, GBK/GB18030 and the other
/// ASCII-compatible encodings a byte below 0x40 is always that ASCII character, so the scan is
/// right before decoding, and decoding and parsing run on every core.
pub struct CsvBlocks {
    file: std::io::BufReader<std::fs::File>,
    format: CsvFormat,
    carry: Vec<u8>,
    records: usize,
    done: bool,
}

/// Open `path` for streaming: the encoding from a BOM, `--encoding`, or the first megabyte
/// (valid UTF-8, else GB18030). `None` for an encoding the block scan cannot handle (UTF-16),
/// which is then read whole.
pub fn csv_blocks(path: &Path, opts: &ReadOptions) -> Result<Option<CsvBlocks>> {
    use std::io::Read;
    let io = |e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let mut file =
        std::io::BufReader::with_capacity(1 << 16, std::fs::File::open(path).map_err(io)?);
    let mut head = Vec::with_capacity(BLOCK_BYTES);
    (&mut file)
        .take(1 << 20)
        .read_to_end(&mut head)
        .map_err(io)?;
    let encoding = match Encoding::for_bom(&head) {
        Some((enc, bom)) => {
            head.drain(..bom);
            enc
        }
        None => match opts.encoding.as_deref() {
            Some(label) => encoding_for_label(path, label)?,
            None if prefix_is_utf8(&head) => UTF_8,
            None => detect(&head),
        },
    };
    // Blocks are cut at `\n`: a file whose records end in a lone `\r` (old Mac) is read whole.
    if !encoding.is_ascii_compatible() || (!head.contains(&b'\n') && head.contains(&b'\r')) {
        return Ok(None);
    }
    Ok(Some(CsvBlocks {
        file,
        format: CsvFormat {
            path: path.to_path_buf(),
            encoding,
            delimiter: delimiter(path),
        },
        carry: head,
        records: 0,
        done: false,
    }))
}

/// What parsing a block of a file needs (shared by the threads that parse).
#[derive(Debug, Clone)]
pub struct CsvFormat {
    path: std::path::PathBuf,
    encoding: &'static Encoding,
    delimiter: u8,
}

impl CsvBlocks {
    pub fn format(&self) -> &CsvFormat {
        &self.format
    }
}

impl CsvFormat {
    /// The name of the encoding the file is read in.
    pub fn encoding(&self) -> &'static str {
        self.encoding.name()
    }
}

impl CsvFormat {
    /// Decode a block and split it into rows; `first_record` is the 0-based record number of
    /// its first record in the file.
    pub fn parse(&self, bytes: &[u8], first_record: usize) -> Result<TextRows> {
        let text = decode_block(&self.path, bytes, self.encoding, first_record)?;
        parse_records(&self.path, &text, self.delimiter, first_record)
    }
}

/// Decode one block strictly: bytes that are not valid in the encoding are an error with the
/// line they are on, never replacement characters.
fn decode_block<'a>(
    path: &Path,
    bytes: &'a [u8],
    enc: &'static Encoding,
    first_record: usize,
) -> Result<std::borrow::Cow<'a, str>> {
    let bad_at = |offset: usize| {
        let line = 1 + first_record + memchr::memchr_iter(b'\n', &bytes[..offset]).count();
        Error::File {
            path: path.to_path_buf(),
            message: format!(
                "line {line}: bytes that are not valid {} text; force the encoding with --encoding (gbk, utf-8, …)",
                enc.name()
            ),
        }
    };
    if enc == UTF_8 {
        return std::str::from_utf8(bytes)
            .map(std::borrow::Cow::Borrowed)
            .map_err(|e| bad_at(e.valid_up_to()));
    }
    let mut decoder = enc.new_decoder_without_bom_handling();
    let mut out = String::with_capacity(
        decoder
            .max_utf8_buffer_length_without_replacement(bytes.len())
            .unwrap_or(bytes.len() * 3),
    );
    let (res, read) = decoder.decode_to_string_without_replacement(bytes, &mut out, true);
    match res {
        encoding_rs::DecoderResult::InputEmpty => Ok(std::borrow::Cow::Owned(out)),
        _ => Err(bad_at(read.min(bytes.len()))),
    }
}

/// Where the last complete record of `block` ends (just after its newline), scanning quotes
/// from the start of the block (which starts a record); and how many records come before it.
fn last_record_end(block: &[u8]) -> Option<(usize, usize)> {
    let mut in_quotes = false;
    let mut last = None;
    let mut records = 0;
    let mut i = 0;
    while let Some(p) = memchr::memchr2(b'"', b'\n', &block[i..]) {
        let at = i + p;
        if block[at] == b'"' {
            in_quotes = !in_quotes;
        } else if !in_quotes {
            records += 1;
            last = Some((at + 1, records));
        }
        i = at + 1;
    }
    last
}

impl Iterator for CsvBlocks {
    /// (bytes of whole records, 0-based number of the first record)
    type Item = Result<(Vec<u8>, usize)>;

    fn next(&mut self) -> Option<Self::Item> {
        use std::io::Read;
        if self.done {
            return None;
        }
        let mut block = std::mem::take(&mut self.carry);
        let mut want = BLOCK_BYTES.saturating_sub(block.len()).max(1 << 16);
        loop {
            let before = block.len();
            if let Err(e) = (&mut self.file).take(want as u64).read_to_end(&mut block) {
                self.done = true;
                return Some(Err(Error::Io {
                    path: self.format.path.clone(),
                    source: e,
                }));
            }
            let at_end = block.len() - before < want;
            if at_end {
                // The rest of the file: every record, the last one perhaps without a newline.
                self.done = true;
                if block.is_empty() {
                    return None;
                }
                let records = last_record_end(&block).map_or(0, |(_, n)| n);
                let unterminated = !block.ends_with(b"\n");
                let first = self.records;
                self.records += records + usize::from(unterminated);
                return Some(Ok((block, first)));
            }
            if let Some((end, records)) = last_record_end(&block) {
                self.carry = block.split_off(end);
                let first = self.records;
                self.records += records;
                return Some(Ok((block, first)));
            }
            // One record longer than a block (a huge quoted cell): read on until it ends.
            want = block.len();
        }
    }
}

/// The encoding of text that is not UTF-8. Mozilla's detector (`chardetng`, the one Firefox
/// uses) names it — GBK, Big5, Shift_JIS, windows-1252 … — except that simplified Chinese
/// text, whose double-byte characters all lie in GB2312's rows (both bytes 0xA1–0xFE), stays
/// GBK even when it is too short for the detector (`评语\n优秀` alone reads to it as Hebrew);
/// Big5 and Shift_JIS text has most of its trail bytes below 0xA1, Latin-1 its accented
/// letters between ASCII ones, so neither looks like that. GBK reads as its superset GB18030.
/// A guess whose decoding fails gives way to GB18030, whose strict decoding then names the
/// line that is not text. (EUC-KR and EUC-JP look like GB2312 and read as it, and every
/// single-byte code page reads as windows-1252: name another with `--encoding`.)
pub fn detect(bytes: &[u8]) -> &'static Encoding {
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    // `bytes` may be the first megabyte of a file, cut inside a character. It is fed 64 KB at
    // a time until enough non-ASCII bytes were seen to decide (a roster of Chinese names
    // decides in its first block; feeding the whole megabyte cost 14% of an import of five
    // exports).
    const BLOCK: usize = 64 << 10;
    const EVIDENCE: usize = 8 << 10;
    let (mut fed, mut non_ascii) = (0, 0);
    while fed < bytes.len() && (fed == 0 || non_ascii < EVIDENCE) {
        let end = (fed + BLOCK).min(bytes.len());
        non_ascii += bytes[fed..end].iter().filter(|b| !b.is_ascii()).count();
        detector.feed(&bytes[fed..end], false);
        fed = end;
    }
    let guess = detector.guess(None, chardetng::Utf8Detection::Deny);
    if guess == encoding_rs::GBK || guess == GB18030 {
        return GB18030;
    }
    let (pairs, in_gb2312) = gb2312_pairs(&bytes[..fed]);
    if pairs > 0 && in_gb2312 * 10 >= pairs * 9 {
        return GB18030;
    }
    // A few accented letters do not tell the single-byte code pages apart (`©` alone reads as
    // Latin-2's `Š`): the one Western Excel writes is windows-1252.
    if guess.is_single_byte() {
        return encoding_rs::WINDOWS_1252;
    }
    let mut decoder = guess.new_decoder_without_bom_handling();
    let mut sink = String::with_capacity(bytes.len().min(1 << 16) * 3);
    let mut rest = bytes;
    while !rest.is_empty() {
        sink.clear();
        let (result, read) = decoder.decode_to_string_without_replacement(rest, &mut sink, false);
        if let encoding_rs::DecoderResult::Malformed(..) = result {
            return GB18030;
        }
        rest = &rest[read..];
    }
    guess
}

/// Bytes ≥ 0x80 taken two at a time: how many pairs, and how many lie in GB2312's rows of
/// characters (lead 0xA1–0xF7, trail 0xA1–0xFE).
fn gb2312_pairs(bytes: &[u8]) -> (usize, usize) {
    let (mut pairs, mut fit, mut i) = (0, 0, 0);
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x80 {
            i += 1;
            continue;
        }
        if let Some(&t) = bytes.get(i + 1) {
            pairs += 1;
            if (0xA1..=0xF7).contains(&b) && (0xA1..=0xFE).contains(&t) {
                fit += 1;
            }
        }
        i += 2;
    }
    (pairs, fit)
}

/// Whether the first bytes of a file are UTF-8 (a multi-byte character cut at the end of the
/// prefix still counts).
pub(crate) fn prefix_is_utf8(head: &[u8]) -> bool {
    match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    }
}

/// `--encoding` label → encoding (`gbk` reads as its superset GB18030).
fn encoding_for_label(path: &Path, label: &str) -> Result<&'static Encoding> {
    let label = if label.eq_ignore_ascii_case("gbk") {
        "gb18030"
    } else {
        label
    };
    Encoding::for_label(label.as_bytes()).ok_or_else(|| Error::File {
        path: path.to_path_buf(),
        message: format!("unknown encoding `{label}` (try utf-8, gbk, gb18030, big5)"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::{RawCell, Rows};

    #[test]
    fn detects_gbk_and_bom() {
        let p = Path::new("x.csv");
        let (gbk, _, _) = encoding_rs::GBK.encode("姓名,党员编号\n张伟,M1\n");
        let (t, enc) = decode(p, &gbk, None).unwrap();
        assert_eq!(enc, "gb18030");
        assert!(t.starts_with("姓名"));
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice("姓名\n".as_bytes());
        let (t, enc) = decode(p, &bom, None).unwrap();
        assert_eq!((t.as_ref(), enc), ("姓名\n", "UTF-8"));
    }

    #[test]
    fn reads_quoted_fields_and_ragged_rows() {
        let sheets = CsvReader
            .read(
                Path::new("a.csv"),
                "a,b\n\"x,1\",\n3\n".as_bytes(),
                &ReadOptions::default(),
            )
            .unwrap();
        assert_eq!(
            sheets[0].rows[1],
            vec![RawCell::Text("x,1".into()), RawCell::Empty]
        );
        assert_eq!(sheets[0].rows[2].len(), 1);
    }

    fn cells(text: &str) -> Vec<Vec<String>> {
        let rows = parse_records(Path::new("t.csv"), text, b',', 0).unwrap();
        (0..rows.row_count())
            .map(|r| {
                (0..rows.width(r))
                    .map(|c| rows.cell(r, c).display())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn quoting_crlf_blank_lines_and_lenient_quotes() {
        assert_eq!(
            cells("a,\"b \"\"q\"\"\",c\r\n\r\n\"multi\nline\",x\"y,\"z\"tail\n,\n"),
            vec![
                vec!["a", "b \"q\"", "c"],
                vec![""],
                vec!["multi\nline", "x\"y", "ztail"],
                vec!["", ""],
            ]
        );
        assert_eq!(cells("a,b"), vec![vec!["a", "b"]]);
        assert_eq!(cells("a,"), vec![vec!["a", ""]]);
        let err = parse_records(Path::new("t.csv"), "a\nb\n\"open,x\n", b',', 0).unwrap_err();
        assert!(err.to_string().contains("line 3"), "{err}");
    }

    #[test]
    fn blocks_cut_between_records_even_inside_long_quoted_cells() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.csv");
        // GBK, with a quoted multi-line cell in every record and one 5 MB cell.
        let mut text = String::from("编号,内容\n");
        for i in 0..60_000 {
            text.push_str(&format!("M{i},\"第{i}行\n续行，含逗号\"\n"));
        }
        text.push_str(&format!("M-big,\"{}\"\n", "长".repeat(2_500_000)));
        text.push_str("M-last,末行");
        let (gbk, _, _) = encoding_rs::GBK.encode(&text);
        std::fs::write(&p, &gbk).unwrap();
        let blocks = csv_blocks(&p, &ReadOptions::default()).unwrap().unwrap();
        let format = blocks.format().clone();
        let mut expected = 0;
        let mut all = Vec::new();
        for b in blocks {
            let (bytes, first) = b.unwrap();
            assert_eq!(first, expected);
            let rows = format.parse(&bytes, first).unwrap();
            expected += rows.row_count();
            for r in 0..rows.row_count() {
                all.push((rows.cell(r, 0).display(), rows.cell(r, 1).display()));
            }
        }
        assert_eq!(expected, 60_003);
        assert_eq!(all[0], ("编号".to_string(), "内容".to_string()));
        assert_eq!(all[60_000].1, "第59999行\n续行，含逗号");
        assert_eq!(all[60_001].1.chars().count(), 2_500_000);
        assert_eq!(all[60_002], ("M-last".to_string(), "末行".to_string()));
    }

    /// CPython's CJK samples (tests/fixtures/real/cjkencodings): each is detected as its own
    /// encoding family and decodes to its UTF-8 original.
    #[test]
    fn detects_the_cjk_encodings_of_cpythons_samples() {
        let dir =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/real/cjkencodings");
        for (file, family) in [
            ("gb2312", &["gb18030"][..]),
            ("gbk", &["gb18030"]),
            ("gb18030", &["gb18030"]),
            ("big5", &["Big5"]),
            ("shift_jis", &["Shift_JIS"]),
        ] {
            let bytes = std::fs::read(dir.join(format!("{file}.txt"))).unwrap();
            let original = std::fs::read_to_string(dir.join(format!("{file}-utf8.txt"))).unwrap();
            let (text, enc) = decode(Path::new(file), &bytes, None).unwrap();
            assert!(family.contains(&enc), "{file}: detected {enc}");
            assert_eq!(text, original, "{file}");
        }
        // EUC-KR and EUC-JP look like GB2312 to any byte statistics: --encoding names them.
        for (file, label) in [("euc_kr", "euc-kr"), ("euc_jp", "euc-jp")] {
            let bytes = std::fs::read(dir.join(format!("{file}.txt"))).unwrap();
            let original = std::fs::read_to_string(dir.join(format!("{file}-utf8.txt"))).unwrap();
            let (text, _) = decode(Path::new(file), &bytes, Some(label)).unwrap();
            // (CPython's sample ends in KS X 1001 jamo sequences that only Python composes.)
            assert_eq!(text.lines().next(), original.lines().next(), "{file}");
        }
        // Short simplified Chinese is GBK, short Big5 with low trail bytes is Big5.
        for (text, enc) in [
            ("评语\n优秀", encoding_rs::GBK),
            ("a,b\n1,王\n", encoding_rs::GBK),
            ("姓名\n陳美麗", encoding_rs::BIG5),
        ] {
            let (bytes, _, _) = enc.encode(text);
            let want = if enc == encoding_rs::GBK {
                GB18030
            } else {
                enc
            };
            assert_eq!(detect(&bytes), want, "{text}");
        }
        // Latin-1 is not GB18030: Renée, not Ren閑.
        let (text, enc) = decode(Path::new("x.csv"), b"name\nRen\xe9e\n", None).unwrap();
        assert_eq!((text.as_ref(), enc), ("name\nRenée\n", "windows-1252"));
    }

    #[test]
    fn a_lone_cr_ends_a_record_outside_quotes() {
        assert_eq!(
            cells("a,b\r1,\"x\ry\"\r2,3"),
            vec![vec!["a", "b"], vec!["1", "x\ry"], vec!["2", "3"]]
        );
    }
}
