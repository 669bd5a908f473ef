//! CSV in UTF-8, UTF-8 with BOM or GBK/GB18030 (detected, or forced with `--encoding`).

use std::path::Path;

use encoding_rs::{Encoding, GB18030, UTF_8};

use super::{RawCell, RawSheet, ReadOptions, Reader, Rows, TextRows};
use crate::error::{Error, Result};

pub struct CsvReader;

/// Decode bytes: a BOM wins, then a forced encoding, then valid UTF-8, else GB18030 (a superset
/// of GBK, which is what Excel on Chinese Windows writes).
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
        None => GB18030,
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
        let (text, _) = decode(path, bytes, opts.encoding.as_deref())?;
        let tab = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("tsv"));
        let mut rdr = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(if tab { b'\t' } else { b',' })
            .from_reader(text.as_bytes());
        let mut rows = Vec::new();
        let mut record = ::csv::StringRecord::new();
        loop {
            match rdr.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => rows.push(record_cells(&record)),
                Err(e) => {
                    let line = e.position().map(|p| p.line()).unwrap_or(0);
                    return Err(Error::File {
                        path: path.to_path_buf(),
                        message: format!("line {line}: {e}"),
                    });
                }
            }
        }
        let name = super::file_sheet_name(path);
        Ok(vec![RawSheet { name, rows }])
    }
}

/// A CSV record as raw cells (empty fields are empty cells).
fn record_cells(record: &::csv::StringRecord) -> Vec<RawCell> {
    record
        .iter()
        .map(|f| {
            if f.is_empty() {
                RawCell::Empty
            } else {
                RawCell::Text(f.to_string())
            }
        })
        .collect()
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

/// Rows per chunk when a CSV is streamed.
pub const CHUNK_ROWS: usize = 50_000;

/// Decodes a byte stream as it is read, and fails (instead of inventing characters) on bytes
/// that are not valid in the encoding.
struct StrictDecoder<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    input: Vec<u8>,
    pending: Vec<u8>,
    pos: usize,
    consumed: u64,
    eof: bool,
}

impl<R: std::io::Read> std::io::Read for StrictDecoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.pending.len() {
            if self.eof {
                return Ok(0);
            }
            let n = self.inner.read(&mut self.input)?;
            let last = n == 0;
            self.eof = last;
            let mut out = String::with_capacity(n * 3 / 2 + 16);
            let mut src = &self.input[..n];
            loop {
                out.reserve(
                    self.decoder
                        .max_utf8_buffer_length_without_replacement(src.len())
                        .unwrap_or(src.len() * 3 + 16),
                );
                let (res, read) = self
                    .decoder
                    .decode_to_string_without_replacement(src, &mut out, last);
                src = &src[read..];
                self.consumed += read as u64;
                match res {
                    encoding_rs::DecoderResult::InputEmpty => break,
                    encoding_rs::DecoderResult::OutputFull => continue,
                    encoding_rs::DecoderResult::Malformed(_, _) => {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            format!(
                                "bytes near offset {} are not valid {} text; force another with --encoding",
                                self.consumed,
                                self.decoder.encoding().name()
                            ),
                        ));
                    }
                }
            }
            self.pending = out.into_bytes();
            self.pos = 0;
        }
        let n = buf.len().min(self.pending.len() - self.pos);
        buf[..n].copy_from_slice(&self.pending[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The rows of a CSV file in chunks of [`CHUNK_ROWS`], decoded while reading: memory stays
/// bounded however large the file is. The encoding is detected from the first megabyte (a
/// BOM, else valid UTF-8, else GB18030) unless forced.
pub struct CsvChunks {
    rdr: ::csv::Reader<Box<dyn std::io::Read + Send>>,
    path: std::path::PathBuf,
    record: ::csv::StringRecord,
    done: bool,
}

pub fn csv_chunks(path: &Path, opts: &ReadOptions) -> Result<CsvChunks> {
    use std::io::{Read, Seek};
    let io = |e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut head = vec![0u8; 1 << 20];
    let mut filled = 0;
    while filled < head.len() {
        let n = f.read(&mut head[filled..]).map_err(io)?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    head.truncate(filled);
    f.seek(std::io::SeekFrom::Start(0)).map_err(io)?;
    let enc = match Encoding::for_bom(&head) {
        Some((enc, _)) => enc,
        None => match opts.encoding.as_deref() {
            Some(label) => encoding_for_label(path, label)?,
            // A multi-byte character cut at the end of the prefix is still UTF-8.
            None => match std::str::from_utf8(&head) {
                Ok(_) => UTF_8,
                Err(e) if e.error_len().is_none() => UTF_8,
                Err(_) => GB18030,
            },
        },
    };
    let file = std::io::BufReader::with_capacity(1 << 16, f);
    // UTF-8 needs no decoding: the CSV reader checks it as it splits (and names the line of a
    // bad byte); only a BOM is skipped. Other encodings are decoded while reading.
    let input: Box<dyn std::io::Read + Send> = if enc == UTF_8 {
        let bom = if head.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        let mut file = file;
        std::io::copy(&mut (&mut file).take(bom), &mut std::io::sink()).map_err(io)?;
        Box::new(file)
    } else {
        Box::new(StrictDecoder {
            inner: file,
            decoder: enc.new_decoder_with_bom_removal(),
            input: vec![0u8; 1 << 16],
            pending: Vec::new(),
            pos: 0,
            consumed: 0,
            eof: false,
        })
    };
    let tab = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("tsv"));
    let rdr = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(if tab { b'\t' } else { b',' })
        .from_reader(input);
    Ok(CsvChunks {
        rdr,
        path: path.to_path_buf(),
        record: ::csv::StringRecord::new(),
        done: false,
    })
}

/// A chunk also ends at this many bytes of text, so that a file of huge cells stays bounded
/// (and offsets fit in `u32`).
const CHUNK_BYTES: usize = 64 << 20;

impl Iterator for CsvChunks {
    type Item = Result<TextRows>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut rows = TextRows::with_capacity(CHUNK_ROWS, 8 << 20);
        while rows.row_count() < CHUNK_ROWS && rows.bytes() < CHUNK_BYTES {
            match self.rdr.read_record(&mut self.record) {
                Ok(false) => {
                    self.done = true;
                    break;
                }
                Ok(true) => rows.push_row(self.record.iter()),
                Err(e) => {
                    self.done = true;
                    let line = e.position().map(|p| p.line()).unwrap_or(0);
                    return Some(Err(Error::File {
                        path: self.path.clone(),
                        message: if matches!(e.kind(), ::csv::ErrorKind::Utf8 { .. }) {
                            format!(
                                "line {line}: bytes that are not UTF-8, though the start of the file is; force the encoding with --encoding gbk (or the one it was saved in) ({e})"
                            )
                        } else {
                            format!("line {line}: {e}")
                        },
                    }));
                }
            }
        }
        if rows.row_count() == 0 {
            None
        } else {
            Some(Ok(rows))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
