//! Import templates (导入模板): a workbook made from a dataset's spec that makes good files —
//! the Chinese headers, a frozen header row, widths, Excel data validation (drop-down lists of
//! the allowed values and of the lake's branches, date and number ranges, the ID number's
//! length), an input hint per column, the personal columns marked, and a 填写说明 sheet with
//! every column's rules and an example row. A very hidden sheet [`TEMPLATE_SHEET`] records the
//! dataset and its columns, so that the importer can say which columns were added since.

use dangan_datasets::{Check, ColumnSpec, ColumnType, DatasetSpec};

use crate::convert::column_letter;
use rust_xlsxwriter::{
    Color, DataValidation, DataValidationErrorStyle, DataValidationRule, ExcelDateTime, Format,
    FormatAlign, FormatBorder, Formula, Note, Workbook, XlsxError,
};

/// The very hidden sheet that marks a workbook as a template of one dataset.
pub const TEMPLATE_SHEET: &str = "_dangan";
/// The sheet of rules; the importer leaves it (and [`TEMPLATE_SHEET`]) out without a word.
pub const RULES_SHEET: &str = "填写说明";
/// Rows below the header that carry the validations.
const ROWS: u32 = 5000;

/// What a reference column may hold: the ids and names of the referenced dataset's rows.
#[derive(Debug, Clone, Default)]
pub struct Choices {
    /// (id, name) per row of the referenced dataset, e.g. the lake's branches.
    pub rows: Vec<(String, String)>,
}

