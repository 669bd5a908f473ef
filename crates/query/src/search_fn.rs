//! `search('<query>' [, '<dataset>' [, <limit>]])`: full-text search as a table of
//! (dataset, key, member_id, org_id, date, score, snippet), best first, so that search joins
//! SQL: `SELECT m.name, s.snippet FROM search('志愿服务') s JOIN members m USING (member_id)`.
//! In a department's session only what it may read is searched.

use std::sync::Arc;

use arrow::array::{ArrayRef, Date32Array, Float32Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use dangan_datasets::Lake;
use dangan_index::{SearchIndex, SearchRequest};
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{DataFusionError, Result, ScalarValue, plan_err};
use datafusion::datasource::MemTable;
use datafusion::logical_expr::Expr;

/// Rows a `search(...)` returns when no limit is given.
const DEFAULT_LIMIT: usize = 1000;

#[derive(Debug)]
pub struct SearchFunction {
    pub lake: Lake,
    /// See `SearchRequest::scopes`.
    pub scopes: Option<dangan_index::Scopes>,
}

pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("dataset", DataType::Utf8, false),
        Field::new("key", DataType::Utf8, false),
        Field::new("member_id", DataType::Utf8, true),
        Field::new("org_id", DataType::Utf8, true),
        Field::new("date", DataType::Date32, true),
        Field::new("score", DataType::Float32, false),
        Field::new("snippet", DataType::Utf8, false),
    ]))
}

fn literal(e: Option<&Expr>) -> Option<ScalarValue> {
    match e {
        Some(Expr::Literal(v, _)) => Some(v.clone()),
        _ => None,
    }
}

impl TableFunctionImpl for SearchFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        let text = |i: usize| match literal(exprs.get(i)) {
            Some(ScalarValue::Utf8(s) | ScalarValue::LargeUtf8(s) | ScalarValue::Utf8View(s)) => {
                Ok(s)
            }
            None if exprs.len() <= i => Ok(None),
            _ => plan_err!("search(): argument {} must be a text literal", i + 1),
        };
        let Some(query) = text(0)? else {
            return plan_err!(
                "search('<query>' [, '<dataset>' [, <limit>]]): the query is missing 缺少查询词"
            );
        };
        let datasets: Vec<String> = text(1)?.into_iter().collect();
        for d in &datasets {
            self.lake
                .registry()
                .get(d)
                .map_err(|e| DataFusionError::Plan(e.to_string()))?;
        }
        let limit = match literal(exprs.get(2)) {
            None if exprs.len() <= 2 => DEFAULT_LIMIT,
            Some(ScalarValue::Int64(Some(n))) if n > 0 => n as usize,
            _ => return plan_err!("search(): the limit must be a positive whole number"),
        };
        let index =
            SearchIndex::open(&self.lake).map_err(|e| DataFusionError::External(Box::new(e)))?;
        let result = index
            .search(&SearchRequest {
                query,
                datasets,
                scopes: self.scopes.clone(),
                limit,
                // The hits are the answer; no count of the other matches.
                count_to: Some(0),
                ..Default::default()
            })
            .map_err(|e| match e {
                dangan_index::Error::Query(m) => DataFusionError::Plan(format!("search(): {m}")),
                e => DataFusionError::External(Box::new(e)),
            })?;
        let hits = &result.hits;
        let s = |f: &dyn Fn(&dangan_index::Hit) -> Option<String>| -> ArrayRef {
            Arc::new(hits.iter().map(f).collect::<StringArray>())
        };
        let columns: Vec<ArrayRef> = vec![
            s(&|h| Some(h.dataset.clone())),
            s(&|h| Some(h.key.clone())),
            s(&|h| h.member_id.clone()),
            s(&|h| h.org_id.clone()),
            Arc::new(
                hits.iter()
                    .map(|h| {
                        h.date
                            .as_deref()
                            .and_then(|d| d.parse::<chrono::NaiveDate>().ok())
                            .map(|d| d.to_epoch_days())
                    })
                    .collect::<Date32Array>(),
            ),
            Arc::new(hits.iter().map(|h| h.score).collect::<Float32Array>()),
            s(&|h| Some(h.snippet.clone())),
        ];
        let batch = RecordBatch::try_new(schema(), columns)?;
        Ok(Arc::new(MemTable::try_new(schema(), vec![vec![batch]])?))
    }
}
