//! Arrow record batches from the query layer as polars data frames, through the Arrow C data
//! interface: the buffers DataFusion produced are shared, not copied.

use arrow::array::{Array, RecordBatch, new_empty_array};
use arrow::datatypes::SchemaRef;
use polars::prelude::*;
use polars_arrow::ffi;

use crate::error::{Error, Result};

/// One column of Arrow data as a polars array (shared buffers).
fn to_polars_array(array: &dyn Array) -> Result<Box<dyn polars_arrow::array::Array>> {
    let (c_array, c_schema) = arrow::ffi::to_ffi(&array.to_data())?;
    // SAFETY: both crates define these structs from the Arrow C data interface
    // (`struct ArrowArray`, `struct ArrowSchema`) with `#[repr(C)]` and the same fields;
    // ownership (and the release callback) moves with the value, and polars imports them
    // exactly as the interface prescribes.
    unsafe {
        let c_schema: ffi::ArrowSchema = std::mem::transmute(c_schema);
        let c_array: ffi::ArrowArray = std::mem::transmute(c_array);
        let field = ffi::import_field_from_c(&c_schema)?;
        Ok(ffi::import_array_from_c(c_array, field.dtype)?)
    }
}

/// The query result as a data frame (column names as in the result).
pub fn to_frame(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<DataFrame> {
    let mut columns = Vec::with_capacity(schema.fields().len());
    for (i, field) in schema.fields().iter().enumerate() {
        let mut chunks = Vec::with_capacity(batches.len().max(1));
        for b in batches {
            chunks.push(to_polars_array(b.column(i).as_ref())?);
        }
        if chunks.is_empty() {
            chunks.push(to_polars_array(
                new_empty_array(field.data_type()).as_ref(),
            )?);
        }
        let series = Series::try_from((PlSmallStr::from_str(field.name()), chunks))
            .map_err(|e| Error::Frame(format!("column `{}`: {e}", field.name())))?;
        columns.push(series.into_column());
    }
    Ok(DataFrame::new_infer_height(columns)?)
}

/// One column of a query result as strings (null as ""), through the same conversion.
pub fn column_strings(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    column: &str,
) -> Result<Vec<String>> {
    crate::util::strings(&to_frame(schema, batches)?, column)
}
