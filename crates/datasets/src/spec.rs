//! Dataset specs: the typed form of the `*.toml` files that describe every dataset.
//!
//! A spec file is parsed into [`SpecFile`] (serde, `deny_unknown_fields`), merged with the
//! shared columns of `_common.toml` and with user files, and resolved into a [`DatasetSpec`]
//! that import, SQL, search and masking all read.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use serde::Deserialize;
use toml::Spanned;

use crate::error::{Error, Result};

/// The storage type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    #[default]
    String,
    Int,
    Float,
    Date,
    Timestamp,
    Bool,
}

impl ColumnType {
    /// The Arrow type the column is stored as (timestamps are local wall-clock time, no zone).
    pub fn arrow_type(self) -> DataType {
        match self {
            ColumnType::String => DataType::Utf8,
            ColumnType::Int => DataType::Int64,
            ColumnType::Float => DataType::Float64,
            ColumnType::Date => DataType::Date32,
            ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            ColumnType::Bool => DataType::Boolean,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ColumnType::String => "string",
            ColumnType::Int => "int",
            ColumnType::Float => "float",
            ColumnType::Date => "date",
            ColumnType::Timestamp => "timestamp",
            ColumnType::Bool => "bool",
        }
    }
}

/// A value check beyond the type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// 18-digit resident ID number with the GB 11643 check digit and a valid birth date.
    CnIdCard,
    /// Mainland mobile (11 digits, 1[3-9]…) or fixed line with area code.
    Phone,
    /// An identifier: ASCII letters, digits, `-` and `_` after width folding.
    Code,
}

impl Check {
    pub fn name(self) -> &'static str {
        match self {
            Check::CnIdCard => "cn_id_card",
            Check::Phone => "phone",
            Check::Code => "code",
        }
    }
}

/// What a dataset is to the rest of the archive, beyond its columns (`role = "people"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Records: rows about members, organizations or anything else.
    #[default]
    Records,
    /// The register of people, one row per member: a department's scope reaches rows keyed
    /// by `member_id` through it, a member's archive starts from it, `members_asof` reads its
    /// history. At most one dataset has this role.
    People,
}

/// How the files of a dataset are laid out (`shape = "wide_survey"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// One row per record, as the columns say.
    #[default]
    Long,
    /// A survey platform's wide export (问卷星: one row per answer sheet, one column per
    /// question), turned into one row per question while importing; read whole, not
    /// streamed.
    WideSurvey,
}

/// How an import writes a dataset by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ImportMode {
    /// Add the rows.
    #[default]
    Append,
    /// Insert new keys, update existing ones (keeps history for members).
    Upsert,
    /// Replace the whole table with the file's rows.
    Replace,
}

impl std::str::FromStr for ImportMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<ImportMode> {
        [ImportMode::Append, ImportMode::Upsert, ImportMode::Replace]
            .into_iter()
            .find(|m| m.name() == s.trim())
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "mode `{s}`: append, upsert or replace 导入方式应为 append/upsert/replace"
                ))
            })
    }
}

impl ImportMode {
    pub fn name(self) -> &'static str {
        match self {
            ImportMode::Append => "append",
            ImportMode::Upsert => "upsert",
            ImportMode::Replace => "replace",
        }
    }
}

/// One `[[columns]]` entry as written in a file. Every field but `name` is optional so that a
/// dataset can inherit a common column and a user file can add aliases only.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnFile {
    pub name: Spanned<String>,
    #[serde(rename = "type")]
    pub ty: Option<ColumnType>,
    pub label: Option<String>,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub required: Option<bool>,
    pub text: Option<bool>,
    pub personal: Option<bool>,
    pub check: Option<Check>,
    pub values: Option<Vec<String>>,
    pub variants: Option<BTreeMap<String, Vec<String>>>,
    pub references: Option<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub description: Option<String>,
}

/// `[unpivot]` of a dataset: a wide sheet with one column per value of `name` (a 党员发展 sheet
/// with a date column per stage) becomes one row per filled cell: the header gives `name`,
/// the cell gives `value`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Unpivot {
    /// The enum column whose values (or variants) head the wide columns.
    pub name: String,
    /// The column the cells go to.
    pub value: String,
}

/// A dataset file: a whole new dataset, or (when `name` is a known dataset) additions to it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecFile {
    pub name: Spanned<String>,
    pub label: Option<String>,
    pub description: Option<String>,
    pub key: Option<Spanned<Vec<String>>>,
    pub mode: Option<ImportMode>,
    pub unpivot: Option<Unpivot>,
    pub role: Option<Role>,
    pub shape: Option<Shape>,
    #[serde(default)]
    pub columns: Vec<ColumnFile>,
}

