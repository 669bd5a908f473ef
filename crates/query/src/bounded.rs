//! Functions that build a value far larger than their arguments — `repeat('x', 1000000000)`,
//! `lpad`, `rpad`, `array_repeat`, `range`/`generate_series` as scalars — with a bound on
//! what one call may build.
//!
//! What such a call allocates is not memory DataFusion accounts for (the pool bounds sorts,
//! hash tables and joins), and one `select length(repeat('x', 1000000000))` took a server
//! from 130 MB to 3.9 GB. Each is registered here in place of DataFusion's own, which it calls
//! after estimating the bytes the call would build over its whole batch: past
//! [`MAX_BUILT_BYTES`] the query fails with a message saying so. The statement budget
//! (`guard.rs`) limits how many such calls one statement may hold, so a statement can build
//! at most their product.

use arrow::array::{Array, AsArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type};
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF};
use datafusion::prelude::SessionContext;

use crate::wrapped::{Call, Wrapped};

/// What one call may build over one batch.
pub const MAX_BUILT_BYTES: u128 = 16 << 20;

/// The functions bounded here, and how the size of what they build is estimated.
const BOUNDED: &[(&str, Estimate)] = &[
    ("repeat", Estimate::Repeat),
    ("lpad", Estimate::Pad),
    ("rpad", Estimate::Pad),
    ("array_repeat", Estimate::Count(8)),
    ("range", Estimate::Range),
    ("generate_series", Estimate::Range),
];

/// The names of the bounded functions (the statement budget counts their calls).
pub fn names() -> impl Iterator<Item = &'static str> {
    BOUNDED.iter().map(|(n, _)| *n)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Estimate {
    /// `repeat(text, n)`: the text's bytes × n, row by row.
    Repeat,
    /// `lpad(text, n [, fill])`: n characters of up to 4 bytes.
    Pad,
    /// The second argument × bytes per element.
    Count(u128),
    /// `range([start,] stop [, step])` of integers: (stop − start) / step elements of 8 bytes.
    Range,
}

/// The call of a DataFusion function with a bound on what it builds ([`Wrapped`]: every
/// other trait the function's own).
#[derive(Debug, PartialEq, Eq, Hash)]
struct Bounded {
    estimate: Estimate,
}

/// Replace the session's own versions of the bounded functions.
pub fn register(ctx: &SessionContext) {
    let state = ctx.state();
    let functions = state.scalar_functions();
    for (name, estimate) in BOUNDED {
        if let Some(inner) = functions.get(*name) {
            ctx.register_udf(Wrapped::udf(
                inner.clone(),
                Bounded {
                    estimate: *estimate,
                },
            ));
        }
    }
}

/// Argument `k` of every row as whole numbers (`None` where null or not a number).
fn ints(args: &[ColumnarValue], k: usize, rows: usize) -> Option<Vec<Option<i64>>> {
    let arg = args.get(k)?;
    let array = arg.to_array(rows.max(1)).ok()?;
    if !array.data_type().is_integer() {
        return None;
    }
    let array = cast(&array, &DataType::Int64).ok()?;
    let array = array.as_primitive::<Int64Type>();
    Some(array.iter().collect())
}

/// Bytes of argument `k`'s text in every row.
fn text_bytes(args: &[ColumnarValue], k: usize, rows: usize) -> Option<Vec<u128>> {
    let array = args.get(k)?.to_array(rows.max(1)).ok()?;
    let array = cast(&array, &DataType::Utf8).ok()?;
    let array = array.as_string::<i32>();
    Some(
        (0..array.len())
            .map(|i| {
                if array.is_valid(i) {
                    array.value(i).len() as u128
                } else {
                    0
                }
            })
            .collect(),
    )
}

