//! SQL functions analysts need that DataFusion lacks: `mask_id(id_number)` and
//! `mask_phone(phone)` and `mask_birth(date)` (the masks a department without the personal
//! grant sees, `32**************3X` / `138****5678` / the 1st of January of the year), `pinyin(name)` (a name's everyday reading),
//! `segment(text)` (jieba words, a list), `age(birth_date[, as_of])` and
//! `party_age(join_date[, as_of])` (whole years, as of today unless given), and
//! `sentiment(text)` (-1 … 1, from the text crate's lexicon).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, StringArray};
use arrow::datatypes::DataType;
use dangan_datasets::Mask;
use dangan_text::sentiment::Analyzer;
use datafusion::common::Result;
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};
use datafusion::prelude::SessionContext;

use crate::calendar::Calendar;

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

/// An ID number as departments without the personal grant see it: the province and the
/// last two characters. With the birth date shown only as its year and the gender known,
/// even a reader who knows the county is left with the days of the year × 100 sequence
/// prefixes ÷ 11 check digits ≈ 3,300 candidates (the test `a_masked_id_keeps_a_thousand_candidates` counts them).
pub fn mask_id(s: &str) -> String {
    mask(s, 2, 2)
}

/// A phone number as departments without the personal grant see it.
pub fn mask_phone(s: &str) -> String {
    mask(s, 3, 4)
}

/// The result of a function: a scalar when every argument was one, else the array.
fn columnar(args: &[ColumnarValue], out: ArrayRef) -> Result<ColumnarValue> {
    Ok(
        if args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_))) {
            ColumnarValue::Scalar(datafusion::scalar::ScalarValue::try_from_array(&out, 0)?)
        } else {
            ColumnarValue::Array(out)
        },
    )
}

/// A one-string-in, one-string-out function over arrays and scalars (nulls stay null).
fn string_udf(name: &str, f: fn(&str) -> String) -> ScalarUDF {
    let fun = move |args: &[ColumnarValue]| -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(args)?;
        let input = arrow::compute::cast(&arrays[0], &DataType::Utf8)?;
        let input = input.as_string::<i32>();
        let out: StringArray = input.iter().map(|v| v.map(f)).collect();
        let out: ArrayRef = Arc::new(out);
        columnar(args, out)
    };
    create_udf(
        name,
        vec![DataType::Utf8],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(fun),
    )
}

/// A personal date as text (a cell of a rejected row): its first four digits, the year,
/// and a `*` for every later digit.
pub fn mask_year_text(s: &str) -> String {
    let mut digits = 0;
    s.chars()
        .map(|c| {
            if c.is_ascii_digit() {
                digits += 1;
                if digits > 4 {
                    return '*';
                }
            }
            c
        })
        .collect()
}

/// A personal value as text, masked as its column's mask says.
pub fn mask_text(mask: Mask, s: &str) -> String {
    match mask {
        Mask::IdNumber => mask_id(s),
        Mask::Phone => mask_phone(s),
        Mask::Year => mask_year_text(s),
    }
}

/// The expression a department without the personal grant sees for a personal column.
pub fn mask_expr(
    arg: datafusion::logical_expr::Expr,
    mask: Mask,
) -> datafusion::logical_expr::Expr {
    match mask {
        Mask::Phone => string_udf("mask_phone", mask_phone).call(vec![arg]),
        Mask::Year => mask_birth_udf().call(vec![arg]),
        Mask::IdNumber => string_udf("mask_id", mask_id).call(vec![arg]),
    }
}

/// `mask_birth(date)`: the 1st of January of the date's year (a timestamp's date's).
fn mask_birth_udf() -> ScalarUDF {
    let fun = |args: &[ColumnarValue]| -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(args)?;
        let days = arrow::compute::cast(&arrays[0], &DataType::Date32)?;
        let days = days.as_primitive::<arrow::datatypes::Date32Type>();
        let out: arrow::array::Date32Array = days.iter().map(|d| d.map(first_of_year)).collect();
        columnar(args, Arc::new(out))
    };
    create_udf(
        "mask_birth",
        vec![DataType::Date32],
        DataType::Date32,
        Volatility::Immutable,
        Arc::new(fun),
    )
}