/// `_common.toml`: columns shared by several datasets.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommonFile {
    #[serde(default)]
    pub columns: Vec<ColumnFile>,
}

/// A reference from a column to another dataset's column (`organizations.org_id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub dataset: String,
    pub column: String,
}

/// What a department without the personal grant sees of a personal column. Chosen so that
/// nothing it can see together narrows an ID number to fewer than 1,000 candidates (the
/// README's access section and `dangan-query`'s mask test): ID numbers keep their first two
/// and last two characters, phones 3 + 4 digits, personal dates their year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mask {
    IdNumber,
    Phone,
    Year,
}

/// A resolved column.
#[derive(Debug, Clone, Default)]
pub struct ColumnSpec {
    pub name: String,
    pub ty: ColumnType,
    pub label: String,
    /// Every header this column accepts, in the original spelling (the name itself included).
    pub aliases: Vec<String>,
    pub required: bool,
    pub text: bool,
    pub personal: bool,
    pub check: Option<Check>,
    /// Allowed values of an enum column (empty: any value).
    pub values: Vec<String>,
    /// Accepted variant → canonical value.
    pub variants: BTreeMap<String, String>,
    pub references: Option<Reference>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub description: Option<String>,
}

impl ColumnSpec {
    pub fn is_enum(&self) -> bool {
        !self.values.is_empty()
    }
}

/// A resolved dataset spec.
#[derive(Debug, Clone)]
pub struct DatasetSpec {
    pub name: String,
    pub label: String,
    pub description: String,
    pub key: Vec<String>,
    pub mode: ImportMode,
    pub columns: Vec<ColumnSpec>,
    /// Where the spec came from (`builtin:members.toml`, a user file path, …).
    pub sources: Vec<String>,
    /// How a wide sheet of this dataset becomes long rows, if it can be wide.
    pub unpivot: Option<Unpivot>,
    pub role: Role,
    pub shape: Shape,
}

impl DatasetSpec {
    pub fn column(&self, name: &str) -> Option<&ColumnSpec> {
        self.columns.iter().find(|c| c.name == name)
    }

    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The Arrow schema of the dataset's table. Key and required columns are still nullable
    /// in storage so that later spec changes never make old files unreadable.
    pub fn arrow_schema(&self) -> SchemaRef {
        let fields: Vec<Field> = self
            .columns
            .iter()
            .map(|c| Field::new(&c.name, c.ty.arrow_type(), true))
            .collect();
        Arc::new(Schema::new(fields))
    }

    pub fn text_columns(&self) -> impl Iterator<Item = &ColumnSpec> {
        self.columns.iter().filter(|c| c.text)
    }

    pub fn personal_columns(&self) -> impl Iterator<Item = &ColumnSpec> {
        self.columns.iter().filter(|c| c.personal)
    }
}

impl ColumnSpec {
    /// The mask of a personal column (`None`: not personal): a date keeps its year, a phone
    /// its 3 + 4 digits, anything else is masked as an ID number.
    pub fn mask(&self) -> Option<Mask> {
        if !self.personal {
            None
        } else if matches!(self.ty, ColumnType::Date | ColumnType::Timestamp) {
            Some(Mask::Year)
        } else if self.name.contains("phone") {
            Some(Mask::Phone)
        } else {
            Some(Mask::IdNumber)
        }
    }
}

/// 1-based line of a byte offset in `src`.
pub(crate) fn line_of(src: &str, offset: usize) -> usize {
    src[..offset.min(src.len())]
        .bytes()
        .filter(|b| *b == b'\n')
        .count()
        + 1
}

/// Parse a TOML spec file, turning serde's error into file + line + message.
pub(crate) fn parse<T: for<'de> Deserialize<'de>>(file: &str, src: &str) -> Result<T> {
    toml::from_str(src).map_err(|e| Error::Spec {
        file: file.to_string(),
        line: e.span().map(|s| line_of(src, s.start)).unwrap_or(1),
        message: e.message().trim().to_string(),
    })
}

/// Accumulates one dataset's column entries (common + builtin + user files) before resolving.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    pub name: String,
    pub label: Option<String>,
    pub description: Option<String>,
    pub key: Option<(Vec<String>, Located)>,
    pub mode: Option<ImportMode>,
    pub unpivot: Option<Unpivot>,
    pub role: Option<Role>,
    pub shape: Option<Shape>,
    pub columns: Vec<(ColumnFile, Located)>,
    pub sources: Vec<String>,
}

