//! One file made into typed rows: its sheets read, the ones that fit the dataset chosen (wide
//! survey exports turned into long rows), each converted, and what the reading found.

use std::path::Path;

use dangan_datasets::DatasetSpec;
use sha2::{Digest, Sha256};

use crate::convert::{ConvertContext, Converted, convert_sheet};
use crate::error::{Error, Result};
use crate::header::{AliasMap, HeaderMatch, find_header};
use crate::options::ImportOptions;
use crate::reader::{RawSheet, read_sheets};
use crate::survey::{self, SurveyInfo};

/// A whole file converted: its rows (every sheet that fit, as one part) and what the reading
/// found.
pub(crate) struct ConvertedFile {
    pub rows: Converted,
    pub info: FileInfo,
}

/// A sheet ready to convert.
pub(crate) struct Prepared {
    /// Its rows (long form for wide surveys).
    pub sheet: RawSheet,
    /// The file rows the long rows come from (`None`: the sheet's own rows).
    pub source_rows: Option<Vec<usize>>,
    pub header: HeaderMatch,
}

/// The sheets a file gives: those to import, and those left out, each with why.
pub(crate) struct SheetChoice {
    pub take: Vec<Prepared>,
    pub left: Vec<String>,
}

/// A sheet as read, before it is known to fit.
struct Candidate {
    sheet: RawSheet,
    source_rows: Option<Vec<usize>>,
    header: Option<HeaderMatch>,
}

/// The sheets to import among `sheets`: every one whose header has every required column (a
/// workbook with one sheet per branch or per year goes in whole), turning wide survey exports
/// into long rows; and the sheets left out, each with why.
pub(crate) fn prepare(
    ctx: &ConvertContext,
    aliases: &AliasMap,
    path: &Path,
    sheets: Vec<RawSheet>,
    opts: &ImportOptions,
) -> Result<SheetChoice> {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Candidate sheets: each as it is, or as long rows when it is a wide survey export.
    let mut candidates: Vec<Candidate> = Vec::new();
    for sheet in sheets {
        let long = if ctx.spec.shape == dangan_datasets::Shape::WideSurvey {
            let info = SurveyInfo {
                survey_id: opts.survey_id.clone().unwrap_or_else(|| {
                    format!("S{}", &hex::encode(Sha256::digest(stem.as_bytes()))[..8])
                }),
                survey_title: opts.survey_title.clone().unwrap_or_else(|| stem.clone()),
            };
            survey::to_long(&sheet, &info)
        } else if ctx.spec.unpivot.is_some() {
            crate::unpivot::to_long(&sheet, ctx.spec, aliases)
        } else {
            None
        };
        let (sheet, source_rows) = match long {
            Some((s, rows)) => (s, Some(rows)),
            None => (sheet, None),
        };
        let header = find_header(&sheet, aliases);
        candidates.push(Candidate {
            sheet,
            source_rows,
            header,
        });
    }
    let missing_of = |h: &HeaderMatch| -> Vec<usize> {
        ctx.spec
            .columns
            .iter()
            .enumerate()
            .filter(|(i, c)| {
                c.required && !h.columns.contains(&Some(*i)) && ctx.constants[*i].is_none()
            })
            .map(|(i, _)| i)
            .collect()
    };
    let fits = |h: &Option<HeaderMatch>| h.as_ref().is_some_and(|h| missing_of(h).is_empty());
    if candidates.iter().any(|c| fits(&c.header)) {
        let mut take = Vec::new();
        let mut left = Vec::new();
        for Candidate {
            sheet,
            source_rows,
            header,
        } in candidates
        {
            match header {
                Some(header) if missing_of(&header).is_empty() => take.push(Prepared {
                    sheet,
                    source_rows,
                    header,
                }),
                Some(h) => left.push(format!(
                    "{} (no column {})",
                    sheet.name,
                    missing_of(&h)
                        .iter()
                        .map(|&i| ctx.spec.columns[i].label.as_str())
                        .collect::<Vec<_>>()
                        .join("、")
                )),
                None => left.push(format!("{} (no header of {})", sheet.name, ctx.spec.name)),
            }
        }
        return Ok(SheetChoice { take, left });
    }
    // No sheet fits: say what the closest one lacks.
    let pick = candidates.iter().position(|c| c.header.is_some());
    let Some(pick) = pick else {
        let mut expected = ctx
            .spec
            .columns
            .iter()
            .filter(|c| c.required)
            .map(|c| c.label.clone())
            .collect::<Vec<_>>()
            .join("、");
        // Headers of another encoding read as this one match nothing.
        if let Some(enc) = candidates
            .iter()
            .find_map(|c| c.sheet.encoding)
            .filter(|e| *e != "UTF-8")
        {
            expected.push_str(&format!(
                " — the file was read as {enc}; if its text looks garbled, name its encoding with --encoding (utf-8, gbk, big5, …)"
            ));
        }
        return Err(Error::NoHeader {
            path: path.to_path_buf(),
            expected,
        });
    };
    let Candidate {
        sheet,
        source_rows,
        header,
    } = candidates.swap_remove(pick);
    let header = header.expect("picked a sheet with a header");
    let missing = missing_of(&header);
    if !missing.is_empty() {
        let found: Vec<String> = sheet.rows[header.row]
            .iter()
            .map(|c| c.display())
            .filter(|s| !s.is_empty())
            .collect();
        let unused: Vec<&str> = header.unknown.iter().map(String::as_str).collect();
        let missing: Vec<String> = missing
            .iter()
            .map(|&i| {
                let c = &ctx.spec.columns[i];
                let mut text = format!("{} {} ({})", c.name, c.label, c.aliases.join("/"));
                if let Some(near) = closest_header(&c.aliases, &unused) {
                    text.push_str(&format!(
                        " — closest header in the file 最接近的表头: “{near}”"
                    ));
                }
                text
            })
            .collect();
        return Err(Error::MissingColumns {
            path: path.to_path_buf(),
            missing: missing.join("; "),
            found: found.join(", "),
        });
    }
    Ok(SheetChoice {
        take: vec![Prepared {
            sheet,
            source_rows,
            header,
        }],
        left: Vec::new(),
    })
}