/// The 1st of January of the year of a day counted from 1970-01-01.
fn first_of_year(days: i32) -> i32 {
    chrono::NaiveDate::from_epoch_days(days)
        .and_then(|d| chrono::NaiveDate::from_ymd_opt(chrono::Datelike::year(&d), 1, 1))
        .map_or(days, |d| d.to_epoch_days())
}

/// Whole years from `from` to `to` (a birthday not reached yet this year does not count).
pub fn years_between(from: chrono::NaiveDate, to: chrono::NaiveDate) -> i32 {
    let cal = Calendar::get();
    whole_years(
        cal.civil(from.to_epoch_days()),
        cal.civil(to.to_epoch_days()),
    )
}

/// Whole years between two `civil` days: the year difference, less one before the birthday.
fn whole_years((y1, md1): (i32, u32), (y2, md2): (i32, u32)) -> i32 {
    y2 - y1 - i32::from(md2 < md1)
}

/// `age(date[, as_of])` and `party_age(date[, as_of])`: whole years since a date.
#[derive(Debug, PartialEq, Eq, Hash)]
struct YearsSince {
    name: &'static str,
    signature: datafusion::logical_expr::Signature,
}

impl YearsSince {
    fn new(name: &'static str) -> Self {
        use datafusion::logical_expr::{Signature, TypeSignature};
        YearsSince {
            name,
            signature: Signature::one_of(
                vec![TypeSignature::Any(1), TypeSignature::Any(2)],
                // "as of today" without the second argument.
                Volatility::Stable,
            ),
        }
    }
}

impl datafusion::logical_expr::ScalarUDFImpl for YearsSince {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &datafusion::logical_expr::Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int32)
    }

    fn invoke_with_args(
        &self,
        args: datafusion::logical_expr::ScalarFunctionArgs,
    ) -> Result<ColumnarValue> {
        use arrow::array::{Date32Array, Int32Array};
        use arrow::compute::kernels::arity::{binary, unary};
        use datafusion::common::ScalarValue;
        let date = |a: &ArrayRef| -> Result<Date32Array> {
            Ok(arrow::compute::cast(a, &DataType::Date32)?
                .as_primitive::<arrow::datatypes::Date32Type>()
                .clone())
        };
        // The as-of day: a constant (the usual case: one date, or today) is converted once.
        let cal = Calendar::get();
        let as_of_const = match args.args.get(1) {
            None => {
                let today = chrono::Local::now().date_naive();
                Some(Some(cal.civil(today.to_epoch_days())))
            }
            Some(ColumnarValue::Scalar(v)) => match v.cast_to(&DataType::Date32)? {
                ScalarValue::Date32(d) => Some(d.map(|d| cal.civil(d))),
                _ => None,
            },
            Some(ColumnarValue::Array(_)) => None,
        };
        let out: Int32Array = match (&args.args[0], as_of_const) {
            (_, Some(None)) => Int32Array::new_null(args.number_rows),
            (from, Some(Some(to))) => {
                let from = date(&from.to_array(args.number_rows)?)?;
                unary(&from, |d| whole_years(cal.civil(d), to))
            }
            (from, None) => {
                let from = date(&from.to_array(args.number_rows)?)?;
                let to = date(&args.args[1].to_array(args.number_rows)?)?;
                binary(&from, &to, |a, b| whole_years(cal.civil(a), cal.civil(b)))?
            }
        };
        if out.len() == 1
            && args
                .args
                .iter()
                .all(|a| matches!(a, ColumnarValue::Scalar(_)))
        {
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?));
        }
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

/// `segment(text)`: the jieba words of a text (punctuation dropped), as a list.
fn segment_udf() -> ScalarUDF {
    use arrow::array::{ListBuilder, StringBuilder};
    let item = Arc::new(arrow::datatypes::Field::new_list_field(
        DataType::Utf8,
        true,
    ));
    let fun = move |args: &[ColumnarValue]| -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(args)?;
        let input = arrow::compute::cast(&arrays[0], &DataType::Utf8)?;
        let input = input.as_string::<i32>();
        let mut b = ListBuilder::new(StringBuilder::new());
        for v in input.iter() {
            match v {
                Some(t) => {
                    for w in dangan_text::segment(t) {
                        b.values().append_value(w);
                    }
                    b.append(true);
                }
                None => b.append(false),
            }
        }
        let out: ArrayRef = Arc::new(b.finish());
        columnar(args, out)
    };
    create_udf(
        "segment",
        vec![DataType::Utf8],
        DataType::List(item),
        Volatility::Immutable,
        Arc::new(fun),
    )
}