/// A place in a spec file, for error messages.
#[derive(Debug, Clone)]
pub(crate) struct Located {
    pub file: String,
    pub line: usize,
}

impl Located {
    pub fn error(&self, message: impl Into<String>) -> Error {
        Error::Spec {
            file: self.file.clone(),
            line: self.line,
            message: message.into(),
        }
    }
}

impl Draft {
    pub fn new(name: &str) -> Self {
        Draft {
            name: name.to_string(),
            label: None,
            description: None,
            key: None,
            mode: None,
            unpivot: None,
            role: None,
            shape: None,
            columns: Vec::new(),
            sources: Vec::new(),
        }
    }

    /// Fold a parsed file into this draft: scalars of the later file win, columns of the same
    /// name are merged field by field (aliases add up), new columns are appended.
    pub fn absorb(&mut self, file: SpecFile, file_name: &str, src: &str) {
        let at = |offset: usize| Located {
            file: file_name.to_string(),
            line: line_of(src, offset),
        };
        self.sources.push(file_name.to_string());
        if file.label.is_some() {
            self.label = file.label;
        }
        if file.description.is_some() {
            self.description = file.description;
        }
        if file.mode.is_some() {
            self.mode = file.mode;
        }
        if file.role.is_some() {
            self.role = file.role;
        }
        if file.shape.is_some() {
            self.shape = file.shape;
        }
        if file.unpivot.is_some() {
            self.unpivot = file.unpivot;
        }
        if let Some(key) = file.key {
            let loc = at(key.span().start);
            self.key = Some((key.into_inner(), loc));
        }
        for col in file.columns {
            let loc = at(col.name.span().start);
            match self
                .columns
                .iter_mut()
                .find(|(c, _)| c.name.get_ref() == col.name.get_ref())
            {
                Some((existing, _)) => merge_column(existing, col),
                None => self.columns.push((col, loc)),
            }
        }
    }

    /// Resolve into a [`DatasetSpec`], taking unset fields of known common columns from
    /// `common` and checking everything a later stage relies on.
    pub fn resolve(&self, common: &[ColumnFile]) -> Result<DatasetSpec> {
        let mut columns = Vec::with_capacity(self.columns.len());
        for (col, loc) in &self.columns {
            let mut merged = match common
                .iter()
                .find(|c| c.name.get_ref() == col.name.get_ref())
            {
                Some(base) => {
                    let mut m = base.clone();
                    merge_column(&mut m, col.clone());
                    m
                }
                None => col.clone(),
            };
            merged.name = col.name.clone();
            columns.push(resolve_column(&self.name, merged, loc)?);
        }
        let first_loc = self
            .columns
            .first()
            .map(|(_, l)| l.clone())
            .unwrap_or(Located {
                file: self.sources.first().cloned().unwrap_or_default(),
                line: 1,
            });
        if columns.is_empty() {
            return Err(first_loc.error(format!("dataset `{}` has no columns", self.name)));
        }
        check_unique_headers(&columns, &self.columns)?;
        let (key, key_loc) = match &self.key {
            Some((k, loc)) => (k.clone(), loc.clone()),
            None => {
                return Err(first_loc.error(format!(
                    "dataset `{}` has no `key` (the columns that identify a row)",
                    self.name
                )));
            }
        };
        if key.is_empty() {
            return Err(key_loc.error("`key` must name at least one column"));
        }
        for k in &key {
            match columns.iter_mut().find(|c| &c.name == k) {
                Some(c) => c.required = true,
                None => {
                    return Err(key_loc.error(format!(
                        "key column `{k}` is not a column of dataset `{}`",
                        self.name
                    )));
                }
            }
        }
        if !valid_identifier(&self.name) {
            return Err(first_loc.error(format!(
                "dataset name `{}` must be lower-case letters, digits and `_`",
                self.name
            )));
        }
        if let Some(u) = &self.unpivot {
            let enum_column = columns.iter().find(|c| c.name == u.name);
            if !enum_column.is_some_and(|c| c.is_enum()) {
                return Err(first_loc.error(format!(
                    "[unpivot] name = `{}` must be a column of `{}` with `values`",
                    u.name, self.name
                )));
            }
            if !columns.iter().any(|c| c.name == u.value) {
                return Err(first_loc.error(format!(
                    "[unpivot] value = `{}` is not a column of `{}`",
                    u.value, self.name
                )));
            }
        }
        Ok(DatasetSpec {
            name: self.name.clone(),
            label: self.label.clone().unwrap_or_else(|| self.name.clone()),
            description: self.description.clone().unwrap_or_default(),
            key,
            mode: self.mode.unwrap_or_default(),
            columns,
            sources: self.sources.clone(),
            unpivot: self.unpivot.clone(),
            role: self.role.unwrap_or_default(),
            shape: self.shape.unwrap_or_default(),
        })
    }
}

