//! Query results as files: Parquet (types kept) and an Excel workbook whose headers are the
//! Chinese labels of the dataset columns the result comes straight from.

use std::path::Path;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use arrow::util::display::array_value_to_string;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

use crate::error::{Error, Result};

/// Rows an Excel sheet holds, the header row included.
const XLSX_MAX_ROWS: usize = 1_048_576;

/// Write the rows as one Parquet file (one atomic rename: a reader never sees half a file).
pub fn write_parquet(path: &Path, schema: &SchemaRef, batches: &[RecordBatch]) -> Result<()> {
    let tmp = path.with_extension("parquet.partial");
    {
        let file = std::fs::File::create(&tmp)?;
        let mut w = datafusion::parquet::arrow::ArrowWriter::try_new(file, schema.clone(), None)
            .map_err(|e| Error::Xlsx(format!("parquet: {e}")))?;
        for b in batches {
            w.write(b)
                .map_err(|e| Error::Xlsx(format!("parquet: {e}")))?;
        }
        w.close()
            .map_err(|e| Error::Xlsx(format!("parquet: {e}")))?;
    }
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// Write the rows as an Excel sheet: `headers` (labels) over typed cells — numbers as
/// numbers, dates as dates — with the header row frozen and the columns fitted.
pub fn write_xlsx(
    path: &Path,
    headers: &[String],
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<()> {
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    if rows + 1 > XLSX_MAX_ROWS {
        return Err(Error::Xlsx(format!(
            "{rows} rows do not fit in one Excel sheet (at most {}): use --format parquet or csv, or narrow the query 结果超过 Excel 行数上限",
            XLSX_MAX_ROWS - 1
        )));
    }
    let x = |e: rust_xlsxwriter::XlsxError| Error::Xlsx(e.to_string());
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let datetime = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, h, &bold)
            .map_err(x)?;
    }
    let mut r = 1u32;
    for b in batches {
        for i in 0..b.num_rows() {
            for (c, col) in b.columns().iter().enumerate() {
                let c = c as u16;
                if col.is_null(i) {
                    continue;
                }
                match schema.field(c as usize).data_type() {
                    DataType::Int8
                    | DataType::Int16
                    | DataType::Int32
                    | DataType::Int64
                    | DataType::UInt8
                    | DataType::UInt16
                    | DataType::UInt32
                    | DataType::UInt64
                    | DataType::Float16
                    | DataType::Float32
                    | DataType::Float64
                    | DataType::Decimal128(_, _) => {
                        let v = arrow::compute::cast(&col.slice(i, 1), &DataType::Float64)?;
                        let v = v.as_primitive::<arrow::datatypes::Float64Type>().value(0);
                        ws.write_number(r, c, v).map_err(x)?;
                    }
                    DataType::Date32 => {
                        let days = col.as_primitive::<arrow::datatypes::Date32Type>().value(i);
                        match chrono::NaiveDate::from_epoch_days(days) {
                            Some(d) => {
                                let d = ExcelDateTime::parse_from_str(&d.to_string()).map_err(x)?;
                                ws.write_datetime_with_format(r, c, &d, &date).map_err(x)?;
                            }
                            // Outside chrono's calendar: the day number, as Arrow prints it.
                            None => {
                                ws.write_number(r, c, f64::from(days)).map_err(x)?;
                            }
                        }
                    }
                    DataType::Timestamp(_, _) => {
                        let s = array_value_to_string(col, i)?;
                        match ExcelDateTime::parse_from_str(&s.replace('T', " ")) {
                            Ok(d) => ws.write_datetime_with_format(r, c, &d, &datetime),
                            Err(_) => ws.write_string(r, c, &s),
                        }
                        .map_err(x)?;
                    }
                    DataType::Boolean => {
                        ws.write_boolean(r, c, col.as_boolean().value(i))
                            .map_err(x)?;
                    }
                    _ => {
                        ws.write_string(r, c, array_value_to_string(col, i)?)
                            .map_err(x)?;
                    }
                }
            }
            r += 1;
        }
    }
    ws.set_freeze_panes(1, 0).map_err(x)?;
    ws.autofit();
    let tmp = path.with_extension("xlsx.partial");
    wb.save(&tmp).map_err(x)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}
