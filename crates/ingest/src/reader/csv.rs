//! CSV in UTF-8, UTF-8 with BOM or GBK/GB18030 (detected, or forced with `--encoding`).

use std::path::Path;

use encoding_rs::{Encoding, GB18030, UTF_8};

use super::{RawCell, RawSheet, ReadOptions, Reader};
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
        Some(label) => {
            let label = if label.eq_ignore_ascii_case("gbk") {
                "gb18030"
            } else {
                label
            };
            Encoding::for_label(label.as_bytes()).ok_or_else(|| Error::File {
                path: path.to_path_buf(),
                message: format!("unknown encoding `{label}` (try utf-8, gbk, gb18030, big5)"),
            })?
        }
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
                Ok(true) => rows.push(
                    record
                        .iter()
                        .map(|f| {
                            if f.is_empty() {
                                RawCell::Empty
                            } else {
                                RawCell::Text(f.to_string())
                            }
                        })
                        .collect(),
                ),
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