impl Bounded {
    /// The bytes this call would build over its batch (an estimate from above; `0` where it
    /// cannot tell, and DataFusion's own checks then apply).
    fn built(&self, args: &ScalarFunctionArgs) -> u128 {
        let rows = args.number_rows;
        let a = &args.args;
        let positive = |v: Option<i64>| v.map_or(0, |n| n.max(0) as u128);
        match self.estimate {
            Estimate::Repeat => match (text_bytes(a, 0, rows), ints(a, 1, rows)) {
                (Some(t), Some(n)) => t
                    .iter()
                    .zip(n)
                    .map(|(t, n)| t.saturating_mul(positive(n)))
                    .fold(0u128, u128::saturating_add),
                _ => 0,
            },
            Estimate::Pad => ints(a, 1, rows).map_or(0, |n| {
                n.into_iter()
                    .map(|n| positive(n).saturating_mul(4))
                    .fold(0, u128::saturating_add)
            }),
            Estimate::Count(each) => ints(a, 1, rows).map_or(0, |n| {
                n.into_iter()
                    .map(|n| positive(n).saturating_mul(each))
                    .fold(0, u128::saturating_add)
            }),
            Estimate::Range => {
                let cols: Option<Vec<Vec<Option<i64>>>> =
                    (0..a.len()).map(|k| ints(a, k, rows)).collect();
                let Some(cols) = cols else { return 0 };
                let n = cols.first().map_or(0, Vec::len);
                (0..n)
                    .map(|i| {
                        let v = |k: usize| cols.get(k).and_then(|c| c[i]);
                        let (start, stop, step) = match a.len() {
                            1 => (Some(0), v(0), Some(1)),
                            2 => (v(0), v(1), Some(1)),
                            _ => (v(0), v(1), v(2)),
                        };
                        match (start, stop, step) {
                            (Some(s), Some(e), Some(st)) if st != 0 => {
                                (((e as i128 - s as i128) / st as i128).unsigned_abs() + 1)
                                    .saturating_mul(8)
                            }
                            _ => 0,
                        }
                    })
                    .fold(0, u128::saturating_add)
            }
        }
    }
}

impl Call for Bounded {
    fn call(&self, inner: &ScalarUDF, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let built = self.built(&args);
        if built > MAX_BUILT_BYTES {
            return exec_err!(
                "结果过大 {}() would build {} MB in one step, at most {} MB are allowed",
                inner.name(),
                built >> 20,
                MAX_BUILT_BYTES >> 20
            );
        }
        inner.invoke_with_args(args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn run(ctx: &SessionContext, sql: &str) -> Result<usize> {
        let batches = ctx.sql(sql).await?.collect().await?;
        Ok(batches.iter().map(|b| b.num_rows()).sum())
    }

    #[tokio::test]
    async fn calls_that_would_build_too_much_are_refused_and_the_rest_work() {
        let ctx = SessionContext::new();
        register(&ctx);
        for ok in [
            "select repeat('ab', 3)",
            "select lpad('x', 10, '0'), rpad('x', 10)",
            "select array_repeat(1, 100)",
            "select range(1, 1000), generate_series(1, 10, 2)",
            "select repeat(s, 2) from (values ('a'), ('bb')) t(s)",
        ] {
            assert_eq!(
                run(&ctx, ok).await.unwrap(),
                if ok.contains("values") { 2 } else { 1 },
                "{ok}"
            );
        }
        let out = ctx
            .sql("select repeat('ab', 3) as r")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        assert_eq!(out[0].column(0).as_string::<i32>().value(0), "ababab");
        for big in [
            "select length(repeat('x', 1000000000))",
            "select length(lpad('x', 1000000000))",
            "select length(rpad('x', 1000000000, 'y'))",
            "select cardinality(array_repeat(1, 1000000000))",
            "select cardinality(range(1, 1000000000))",
            "select cardinality(generate_series(0, 4000000000, 2))",
            "select length(repeat(s, 3000000)) from (values ('abcdef'), ('ghijkl')) t(s)",
        ] {
            let e = run(&ctx, big).await.unwrap_err().to_string();
            assert!(e.contains("结果过大"), "{big}: {e}");
        }
    }
}
