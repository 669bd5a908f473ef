//! A table of an encrypted lake as SQL sees it: its personal values opened inside the scan
//! (`dangan_datasets::seal`), the look-up columns hidden, and `column = 'value'` on a sealed
//! column answered through the keyed hash, so a search by full ID number opens one value, not
//! every row's.
//!
//! Opening is this provider's own projection over the table's scan; the function that opens
//! is never registered in a session, so no statement can call it on anything else. A
//! department's view (`scope::view`) sits on top: its scope and masks apply to the opened
//! values, computed inside the engine. Without the key (`lake.toml` names a key that cannot be
//! read) the sealed values read as empty and everything else as usual.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use dangan_datasets::Lake;
use dangan_datasets::seal::{Keyring, SealedColumn, lookup_column, open_column};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{DFSchema, Result, ScalarValue};
use datafusion::datasource::TableType;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::{
    BinaryExpr, ColumnarValue, Expr, Operator, ScalarUDF, TableProviderFilterPushDown, Volatility,
    col, create_udf, lit,
};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::projection::ProjectionExec;

/// `inner` (table `name` as stored) as SQL reads it: itself when nothing of it is sealed.
pub(crate) fn unsealed(
    lake: &Lake,
    name: &str,
    inner: Arc<dyn TableProvider>,
) -> Arc<dyn TableProvider> {
    let stored = inner.schema();
    let sealed: Vec<SealedColumn> = lake
        .sealed_columns(name)
        .into_iter()
        .filter(|s| {
            stored
                .field_with_name(&s.name)
                .is_ok_and(|f| matches!(f.data_type(), DataType::Utf8 | DataType::Utf8View))
        })
        .collect();
    if sealed.is_empty() {
        return inner;
    }
    let keys = match lake.keyring() {
        Ok(k) => k,
        Err(e) => {
            warn_once(&e.to_string());
            None
        }
    };
    let hidden: Vec<String> = sealed.iter().map(|s| lookup_column(&s.name)).collect();
    let mut fields = Vec::new();
    let mut outer_to_inner = Vec::new();
    for (i, f) in stored.fields().iter().enumerate() {
        if hidden.contains(f.name()) {
            continue;
        }
        outer_to_inner.push(i);
        fields.push(match sealed.iter().find(|s| &s.name == f.name()) {
            Some(s) => Field::new(f.name(), s.plain.clone(), true),
            None => f.as_ref().clone(),
        });
    }
    Arc::new(SealedTable {
        inner,
        schema: Arc::new(Schema::new(fields)),
        outer_to_inner,
        sealed,
        keys,
    })
}

/// Say once per process that the key is missing (each session would say it again).
fn warn_once(why: &str) {
    static SAID: std::sync::Once = std::sync::Once::new();
    SAID.call_once(|| {
        eprintln!(
            "warning: {why}; personal values read as empty until the key is there \
             个人信息已加密，缺少密钥"
        )
    });
}

/// A table whose sealed columns are opened in its scan (see the module).
#[derive(Debug)]
pub struct SealedTable {
    inner: Arc<dyn TableProvider>,
    /// The plain schema: sealed columns of their own types, no look-up columns.
    schema: SchemaRef,
    /// Column `i` of `schema` is column `outer_to_inner[i]` of the stored table.
    outer_to_inner: Vec<usize>,
    sealed: Vec<SealedColumn>,
    keys: Option<Arc<Keyring>>,
}

impl SealedTable {
    fn sealed(&self, column: &str) -> Option<&SealedColumn> {
        self.sealed.iter().find(|s| s.name == column)
    }