fn valid_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn merge_column(into: &mut ColumnFile, from: ColumnFile) {
    macro_rules! take {
        ($($f:ident),*) => { $( if from.$f.is_some() { into.$f = from.$f; } )* };
    }
    take!(
        ty,
        label,
        required,
        text,
        personal,
        check,
        values,
        variants,
        references,
        min,
        max,
        description
    );
    for a in from.aliases {
        if !into.aliases.contains(&a) {
            into.aliases.push(a);
        }
    }
}

fn resolve_column(dataset: &str, c: ColumnFile, loc: &Located) -> Result<ColumnSpec> {
    let name = c.name.into_inner();
    if !valid_identifier(&name) {
        return Err(loc.error(format!(
            "column name `{name}` must be lower-case letters, digits and `_`"
        )));
    }
    let ty = c.ty.ok_or_else(|| {
        loc.error(format!(
            "column `{name}` has no `type` (one of string, int, float, date, timestamp, bool)"
        ))
    })?;
    let values = c.values.unwrap_or_default();
    let mut variants = BTreeMap::new();
    for (canonical, alts) in c.variants.unwrap_or_default() {
        if !values.contains(&canonical) {
            return Err(loc.error(format!(
                "column `{name}`: variant target `{canonical}` is not one of its values {values:?}"
            )));
        }
        for alt in alts {
            variants.insert(alt, canonical.clone());
        }
    }
    if c.check.is_some() && ty != ColumnType::String {
        return Err(loc.error(format!(
            "column `{name}`: checks apply to string columns only"
        )));
    }
    let references = match c.references.as_deref() {
        None | Some("") => None,
        Some(r) => {
            let (d, col) = r.split_once('.').ok_or_else(|| {
                loc.error(format!(
                    "column `{name}`: `references` must be `dataset.column`, got `{r}`"
                ))
            })?;
            // A dataset's own key never references itself.
            (d != dataset).then(|| Reference {
                dataset: d.to_string(),
                column: col.to_string(),
            })
        }
    };
    let mut aliases = vec![name.clone()];
    for a in c.aliases {
        if !aliases.contains(&a) {
            aliases.push(a);
        }
    }
    Ok(ColumnSpec {
        label: c.label.unwrap_or_else(|| name.clone()),
        name,
        ty,
        aliases,
        required: c.required.unwrap_or(false),
        text: c.text.unwrap_or(false),
        personal: c.personal.unwrap_or(false),
        check: c.check,
        values,
        variants,
        references,
        min: c.min,
        max: c.max,
        description: c.description,
    })
}

/// Two columns of one dataset must not answer to the same header.
fn check_unique_headers(columns: &[ColumnSpec], locs: &[(ColumnFile, Located)]) -> Result<()> {
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for (col, (_, loc)) in columns.iter().zip(locs) {
        for a in &col.aliases {
            let norm = dangan_text::normalize_header(a);
            if let Some(other) = seen.insert(norm, &col.name)
                && other != col.name
            {
                return Err(loc.error(format!(
                    "header `{a}` would match both `{other}` and `{}`",
                    col.name
                )));
            }
        }
    }
    Ok(())
}

/// The header forms a column answers to: its aliases normalized, plus for date and timestamp
/// columns each `…时间` alias as `…日期` and the other way round.
pub fn header_forms(col: &ColumnSpec) -> Vec<String> {
    let mut out: Vec<String> = col
        .aliases
        .iter()
        .map(|a| dangan_text::normalize_header(a))
        .collect();
    if matches!(col.ty, ColumnType::Date | ColumnType::Timestamp) {
        let extra: Vec<String> = out
            .iter()
            .filter_map(|a| {
                a.strip_suffix("时间")
                    .map(|p| format!("{p}日期"))
                    .or_else(|| a.strip_suffix("日期").map(|p| format!("{p}时间")))
            })
            .collect();
        out.extend(extra);
    }
    out.dedup();
    out
}