/// Texts per thread below which a batch is scored on the calling thread alone.
const SCORE_CHUNK: usize = 256;

/// `sentiment(text)`: from -1 (negative) to 1 (positive); inside ±0.1 when there is no
/// evidence either way; 0 with nothing to go on. A batch is scored on every core: a file
/// scan's partitions are byte ranges cut before the filter, so the rows a report keeps can
/// all sit in one partition, and scoring is nearly all of such a query's time.
fn sentiment_udf(analyzer: Analyzer) -> ScalarUDF {
    let fun = move |args: &[ColumnarValue]| -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(args)?;
        let input = arrow::compute::cast(&arrays[0], &DataType::Utf8)?;
        let texts = input.as_string::<i32>();
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(texts.len() / SCORE_CHUNK)
            .max(1);
        let mut scores: Vec<Option<f64>> = vec![None; texts.len()];
        let chunk = texts.len().div_ceil(threads).max(1);
        let score_part = |from: usize, part: &mut [Option<f64>]| {
            for (k, slot) in part.iter_mut().enumerate() {
                let i = from + k;
                *slot = texts.is_valid(i).then(|| analyzer.score(texts.value(i)));
            }
        };
        if threads == 1 {
            score_part(0, &mut scores);
        } else {
            std::thread::scope(|s| {
                for (n, part) in scores.chunks_mut(chunk).enumerate() {
                    let score_part = &score_part;
                    s.spawn(move || score_part(n * chunk, part));
                }
            });
        }
        let out: ArrayRef = Arc::new(arrow::array::Float64Array::from(scores));
        columnar(args, out)
    };
    create_udf(
        "sentiment",
        vec![DataType::Utf8],
        DataType::Float64,
        Volatility::Immutable,
        Arc::new(fun),
    )
}

