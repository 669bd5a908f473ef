//! SQL functions analysts need that DataFusion lacks: `mask_id(id_number)` and
//! `mask_phone(phone)` (the masks a department without the personal grant sees,
//! `3201**********123X` / `138****5678`), and `pinyin(name)` (a name's everyday reading).

use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, StringArray};
use arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};
use datafusion::prelude::SessionContext;

/// Keep the first `head` and last `tail` characters, a `*` for each one between; text too
/// short to hide anything in is all stars.
pub fn mask(s: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = s.trim().chars().collect();
    if chars.len() <= head + tail {
        return "*".repeat(chars.len());
    }
    let mut out: String = chars[..head].iter().collect();
    out.extend(std::iter::repeat_n('*', chars.len() - head - tail));
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// An ID number as departments without the personal grant see it: region and check part.
pub fn mask_id(s: &str) -> String {
    mask(s, 4, 4)
}

/// A phone number as departments without the personal grant see it.
pub fn mask_phone(s: &str) -> String {
    mask(s, 3, 4)
}

/// A one-string-in, one-string-out function over arrays and scalars (nulls stay null).
fn string_udf(name: &str, f: fn(&str) -> String) -> ScalarUDF {
    let fun = move |args: &[ColumnarValue]| -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(args)?;
        let input = arrow::compute::cast(&arrays[0], &DataType::Utf8)?;
        let input = input.as_string::<i32>();
        let out: StringArray = input.iter().map(|v| v.map(f)).collect();
        let out: ArrayRef = Arc::new(out);
        Ok(
            if args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_))) {
                ColumnarValue::Scalar(datafusion::scalar::ScalarValue::try_from_array(&out, 0)?)
            } else {
                ColumnarValue::Array(out)
            },
        )
    };
    create_udf(
        name,
        vec![DataType::Utf8],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(fun),
    )
}

/// The mask a department without the personal grant sees for a personal column: phones
/// keep 3 + 4 digits, anything else (ID numbers) 4 + 4 characters.
pub fn mask_expr(column: &str) -> datafusion::logical_expr::Expr {
    let arg = datafusion::logical_expr::col(column);
    if column.contains("phone") {
        string_udf("mask_phone", mask_phone).call(vec![arg])
    } else {
        string_udf("mask_id", mask_id).call(vec![arg])
    }
}

/// Register every function on a session.
pub fn register(ctx: &SessionContext) {
    ctx.register_udf(string_udf("mask_id", mask_id));
    ctx.register_udf(string_udf("mask_phone", mask_phone));
    ctx.register_udf(string_udf("pinyin", dangan_text::name_pinyin));
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Array;

    #[test]
    fn masks_keep_the_ends() {
        assert_eq!(mask_id("32010219800101123X"), "3201**********123X");
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("123"), "***");
    }

    #[tokio::test]
    async fn functions_work_in_sql_on_columns_scalars_and_nulls() {
        let ctx = SessionContext::new();
        register(&ctx);
        let batches = ctx
            .sql(
                "select mask_id(id) as m, mask_phone('13812345678') as p, pinyin(n) as y \
                 from (values ('32010219800101123X', '张伟'), (null, '曾小明')) t(id, n)",
            )
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let b = &batches[0];
        let col = |i: usize| b.column(i).as_string::<i32>().clone();
        assert_eq!(col(0).value(0), "3201**********123X");
        assert!(col(0).is_null(1));
        assert_eq!(col(1).value(1), "138****5678");
        assert_eq!(col(2).value(0), "zhangwei");
        assert_eq!(col(2).value(1), "zengxiaoming");
    }
}