/// A template's workbook, as bytes. `choices` gives, per column name, what a reference column
/// may hold (branch names for `org_id`).
pub fn template(
    spec: &DatasetSpec,
    choices: &std::collections::BTreeMap<String, Choices>,
) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let header = Format::new()
        .set_bold()
        .set_align(FormatAlign::Center)
        .set_border(FormatBorder::Thin)
        .set_background_color(Color::RGB(0xDDEBF7));
    let personal = header.clone().set_background_color(Color::RGB(0xFCE4D6));
    let text = Format::new().set_num_format("@");
    let date = Format::new().set_num_format("yyyy-mm-dd");

    // The lists too long for a validation's inline text (branches) live on a hidden sheet.
    let lists_name = "_lists";
    let mut list_columns: Vec<(String, Vec<String>)> = Vec::new();

    let data = wb.add_worksheet();
    data.set_name(&spec.label)?;
    data.set_freeze_panes(1, 0)?;
    for (c, col) in spec.columns.iter().enumerate() {
        let c16 = c as u16;
        let fmt = if col.personal { &personal } else { &header };
        let title = if col.required {
            format!("{}*", col.label)
        } else {
            col.label.clone()
        };
        data.write_string_with_format(0, c16, &title, fmt)?;
        data.set_column_width(c16, width(col))?;
        if col.personal {
            data.insert_note(
                0,
                c16,
                &Note::new("个人信息：只有获授权的部门可见 (personal: shown only to departments granted it)")
                    .set_author("dangan"),
            )?;
        }
        match col.ty {
            ColumnType::Date => {
                data.set_column_format(c16, &date)?;
            }
            ColumnType::String => {
                data.set_column_format(c16, &text)?;
            }
            _ => {}
        }
        let hint = hint(col, choices.get(&col.name));
        let mut dv = if col.is_enum() {
            DataValidation::new().allow_list_strings(&col.values)?
        } else if let Some(found) = choices.get(&col.name).filter(|c| !c.rows.is_empty()) {
            let names: Vec<String> = found.rows.iter().map(|(_, n)| n.clone()).collect();
            let at = list_columns.len();
            let n = names.len();
            list_columns.push((col.name.clone(), names));
            let letter = column_letter(at);
            DataValidation::new().allow_list_formula(Formula::new(format!(
                "={lists_name}!${letter}$2:${letter}${}",
                n + 1
            )))
        } else {
            match (col.ty, col.check) {
                (ColumnType::Date, _) => {
                    DataValidation::new().allow_date(DataValidationRule::Between(
                        ExcelDateTime::from_ymd(1900, 1, 1)?,
                        ExcelDateTime::from_ymd(2100, 12, 31)?,
                    ))
                }
                (ColumnType::Int, _) => {
                    DataValidation::new().allow_whole_number(DataValidationRule::Between(
                        col.min.map_or(i32::MIN, |m| m as i32),
                        col.max.map_or(i32::MAX, |m| m as i32),
                    ))
                }
                (ColumnType::Float, _) => DataValidation::new().allow_decimal_number(
                    DataValidationRule::Between(col.min.unwrap_or(-1e15), col.max.unwrap_or(1e15)),
                ),
                (_, Some(Check::CnIdCard)) => {
                    DataValidation::new().allow_text_length(DataValidationRule::Between(15, 18))
                }
                (_, Some(Check::Phone)) => {
                    DataValidation::new().allow_text_length(DataValidationRule::Between(7, 20))
                }
                _ => DataValidation::new().allow_any_value(),
            }
        };
        dv = dv
            .set_input_title(truncate(&col.label, 32))?
            .set_input_message(truncate(&hint, 255))?;
        if !matches!(col.ty, ColumnType::String) || col.is_enum() || col.check.is_some() {
            dv = dv
                .set_error_title(truncate(&format!("{}：不符合要求", col.label), 32))?
                .set_error_message(truncate(&hint, 255))?
                .set_error_style(DataValidationErrorStyle::Stop);
        }
        data.add_data_validation(1, c16, ROWS, c16, &dv)?;
    }

    // 填写说明: one row per column, then an example row under the same headers.
    let rules = wb.add_worksheet();
    rules.set_name(RULES_SHEET)?;
    let bold = Format::new().set_bold();
    for (c, h) in [
        "列",
        "字段",
        "类型",
        "必填",
        "个人信息",
        "规则与允许的值",
        "示例",
    ]
    .iter()
    .enumerate()
    {
        rules.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    for (r, col) in spec.columns.iter().enumerate() {
        let r = r as u32 + 1;
        rules.write_string(r, 0, &col.label)?;
        rules.write_string(r, 1, &col.name)?;
        rules.write_string(r, 2, type_name(col))?;
        rules.write_string(r, 3, if col.required { "是" } else { "否" })?;
        rules.write_string(r, 4, if col.personal { "是" } else { "否" })?;
        rules.write_string(r, 5, hint(col, choices.get(&col.name)))?;
        rules.write_string(r, 6, example(col, choices.get(&col.name)))?;
    }
    rules.set_column_width(0, 14)?;
    rules.set_column_width(5, 70)?;
    rules.set_column_width(6, 22)?;
    let at = spec.columns.len() as u32 + 3;
    rules.write_string_with_format(at, 0, "示例行（表头与第一张表相同）", &bold)?;
    for (c, col) in spec.columns.iter().enumerate() {
        rules.write_string(at + 1, c as u16, &col.label)?;
        rules.write_string(at + 2, c as u16, example(col, choices.get(&col.name)))?;
    }

    if !list_columns.is_empty() {
        let lists = wb.add_worksheet();
        lists.set_name(lists_name)?;
        for (c, (name, values)) in list_columns.iter().enumerate() {
            lists.write_string(0, c as u16, name)?;
            for (r, v) in values.iter().enumerate() {
                lists.write_string(r as u32 + 1, c as u16, v)?;
            }
        }
        lists.set_hidden(true);
    }

    let marker = wb.add_worksheet();
    marker.set_name(TEMPLATE_SHEET)?;
    marker.write_string(0, 0, "dangan-template")?;
    marker.write_string(0, 1, &spec.name)?;
    for (c, col) in spec.columns.iter().enumerate() {
        marker.write_string(1, c as u16, &col.name)?;
    }
    marker.set_very_hidden(true);
    wb.save_to_buffer()
}

fn truncate(s: &str, chars: usize) -> String {
    s.chars().take(chars).collect()
}