/// The header among `headers` most like one of `aliases` (by edit distance over characters,
/// so that 党员号 is near 党员编号), if any is near enough to be worth naming.
fn closest_header<'h>(aliases: &[String], headers: &[&'h str]) -> Option<&'h str> {
    headers
        .iter()
        .filter_map(|h| {
            let h_norm = dangan_text::normalize_header(h);
            aliases
                .iter()
                .map(|a| strsim::normalized_levenshtein(&dangan_text::normalize_header(a), &h_norm))
                .fold(None::<f64>, |m, x| Some(m.map_or(x, |m| m.max(x))))
                .map(|score| (score, *h))
        })
        .filter(|(score, _)| *score >= 0.5)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, h)| h)
}

/// Read, prepare and convert a whole file: every sheet that fits, as one part.
pub(crate) fn convert_file(
    ctx: &ConvertContext,
    aliases: &AliasMap,
    path: &Path,
    bytes: &[u8],
    opts: &ImportOptions,
) -> Result<ConvertedFile> {
    let mut sheets = read_sheets(path, bytes, &opts.read)?;
    // A filled template: its own sheets stay out, and an older one says what it lacks.
    let template_note = template_note(ctx.spec, &mut sheets);
    let mut done_left = Vec::new();
    if let Some(done) = opts.already_imported_sheets.get(path) {
        sheets.retain(|s| {
            let keep = !done.contains(&s.name);
            if !keep {
                done_left.push(format!(
                    "{} (already imported by an earlier --sheet run)",
                    s.name
                ));
            }
            keep
        });
    }
    let SheetChoice {
        take: prepared,
        mut left,
    } = prepare(ctx, aliases, path, sheets, opts)?;
    left.extend(done_left);
    let file = path.display().to_string();
    let mut parts: Vec<Converted> = Vec::with_capacity(prepared.len());
    let mut info: Option<FileInfo> = None;
    for Prepared {
        sheet,
        source_rows,
        header,
    } in prepared
    {
        parts.push(convert_sheet(
            ctx,
            &file,
            &sheet,
            &header,
            source_rows.as_deref(),
        )?);
        let header_row = source_rows
            .as_ref()
            .and_then(|s| s.first().copied())
            .unwrap_or(header.row)
            + 1;
        let this = FileInfo::new(sheet.name.clone(), header_row, header, sheet.encoding);
        info = Some(match info {
            None => this,
            Some(mut all) => {
                all.sheets.extend(this.sheets);
                for h in this.unknown {
                    if !all.unknown.contains(&h) {
                        all.unknown.push(h);
                    }
                }
                all.duplicates.extend(this.duplicates);
                all
            }
        });
    }
    let mut info = info.ok_or_else(|| Error::File {
        path: path.to_path_buf(),
        message: "no sheet to import".into(),
    })?;
    info.sheets_left = left;
    info.template_note = template_note;
    Ok(ConvertedFile {
        rows: Converted::concat(parts)?,
        info,
    })
}