/// Register every function on a session; `sentiment()` scores with `analyzer` (the lake's,
/// [`crate::text_model::analyzer`]).
pub fn register(ctx: &SessionContext, analyzer: &Analyzer) {
    ctx.register_udf(sentiment_udf(analyzer.clone()));
    ctx.register_udf(crate::date_part::date_part());
    ctx.register_udf(crate::date_trunc::date_trunc());
    ctx.register_udf(ScalarUDF::from(YearsSince::new("age")));
    ctx.register_udf(ScalarUDF::from(YearsSince::new("party_age")));
    ctx.register_udf(segment_udf());
    ctx.register_udf(string_udf("mask_id", mask_id));
    ctx.register_udf(string_udf("mask_phone", mask_phone));
    ctx.register_udf(mask_birth_udf());
    ctx.register_udf(string_udf("pinyin", dangan_text::name_pinyin));
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Array;

    #[test]
    fn masks_keep_the_ends() {
        assert_eq!(mask_id("32010219800101123X"), "32**************3X");
        assert_eq!(mask_year_text("1980-01-02"), "1980-**-**");
        assert_eq!(mask_year_text("1980年1月"), "1980年*月");
        let d = |y, m, day| {
            chrono::NaiveDate::from_ymd_opt(y, m, day)
                .unwrap()
                .to_epoch_days()
        };
        assert_eq!(first_of_year(d(1980, 7, 31)), d(1980, 1, 1));
        assert_eq!(first_of_year(d(1969, 12, 31)), d(1969, 1, 1));
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("123"), "***");
    }

    /// Everything a masked grant sees of a member that bears on the ID number — the masked
    /// number, the birth date as masked (its year) and the gender — leaves at least 1,000
    /// numbers possible, even to a reader who knows the member's county (the worst case: a
    /// branch's members mostly share one). Random members, every candidate counted.
    #[test]
    fn a_masked_id_keeps_a_thousand_candidates() {
        let regions = ["320102", "110105", "440305", "510107", "650102", "330106"];
        let mut seed: u64 = 0x5eed;
        let mut next = |n: u64| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) % n
        };
        let mut fewest = usize::MAX;
        for _ in 0..24 {
            let region = regions[next(regions.len() as u64) as usize];
            let birth = chrono::NaiveDate::from_ymd_opt(1940, 1, 1).unwrap()
                + chrono::Duration::days(next(65 * 365) as i64);
            let seq = next(1000) as u32;
            let id = dangan_datasets::idcard::make(region, birth, seq);
            let seen = mask_id(&id);
            let year = chrono::Datelike::year(&birth);
            let male = seq % 2 == 1;
            let mut candidates = 0;
            let mut day = chrono::NaiveDate::from_ymd_opt(year, 1, 1).unwrap();
            while chrono::Datelike::year(&day) == year {
                // A sequence ending in another digit shows another 17th character.
                for s in (seq % 10..1000).step_by(10) {
                    if (s % 2 == 1) == male
                        && mask_id(&dangan_datasets::idcard::make(region, day, s)) == seen
                    {
                        candidates += 1;
                    }
                }
                day = day.succ_opt().unwrap();
            }
            fewest = fewest.min(candidates);
            assert!(candidates >= 1000, "{seen}: only {candidates} candidates");
        }
        assert!(fewest < 10_000, "the count is real: {fewest}");
    }

    #[test]
    fn sentiment_of_a_batch_on_every_core_is_each_texts_own() {
        let texts: Vec<Option<String>> = (0..3000)
            .map(|i| match i % 4 {
                0 => None,
                1 => Some(format!("第{i}次活动内容丰富，非常满意")),
                2 => Some(format!("第{i}次会议走过场，形式主义")),
                _ => Some(format!("第{i}号通知")),
            })
            .collect();
        let array: ArrayRef = Arc::new(arrow::array::StringArray::from(texts.clone()));
        let udf = sentiment_udf(Analyzer::shipped().clone());
        let args = datafusion::logical_expr::ScalarFunctionArgs {
            args: vec![ColumnarValue::Array(array)],
            arg_fields: vec![Arc::new(arrow::datatypes::Field::new(
                "t",
                DataType::Utf8,
                true,
            ))],
            number_rows: texts.len(),
            return_field: Arc::new(arrow::datatypes::Field::new("s", DataType::Float64, true)),
            config_options: Arc::new(Default::default()),
        };
        let ColumnarValue::Array(out) = udf.invoke_with_args(args).unwrap() else {
            panic!("an array")
        };
        let out = out.as_primitive::<arrow::datatypes::Float64Type>();
        assert_eq!(out.len(), texts.len());
        for (i, t) in texts.iter().enumerate() {
            match t {
                None => assert!(out.is_null(i)),
                Some(t) => assert_eq!(out.value(i), dangan_text::sentiment(t), "{t}"),
            }
        }
    }

    #[tokio::test]
    async fn functions_work_in_sql_on_columns_scalars_and_nulls() {
        let ctx = SessionContext::new();
        register(&ctx, Analyzer::shipped());
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
        assert_eq!(col(0).value(0), "32**************3X");
        assert!(col(0).is_null(1));
        assert_eq!(col(1).value(1), "138****5678");
        assert_eq!(col(2).value(0), "zhangwei");
        assert_eq!(col(2).value(1), "zengxiaoming");
    }

    #[test]
    fn whole_years_count_the_birthday() {
        let d = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
        assert_eq!(years_between(d("1980-06-15"), d("2025-06-14")), 44);
        assert_eq!(years_between(d("1980-06-15"), d("2025-06-15")), 45);
        assert_eq!(years_between(d("2000-02-29"), d("2025-02-28")), 24);
    }

    #[tokio::test]
    async fn ages_and_words_in_sql() {
        let ctx = SessionContext::new();
        register(&ctx, Analyzer::shipped());
        let batches = ctx
            .sql(
                "select age(d, date '2025-06-14') as a, party_age('2001-07-01', '2025-07-01') as p, \
                 age(null) as n, array_length(segment('参加三会一课和主题党日')) as w, \
                 age(d) >= 44 as today \
                 from (values (date '1980-06-15')) t(d)",
            )
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let b = &batches[0];
        let int = |i: usize| {
            b.column(i)
                .as_primitive::<arrow::datatypes::Int32Type>()
                .value(0)
        };
        assert_eq!(int(0), 44);
        assert_eq!(int(1), 24);
        assert!(b.column(2).is_null(0));
        assert_eq!(
            b.column(3)
                .as_primitive::<arrow::datatypes::UInt64Type>()
                .value(0),
            4,
            "参加 / 三会一课 / 和 / 主题党日"
        );
        assert!(b.column(4).as_boolean().value(0));
    }
}