fn width(col: &ColumnSpec) -> f64 {
    match (col.ty, col.check) {
        (_, Some(Check::CnIdCard)) => 22.0,
        (_, Some(Check::Phone)) => 15.0,
        (ColumnType::Date | ColumnType::Timestamp, _) => 13.0,
        _ if col.text => 40.0,
        _ => (col.label.chars().count() as f64 * 2.2 + 4.0).max(10.0),
    }
}

fn type_name(col: &ColumnSpec) -> &'static str {
    match col.ty {
        ColumnType::String => "文本",
        ColumnType::Int => "整数",
        ColumnType::Float => "数值",
        ColumnType::Date => "日期",
        ColumnType::Timestamp => "日期时间",
        ColumnType::Bool => "是/否",
    }
}

/// The rule of a column in a sentence: what a cell must hold.
fn hint(col: &ColumnSpec, choices: Option<&Choices>) -> String {
    let mut parts: Vec<String> = Vec::new();
    if col.required {
        parts.push("必填".into());
    }
    if col.is_enum() {
        parts.push(format!("从下拉列表选择：{}", col.values.join("、")));
    } else if let Some(c) = choices.filter(|c| !c.rows.is_empty()) {
        parts.push(format!(
            "从下拉列表选择名称，或填编号（共{}个，如“{}”）",
            c.rows.len(),
            c.rows[0].1
        ));
    }
    match (col.ty, col.check) {
        (ColumnType::Date, _) => parts.push("日期，如 2021-07-01；只知年月可填 1985-10".into()),
        (ColumnType::Timestamp, _) => parts.push("日期时间，如 2021-07-01 09:30".into()),
        (ColumnType::Int, _) => parts.push("整数".into()),
        (ColumnType::Float, _) => parts.push("数值，小数用小数点".into()),
        (ColumnType::Bool, _) => parts.push("是 或 否".into()),
        (_, Some(Check::CnIdCard)) => {
            parts.push("18位身份证号（末位可为X），须与出生日期、性别一致".into())
        }
        (_, Some(Check::Phone)) => parts.push("11位手机号，或带区号的固定电话".into()),
        (_, Some(Check::Code)) => parts.push("编号：字母、数字、-、_".into()),
        _ if col.text => parts.push("自由填写的文字，可多句".into()),
        _ if !col.is_enum() && choices.is_none_or(|c| c.rows.is_empty()) => {
            parts.push("文本".into())
        }
        _ => {}
    }
    if let (Some(lo), Some(hi)) = (col.min, col.max) {
        parts.push(format!("范围 {lo}～{hi}"));
    }
    if col.personal {
        parts.push("个人信息".into());
    }
    if let Some(d) = &col.description {
        parts.push(d.clone());
    }
    parts.join("；")
}

/// A value that passes the column's checks.
fn example(col: &ColumnSpec, choices: Option<&Choices>) -> String {
    if let Some(v) = col.values.first() {
        return v.clone();
    }
    if let Some(c) = choices.and_then(|c| c.rows.first()) {
        return c.1.clone();
    }
    match (col.ty, col.check) {
        // The example row agrees with itself: born as the example ID number says, a man.
        (ColumnType::Date, _) if col.name == "birth_date" => "1949-12-31".into(),
        (ColumnType::Date, _) => "2021-07-01".into(),
        (ColumnType::Timestamp, _) => "2021-07-01 09:30".into(),
        (ColumnType::Int, _) => col.min.map_or(2025, |m| m as i64).to_string(),
        (ColumnType::Float, _) => col.max.map_or(1.0, |m| m.min(95.0)).to_string(),
        (ColumnType::Bool, _) => "是".into(),
        (_, Some(Check::CnIdCard)) => "110105194912310038".into(),
        (_, Some(Check::Phone)) => "13800138000".into(),
        (_, Some(Check::Code)) => "M0001".into(),
        _ if col.text => "按时参加组织生活".into(),
        _ => col.label.clone(),
    }
}