/// When `sheets` are a template's (`dangan datasets template`), take out its rules, lists and
/// marker sheets, and say which columns the spec has gained since the template was made.
fn template_note(spec: &DatasetSpec, sheets: &mut Vec<RawSheet>) -> Option<String> {
    use crate::template::{RULES_SHEET, TEMPLATE_SHEET};
    let marker = sheets.iter().position(|s| s.name == TEMPLATE_SHEET)?;
    let marker = sheets.remove(marker);
    sheets.retain(|s| s.name != RULES_SHEET && s.name != "_lists");
    let cell = |r: usize, c: usize| {
        marker
            .rows
            .get(r)
            .and_then(|row| row.get(c))
            .map(|c| c.display())
            .unwrap_or_default()
    };
    let dataset = cell(0, 1);
    let had: Vec<String> = marker
        .rows
        .get(1)
        .map(|row| row.iter().map(|c| c.display()).collect())
        .unwrap_or_default();
    if dataset != spec.name {
        return Some(format!(
            "this is a template of dataset `{dataset}`, imported into `{}`",
            spec.name
        ));
    }
    let added: Vec<String> = spec
        .columns
        .iter()
        .filter(|c| !had.contains(&c.name))
        .map(|c| format!("{} ({})", c.label, c.name))
        .collect();
    (!added.is_empty()).then(|| {
        format!(
            "a template from an older spec 模板较旧: columns added since 新增的列: {} — they are empty for these rows; `dangan datasets template {}` writes a current one",
            added.join(", "),
            spec.name
        )
    })
}

/// What a file's reading found besides its rows.
pub(crate) struct FileInfo {
    /// The sheets read.
    pub sheets: Vec<String>,
    /// 1-based row of the header in the file.
    pub header_row: usize,
    pub unknown: Vec<String>,
    pub duplicates: Vec<String>,
    pub encoding: Option<&'static str>,
    /// Sheets of the workbook that were not imported, each with why.
    pub sheets_left: Vec<String>,
    pub template_note: Option<String>,
}

impl FileInfo {
    pub(crate) fn new(
        sheet: String,
        header_row: usize,
        header: crate::header::HeaderMatch,
        encoding: Option<&'static str>,
    ) -> Self {
        FileInfo {
            sheets: vec![sheet],
            header_row,
            unknown: header.unknown,
            duplicates: header.duplicates,
            encoding,
            sheets_left: Vec::new(),
            template_note: None,
        }
    }
}