    /// `filter` as the stored table can take it: unchanged when it names no sealed column,
    /// `c_hmac = hash('v')` for `c = 'v'` on a sealed column with a look-up column, else
    /// `None` (evaluated above, on opened values).
    fn stored_filter(&self, filter: &Expr) -> Option<Expr> {
        let names_sealed = filter
            .column_refs()
            .iter()
            .any(|c| self.sealed(&c.name).is_some());
        if !names_sealed {
            return Some(filter.clone());
        }
        let keys = self.keys.as_ref()?;
        let Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::Eq,
            right,
        }) = filter
        else {
            return None;
        };
        let (column, value) = match (left.as_ref(), right.as_ref()) {
            (Expr::Column(c), Expr::Literal(v, _)) | (Expr::Literal(v, _), Expr::Column(c)) => {
                (c, v)
            }
            _ => return None,
        };
        let s = self.sealed(&column.name).filter(|s| s.lookup)?;
        // The text the value was sealed from: a date as `YYYY-MM-DD`, like the stored rows.
        let text = match value {
            ScalarValue::Utf8(Some(v))
            | ScalarValue::Utf8View(Some(v))
            | ScalarValue::LargeUtf8(Some(v)) => v.clone(),
            ScalarValue::Date32(Some(_)) if s.plain == DataType::Date32 => value.to_string(),
            _ => return None,
        };
        // The literal of the stored column's own string type: a cast in the condition would
        // keep the Parquet reader from its bloom filters.
        let hash = keys.lookup(&text);
        let value = match self.inner.schema().field_with_name(&lookup_column(&s.name)) {
            Ok(f) if f.data_type() == &DataType::Utf8View => ScalarValue::Utf8View(Some(hash)),
            _ => ScalarValue::Utf8(Some(hash)),
        };
        Some(col(lookup_column(&s.name)).eq(lit(value)))
    }
}

#[async_trait]
impl TableProvider for SealedTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        // Inexact: conditions are checked again above, on the opened values.
        Ok(filters
            .iter()
            .map(|f| match self.stored_filter(f) {
                Some(_) => TableProviderFilterPushDown::Inexact,
                None => TableProviderFilterPushDown::Unsupported,
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let wanted: Vec<usize> = match projection {
            Some(p) => p.clone(),
            None => (0..self.schema.fields().len()).collect(),
        };
        let mut read: Vec<usize> = wanted.iter().map(|&i| self.outer_to_inner[i]).collect();
        // DataFusion's listing table leaves conditions to a filter above its scan (pushed into
        // the Parquet reader by the physical optimizer): the look-up conditions are that
        // filter here, below the opening, so only the rows they keep are opened.
        let lookups: Vec<Expr> = filters
            .iter()
            .filter(|f| {
                f.column_refs()
                    .iter()
                    .any(|c| self.sealed(&c.name).is_some())
            })
            .filter_map(|f| self.stored_filter(f))
            .collect();
        let stored = self.inner.schema();
        for f in &lookups {
            for c in f.column_refs() {
                let i = stored.index_of(&c.name)?;
                if !read.contains(&i) {
                    read.push(i);
                }
            }
        }
        let limit = if filters.is_empty() { limit } else { None };
        let mut input = self.inner.scan(state, Some(&read), &[], limit).await?;
        let opens = wanted
            .iter()
            .any(|&i| self.sealed(self.schema.field(i).name()).is_some());
        if !opens && lookups.is_empty() {
            return Ok(input);
        }
        let input_schema = DFSchema::try_from(input.schema())?;
        if let Some(condition) = lookups.into_iter().reduce(Expr::and) {
            let predicate = state.create_physical_expr(condition, &input_schema)?;
            input = Arc::new(FilterExec::try_new(predicate, input)?);
        }
        let mut exprs = Vec::with_capacity(wanted.len());
        for &i in &wanted {
            let name = self.schema.field(i).name();
            let column = Expr::Column(
                input_schema
                    .qualified_field_with_unqualified_name(name)
                    .map(|(q, f)| datafusion::common::Column::new(q.cloned(), f.name()))?,
            );
            let expr = match self.sealed(name) {
                Some(s) => Expr::ScalarFunction(ScalarFunction::new_udf(
                    Arc::new(open_udf(s.plain.clone(), self.keys.clone())),
                    vec![column],
                )),
                None => column,
            };
            let physical = state.create_physical_expr(expr, &input_schema)?;
            exprs.push((physical, name.clone()));
        }
        Ok(Arc::new(ProjectionExec::try_new(exprs, input)?))
    }
}

/// The function that opens a sealed column into `plain` values (never registered in a
/// session: it lives only in the projections above).
fn open_udf(plain: DataType, keys: Option<Arc<Keyring>>) -> ScalarUDF {
    let ty = plain.clone();
    let fun = move |args: &[ColumnarValue]| -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(args)?;
        let opened = open_column(&arrays[0], &ty, keys.as_deref())
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        Ok(ColumnarValue::Array(opened))
    };
    create_udf(
        "dangan_open",
        vec![DataType::Utf8],
        plain,
        Volatility::Immutable,
        Arc::new(fun),
    )
}
